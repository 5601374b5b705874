"""Every kind of audit entry, with the words the history lists use for it: the one registry.

A feature records one of these (app/audit/service.py: `record`); the staff and admin history pages
show `action.label`. A new kind of change is a new member here, with its label beside it; the value
is what the `audit_entries.action` column stores, so a member's value never changes once written.
"""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class AuditAction(StrEnum):
    label: str

    def __new__(cls, value: str, label) -> AuditAction:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label  # lazy: translated when shown, in the reader's language
        return member

    # A registration (its person is the entry's account, its session the entry's session).
    REGISTRATION_BOOK = "registration.book", _l("学员报名")  # by the student, on the site or the API
    REGISTRATION_ADD = "registration.add", _l("工作人员添加报名")
    REGISTRATION_CANCEL = "registration.cancel", _l("取消报名")
    REGISTRATION_PROMOTE = "registration.promote", _l("候补转正")
    REGISTRATION_MOVE = "registration.move", _l("调整场次")
    REGISTRATION_OFFER = "registration.offer", _l("候补名额保留")  # a freed seat held for the head of the queue
    REGISTRATION_EXPIRE = "registration.expire", _l("名额过期释放")  # a hold or offer ran out unpaid
    REGISTRATION_PAY = "registration.pay", _l("支付成功")  # a held seat paid: confirmed
    # 报名审核: an application to a session that requires approval (app/booking/review.py).
    APPLICATION_SUBMIT = "application.submit", _l("提交报名申请")  # by the applicant: no seat yet
    APPLICATION_APPROVE = "application.approve", _l("审核通过")  # by staff: a seat, a hold or the waitlist
    APPLICATION_REJECT = "application.reject", _l("审核未通过")  # by staff, with an optional message
    APPLICATION_WITHDRAW = "application.withdraw", _l("撤回报名申请")  # by the applicant, while pending
    # 团体报名 (app/booking/groups.py): an attendee's registration booked by the group's booker, and
    # an attendee replaced by another (换人: the same seat, a new person and ticket).
    GROUP_BOOK = "group.book", _l("团体报名")
    GROUP_REPLACE = "group.replace", _l("团体换人")
    PAYMENT_RECEIVE = "payment.receive", _l("收到付款")  # money in (the ledger's payment row)
    PAYMENT_REFUND = "payment.refund", _l("退款")  # money back decided (a refund request, queued)
    PAYMENT_REFUND_PAID = "payment.refund_paid", _l("退款已退回")  # the provider or staff sent it back (a Refund row)
    PAYMENT_TRANSFER = "payment.transfer", _l("选择对公转账")  # the hold lengthened for a bank transfer
    # A registration's 发票 request (app/invoices/service.py).
    INVOICE_REQUEST = "invoice.request", _l("申请发票")
    INVOICE_CHANGE = "invoice.change", _l("修改发票申请")
    INVOICE_WITHDRAW = "invoice.withdraw", _l("撤回发票申请")  # by the requester, before it was issued
    INVOICE_ISSUE = "invoice.issue", _l("开具发票")  # staff attached the PDF
    INVOICE_REJECT = "invoice.reject", _l("退回发票申请")  # staff, with a reason, before issuing
    INVOICE_VOID = "invoice.void", _l("作废发票")  # staff, with a reason, after issuing (红冲)
    ATTENDANCE_CHECK_IN = "attendance.check_in", _l("签到")
    ATTENDANCE_SET = "attendance.set", _l("修改出勤")
    CERTIFICATE_ISSUE = "certificate.issue", _l("颁发证书")
    CERTIFICATE_REVOKE = "certificate.revoke", _l("撤销证书")
    CERTIFICATE_REISSUE = "certificate.reissue", _l("重新颁发证书")
    # A session.
    SESSION_CAPACITY = "session.capacity", _l("修改名额")
    # An account (the entry's account).
    ACCOUNT_CONTACT = "account.contact", _l("修改邮箱或手机号")
    ACCOUNT_ROLE = "account.role", _l("修改角色")
    ACCOUNT_DEACTIVATE = "account.deactivate", _l("停用账号")
    ACCOUNT_REACTIVATE = "account.reactivate", _l("重新启用账号")
    # An article (the entry's article).
    ARTICLE_CREATE = "article.create", _l("新建文章")
    ARTICLE_SAVE = "article.save", _l("保存文章")
    ARTICLE_PUBLISH = "article.publish", _l("发布文章")
    ARTICLE_SCHEDULE = "article.schedule", _l("定时发布文章")
    ARTICLE_UNPUBLISH = "article.unpublish", _l("撤回文章")
    ARTICLE_ARCHIVE = "article.archive", _l("归档文章")
    ARTICLE_RESTORE = "article.restore", _l("恢复历史版本")

    @classmethod
    def of_prefix(cls, prefix: str) -> tuple[AuditAction, ...]:
        """The members whose value starts with `prefix` ("account." for an account's history)."""
        return tuple(action for action in cls if action.value.startswith(prefix))
