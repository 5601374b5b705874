"""Forms of the staff pages: roster filters, the actions on a registration (its money too: a bank
transfer received, a refund, a refund sent back by hand), adding a person, capacity."""
from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from app.accounts.forms import _email_field, _name_field, _phone_field
from app.common.forms import AppForm
from app.common.money import AmountRefused, parse_yuan
from app.common.pagination import bounded_int, page_number
from app.roster.answers import parse_answer_filter
from app.roster.queries import (
    CHECKIN_FILTERS,
    MAX_PER_PAGE,
    PAYMENT_FILTER_CHOICES,
    PER_PAGE,
    STATUS_FILTERS,
    RosterFilters,
)
from app.roster.service import local_today


def roster_filters(args: MultiDict) -> RosterFilters:
    """The roster's query string; anything unknown falls back to 'show everything'."""
    status = args.get("status", "all")
    checkin = args.get("checkin", "")
    payment = args.get("payment", "")
    answer = args.get("answer", "")
    columns = tuple(dict.fromkeys(int(c) for c in args.getlist("col") if c.isascii() and c.isdigit() and len(c) <= 10))
    group = args.get("group", "")
    return RosterFilters(
        # NUL cannot be sent to PostgreSQL in a string; no name or code contains it.
        q=args.get("q", "").replace("\x00", "")[:100],
        status=status if status in STATUS_FILTERS else "all",
        checkin=checkin if checkin in CHECKIN_FILTERS else "",
        payment=payment if payment in PAYMENT_FILTER_CHOICES else "",
        answer=answer if parse_answer_filter(answer) else "",
        columns=columns[:50],
        group=int(group) if group.isascii() and group.isdigit() and len(group) <= 9 else None,
    )


def page_args(args: MultiDict) -> tuple[int, int]:
    return page_number(args), bounded_int(args, "per_page", PER_PAGE, 1, MAX_PER_PAGE)


class CancelForm(AppForm):
    submit = SubmitField(_l("取消报名"))


class PromoteForm(AppForm):
    submit = SubmitField(_l("手动转正"))


class MoveForm(AppForm):
    # Choices are the course's other sessions; any id is passed on, so that the booking service,
    # not the form, says why a session cannot be chosen (other course, full, not found).
    target_session_id = SelectField(_l("调往场次"), coerce=int, validate_choice=False,
                                    validators=[InputRequired(_l("请选择要调往的场次"))])
    submit = SubmitField(_l("调整场次"))

    def offer(self, sessions, label) -> None:
        """`sessions` as options, full ones shown but not selectable."""
        self.target_session_id.choices = [
            SelectChoice(camp.id, label(camp), {"disabled": True} if camp.is_full else {}) for camp in sessions
        ]


class CapacityForm(AppForm):
    capacity = IntegerField(
        _l("名额"),
        validators=[InputRequired(_l("请填写名额")),
                    NumberRange(min=0, max=10000, message=_l("名额应为 0–10000 之间的整数"))],
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField(_l("修改名额"))


class ExistingAccountForm(AppForm):
    """Someone who already has an account: found by email or phone."""

    login = StringField(
        _l("邮箱或手机号"),
        validators=[DataRequired(_l("请填写邮箱或手机号")), Length(max=254, message=_l("输入太长了"))],
        render_kw={"autocomplete": "off", "placeholder": _l("例如 13800138000 或 name@example.com")},
    )
    add_existing = SubmitField(_l("添加已有账号"))


class NewPersonForm(AppForm):
    """A walk-in or a phone booking: an account is made with the sign-up form's rules, except that
    many walk-ins give a name and a phone number but no email."""

    name = _name_field()
    phone = _phone_field()
    email = _email_field(required=False)
    add_new = SubmitField(_l("新建账号并添加"))


# --- money ------------------------------------------------------------------------------------

class YuanAmount:
    """An amount typed in yuan (app/common/money.py: parse_yuan), kept in the field as a Decimal;
    the reason in Chinese for anything that is not one (1e400, NaN, -1, 0.001, a huge number)."""

    def __call__(self, form, field) -> None:
        try:
            field.data = parse_yuan(field.data)
        except AmountRefused as refused:
            raise ValidationError(str(refused)) from None


class BankReference:
    """A bank's 流水号 or a refund number as typed: full-width letters and digits folded, spaces
    dropped (the statement prints them in groups); what is left, at most 64 characters (the ledger's
    transaction_id)."""

    def __call__(self, form, field) -> None:
        field.data = normalise_reference(field.data)
        if not field.data:
            raise ValidationError(_l("请填写银行流水号"))
        if len(field.data) > 64:
            raise ValidationError(_l("流水号最多 64 个字符"))


def normalise_reference(typed: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", typed or "").split())


class TransferForm(AppForm):
    """A bank transfer (对公转账) staff found on the statement, for a registration awaiting it."""

    amount = StringField(_l("到账金额（元）"), validators=[YuanAmount()],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reference = StringField(_l("银行流水号"), validators=[BankReference()], render_kw={"autocomplete": "off"})
    received_on = DateField(_l("到账日期"), format="%Y-%m-%d", validators=[InputRequired(_l("请选择到账日期"))])
    # Asked only when the amount is not what the seat costs (or the seat is no longer held): the
    # money is then recorded and given back at once, which staff should mean to do.
    confirm_give_back = BooleanField(_l("金额不符或名额已释放时仍然登记（系统将全额退回这笔款）"))
    submit = SubmitField(_l("登记到账"))
    # Several money forms share the registration's page: field names (and so ids) apart.
    field_prefix = "transfer"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix=self.field_prefix, **kwargs)

    def validate_received_on(self, field) -> None:
        if field.data is not None and field.data > local_today():
            raise ValidationError(_l("到账日期不能晚于今天"))


class GroupTransferForm(TransferForm):
    """团体报名: one transfer for the whole group, on an attendee's page beside their own form."""

    field_prefix = "group_transfer"


class RefundForm(AppForm):
    amount = StringField(_l("退款金额（元）"), validators=[YuanAmount()],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = StringField(_l("退款原因"), validators=[DataRequired(_l("请填写退款原因")),
                                                     Length(max=200, message=_l("最多 200 个字"))])
    submit = SubmitField(_l("退款"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="refund", **kwargs)


class RefundByHandForm(AppForm):
    """A refund staff sent back themselves (已转账退回): the transfer's 流水号."""

    reference = StringField(_l("退回转账的流水号"), validators=[BankReference()], render_kw={"autocomplete": "off"})
    submit = SubmitField(_l("已转账退回"))

    def __init__(self, request_id: int, *args, **kwargs) -> None:
        # One per open refund on the page, each with its own field ids.
        super().__init__(*args, prefix=f"returned-{request_id}", **kwargs)


class ReviewForm(AppForm):
    """报名审核: the applications ticked (registration_id, read from the request by the view: a list
    of ids is not a field WTForms checks well) approved or rejected with an optional message."""
    message = TextAreaField(_l("给申请人的留言（可选，会随邮件发送）"),
                            validators=[Length(max=500, message=_l("留言最多 500 个字"))])
    approve = SubmitField(_l("批量通过"))
    reject = SubmitField(_l("批量拒绝"))
