"""The shapes the API reads and writes, in one place: request bodies (validated with pydantic in
strict mode, so a number where a string belongs is refused) and the JSON of a user, a session and a
registration. openapi.py publishes these same models, so the document cannot drift from the code.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm.attributes import set_committed_value
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation, ValidationError

from app.accounts.forms import PASSWORD_MAX, PASSWORD_MIN, LoginForm, SignupForm
from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.catalog.availability import booking_refusal
from app.catalog.models import CampSession
from app.common.money import plain_amount
from app.common.time import site_zone
from app.common.validators import normalise_newlines, unstorable_text_reason

# --- request bodies -------------------------------------------------------------------------


def form_rules(unbound_field: UnboundField) -> Callable[[str], str]:
    """The filters and validators of a web form field, as a pydantic validator.

    The sign-up page and the API then apply one set of rules with one set of Chinese messages
    (phone normalised to 11 digits, Chinese-capable names, email syntax, password length), and a
    change to the form changes both. The validators used here only read and write `field.data`.
    """
    filters = unbound_field.kwargs.get("filters", ())
    validators = unbound_field.kwargs.get("validators", ())

    def check(value: str) -> str:
        field = SimpleNamespace(data=value, errors=[])
        for apply_filter in filters:
            field.data = apply_filter(field.data)
        try:
            for validator in validators:
                validator(None, field)
        except (ValidationError, StopValidation) as error:
            # StopValidation without a message (Optional) ends the checks without an error.
            if str(error):
                raise ValueError(str(error)) from None
        return field.data

    return check


class RequestBody(BaseModel):
    """Every string of a body is refused with 400 if it holds a control character other than
    newline and tab (CRLF is read as LF), or a lone surrogate; see `storable_text`."""

    # strict: no silent coercion of 123 to "123"; unknown keys are ignored so that an older
    # server accepts a newer client's body.
    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def storable_text(cls, value: object) -> object:
        """Every string field, before its own rules: the web forms' check (AppForm) of what the
        database can store: no control characters (NUL above all), no lone surrogates ("\\ud800")."""
        if isinstance(value, str):
            value = normalise_newlines(value)
            reason = unstorable_text_reason(value)
            if reason:
                raise ValueError(reason)
        return value


class SignupRequest(RequestBody):
    email: Annotated[str, AfterValidator(form_rules(SignupForm.email))] = Field(
        title="邮箱", json_schema_extra={"format": "email", "maxLength": 254}, examples=["wangzhe@example.com"]
    )
    password: Annotated[str, AfterValidator(form_rules(SignupForm.password))] = Field(
        title="密码", json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}
    )
    name: Annotated[str, AfterValidator(form_rules(SignupForm.name))] = Field(
        title="姓名", description="与身份证一致，证书上会使用", examples=["王喆"],
        json_schema_extra={"minLength": 2, "maxLength": 30},
    )
    phone: Annotated[str, AfterValidator(form_rules(SignupForm.phone))] = Field(
        title="手机号", description="中国大陆手机号；+86、空格和连字符会被去掉，保存为 11 位数字",
        examples=["13912345678"], json_schema_extra={"minLength": 11},
    )


class TokenRequest(RequestBody):
    login: Annotated[str, AfterValidator(form_rules(LoginForm.login))] = Field(
        title="邮箱或手机号", json_schema_extra={"minLength": 1, "maxLength": 254}, examples=["13912345678"]
    )
    password: Annotated[str, AfterValidator(form_rules(LoginForm.password))] = Field(
        title="密码", json_schema_extra={"minLength": 1, "maxLength": PASSWORD_MAX}
    )


class PayRequest(RequestBody):
    login_code: str = Field(
        title="登录凭证", description="小程序 wx.login() 取得的 code（5 分钟内有效，只能用一次）：每次支付前重新获取",
        min_length=1, max_length=128, pattern=r"^[!-~]+$", examples=["0a3Xk2000m9Xq21Hpy300Q7f0n1Xk20c"],
    )


# --- responses ------------------------------------------------------------------------------


class UserOut(BaseModel):
    id: int
    email: str | None  # None: an account staff made for a walk-in who gave only a phone number
    name: str | None
    phone: str | None


class TokenOut(BaseModel):
    token: str = Field(description="放在请求头 Authorization: Bearer <token> 中；修改密码后失效")
    expires_in: int = Field(description="有效期（秒）")


class SessionOut(BaseModel):
    id: int
    course_title: str
    course_slug: str
    label: str = Field(examples=["第12期"])
    starts_at: datetime = Field(description="北京时间，带 +08:00", examples=["2026-09-17T09:00:00+08:00"])
    ends_at: datetime
    start_date: date = Field(description="开课日期（北京时间）")
    end_date: date
    city: str
    venue: str
    address: str
    price: str = Field(pattern=r"^\d+\.\d{2}$", description="精确金额（元），字符串而非浮点数", examples=["3980.00"])
    currency: Literal["CNY"] = "CNY"
    capacity: int
    seats_left: int
    waitlist_length: int
    registration_open: bool
    refusal_reason: str | None = Field(description="不能报名的原因（中文），可以报名时为 null")


class SessionListOut(BaseModel):
    items: list[SessionOut]


# Every status a registration can have, as the API names it. A status the app adds and this list
# lacks would fail the answer's validation: tests/test_api_payments.py checks they agree.
RegistrationStatusName = Literal["confirmed", "waitlisted", "pending_payment", "offered", "expired", "cancelled",
                                 "pending_review", "rejected", "withdrawn"]
STATUS_DESCRIPTIONS: dict[str, str] = {
    RegistrationStatus.CONFIRMED: "已确认：名额是本人的（付费场次已付清）",
    RegistrationStatus.WAITLISTED: "候补中：场次已满，按顺序等待（位置见 waitlist_position）",
    RegistrationStatus.PENDING_PAYMENT: "待支付：付费场次的名额为本人保留到 pay_by，须在此前支付 amount，"
                                        "逾期名额释放（expired）",
    RegistrationStatus.OFFERED: "候补名额待支付：有人退出，空出的名额按候补顺序给了本人，为本人保留到 pay_by，"
                                "须在此前支付 amount，逾期名额给下一位候补（expired）",
    RegistrationStatus.EXPIRED: "已过期：保留的名额未在 pay_by 前付款，已释放；如仍想参加，请重新报名",
    RegistrationStatus.CANCELLED: "已取消：本人或工作人员取消；已付的钱按退款规则原路退回（amount_refunded）",
    RegistrationStatus.PENDING_REVIEW: "待审核：需要审核的场次的报名申请，不占名额、不在候补中；"
                                       "审核通过后按正常报名分配名额（付费场次为 pending_payment）"
                                       "或进入候补（waitlisted），未通过为 rejected；"
                                       "审核前可撤回（DELETE，成为 withdrawn）",
    RegistrationStatus.REJECTED: "未通过：报名申请未通过审核（原因见 review_message）",
    RegistrationStatus.WITHDRAWN: "已撤回：本人在审核前撤回了报名申请",
}
# Money as the API writes it: exact yuan, a string, never a float.
Amount = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["3980.00"])]


class RegistrationOut(BaseModel):
    id: int
    session_id: int
    status: RegistrationStatusName = Field(
        description="报名状态：" + "；".join(f"{name}，{text}" for name, text in STATUS_DESCRIPTIONS.items()),
        json_schema_extra={"x-enumDescriptions": {str(name): text for name, text in STATUS_DESCRIPTIONS.items()}},
    )
    waitlist_position: int | None = Field(
        description="候补第几位：此刻在候补队列中的位置（1 为下一个转正；"
                    "前面有人离开时变小，不是加入时领到的号），非候补时为 null")
    amount: Amount | None = Field(
        description="待支付金额（元）：pending_payment 或 offered 时须在 pay_by 前支付的钱（POST "
                    "/registrations/{registration_id}/pay 按它下单）；其他状态为 null")
    pay_by: datetime | None = Field(
        description="付款截止时间（北京时间，+08:00）：pending_payment 或 offered 时名额保留到此刻；其他状态为 null")
    amount_due: Amount | None = Field(
        description="应付金额（元）：保留名额时的价格，之后场次调价不影响；免费场次为 null")
    amount_paid: Amount = Field(description="已付金额（元），含已退回的部分；未付款为 \"0.00\"")
    amount_refunded: Amount = Field(description="已退或正在退回的金额（元）；没有退款为 \"0.00\"")
    paid_at: datetime | None = Field(description="付款确认名额的时间（北京时间）；没有付款确认时为 null")
    review_message: str | None = Field(
        description="审核留言：报名申请审核通过或未通过时工作人员写给本人的话；没有时为 null")
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    session: SessionOut


class RegistrationListOut(BaseModel):
    items: list[RegistrationOut]


class CancellationOut(RegistrationOut):
    refund_amount: Amount = Field(
        description="这次取消按课程退款规则退还的金额（元），原路退回，到账时间以支付渠道为准；"
                    "没有付款或按规则不退时为 \"0.00\"")


class PaymentParametersOut(BaseModel):
    """What wx.requestPayment takes, signed by the merchant: pass it as it is."""

    timeStamp: str = Field(description="时间戳（秒），字符串", examples=["1782884096"])  # noqa: N815 (WeChat's names)
    nonceStr: str = Field(description="随机字符串", examples=["5K8264ILTKCH16CQ2502SI8ZNMTM67VS"])  # noqa: N815
    package: str = Field(pattern=r"^prepay_id=", description="统一下单的 prepay_id",
                         examples=["prepay_id=wx201410272009395522657a690389285100"])
    signType: Literal["RSA"] = Field(description="签名方式")  # noqa: N815
    paySign: str = Field(description="商户私钥对 appId、timeStamp、nonceStr、package 的签名（Base64）")  # noqa: N815


class ErrorOut(BaseModel):
    code: str = Field(description="稳定的错误代码，例如 session_not_found、registration_closed、invalid_request")
    message: str = Field(description="给用户看的中文说明")
    fields: dict[str, str] | None = Field(default=None, description="逐项的输入错误：{字段名: 说明}")


# --- serialising ----------------------------------------------------------------------------


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(site_zone()) if moment is not None else None


def user_json(user: User) -> dict:
    return UserOut(id=user.id, email=user.email, name=user.name, phone=user.phone).model_dump(mode="json")


def session_out(camp: CampSession, now: datetime) -> SessionOut:
    starts_at, ends_at = _local(camp.starts_at), _local(camp.ends_at)
    refusal = booking_refusal(camp, now)
    return SessionOut(
        id=camp.id,
        course_title=camp.course.title,
        course_slug=camp.course.slug,
        label=camp.label,
        starts_at=starts_at,
        ends_at=ends_at,
        start_date=starts_at.date(),
        end_date=ends_at.date(),
        city=camp.city,
        venue=camp.venue,
        address=camp.address,
        price=plain_amount(camp.price),
        capacity=camp.capacity,
        seats_left=camp.seats_left,
        waitlist_length=camp.waitlisted_count,
        # Derived from the one rule's answer so the two can never disagree.
        registration_open=refusal is None,
        refusal_reason=None if refusal is None else str(refusal.message),
    )


def session_json(camp: CampSession, now: datetime) -> dict:
    return session_out(camp, now).model_dump(mode="json")


def session_list_json(camps: list[CampSession], now: datetime) -> dict:
    return SessionListOut(items=[session_out(camp, now) for camp in camps]).model_dump(mode="json")


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else plain_amount(value)


def registration_fields(registration: Registration, now: datetime, waitlist_position: int | None) -> dict:
    """A registration's fields of RegistrationOut. `waitlist_position`: its place in the queue,
    counted by the caller (for a list, all at once; for a booking, by the booking itself)."""
    held = registration.status.is_hold
    return {
        "id": registration.id,
        "session_id": registration.session_id,
        "status": registration.status.value,
        "waitlist_position": waitlist_position,
        "amount": plain_amount(registration.amount_outstanding) if held else None,
        "pay_by": _local(registration.hold_expires_at) if held else None,
        "amount_due": _amount(registration.amount_due),
        "amount_paid": plain_amount(registration.amount_paid),
        "amount_refunded": plain_amount(registration.amount_refunded),
        "paid_at": _local(registration.paid_at),
        "review_message": registration.review_message,
        "created_at": _local(registration.created_at),
        "confirmed_at": _local(registration.confirmed_at),
        "cancelled_at": _local(registration.cancelled_at),
        "session": session_out(registration.session, now),
    }


def registration_out(registration: Registration, now: datetime, waitlist_position: int | None) -> RegistrationOut:
    return RegistrationOut(**registration_fields(registration, now, waitlist_position))


def registration_json(registration: Registration, now: datetime) -> dict:
    return registration_out(registration, now, booking.waitlist_position(registration)).model_dump(mode="json")


def booking_json(outcome: booking.BookingOutcome, now: datetime) -> dict:
    """The answer to a booking (the camp rush's hot path): no queries beyond the booking's own."""
    registration = outcome.registration
    if outcome.created:
        # A new booking's statements return no money columns (nothing is read back, and reading
        # one would fail): the new row has their defaults, nothing paid or refunded yet.
        for column, value in (("amount_paid", Decimal("0")), ("amount_refunded", Decimal("0")), ("paid_at", None),
                              ("review_message", None)):
            set_committed_value(registration, column, value)
    return registration_out(registration, now, outcome.waitlist_position).model_dump(mode="json")


def cancellation_json(cancelled: Registration, refund_amount: Decimal, now: datetime) -> dict:
    """The answer to a cancellation: the registration, and the refund its course's policy gave."""
    fields = registration_fields(cancelled, now, booking.waitlist_position(cancelled))
    return CancellationOut(**fields, refund_amount=plain_amount(refund_amount)).model_dump(mode="json")


def payment_parameters_json(parameters: dict[str, str]) -> dict:
    return PaymentParametersOut(**parameters).model_dump(mode="json")


def registration_list_json(registrations: list[Registration], now: datetime) -> dict:
    positions = booking.waitlist_positions(registrations)
    return RegistrationListOut(
        items=[registration_out(r, now, positions.get(r.id)) for r in registrations]
    ).model_dump(mode="json")


def error_json(code: str, message: str, fields: dict[str, str] | None = None) -> dict:
    return ErrorOut(code=code, message=message, fields=fields).model_dump(mode="json", exclude_none=True)
