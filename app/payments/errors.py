from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class NothingToPay(DomainError):
    code = "nothing_to_pay"
    message = _l("这条报名没有待支付的款项")


class HoldExpired(DomainError):
    code = "hold_expired"
    message = _l("支付期限已过，名额已释放。如仍想参加，请重新报名")


class PaymentMethodUnavailable(DomainError):
    code = "payment_method_unavailable"
    message = _l("暂不支持这种支付方式，请选择其他方式")


class PaymentServiceDown(DomainError):
    """The provider could not be reached: the booking and its hold stay as they are."""

    code = "payment_service_unavailable"
    message = _l("支付服务暂时不可用，您的名额仍为您保留，请稍后再试或换一种支付方式")


class RefundTooLarge(DomainError):
    code = "refund_too_large"
    field = "amount"
    message = _l("退款金额不能超过已付金额减去已退金额")


class InvalidAmount(DomainError):
    code = "invalid_amount"
    field = "amount"
    message = _l("金额必须大于 0，最多两位小数")


class PaymentNotFound(DomainError):
    code = "payment_not_found"
    message = _l("找不到这笔付款")


class RefundNotPending(DomainError):
    code = "refund_not_pending"
    message = _l("这笔退款已经处理过了")


class TransferReferenceUsed(DomainError):
    code = "transfer_reference_used"
    field = "transaction_id"
    message = _l("这个银行流水号已经登记过一笔付款")


class LoginCodeRefused(DomainError):
    """WeChat did not accept the mini-program's wx.login() code (made up, used already, or older
    than its five minutes): the mini-program logs in again and retries."""

    code = "wechat_login_code_invalid"
    field = "login_code"
    message = _l("微信登录凭证无效或已过期，请重新进入小程序后再试")


class GroupNotFound(DomainError):
    """Someone else's group (团体报名), or none: not found, as if it did not exist."""

    code = "group_not_found"
    message = _l("找不到这个团体报名")
