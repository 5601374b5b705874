"""Forms of the admin pages: the user search's query string, role, deactivation, reactivation; the
finance page's range of days."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length

from app.accounts.models import Role
from app.admin.finance_queries import LedgerRange
from app.admin.user_queries import ROLE_FILTERS, STATUS_FILTERS, UserFilters
from app.common.forms import AppForm
from app.common.pagination import page_number
from app.common.validators import EARLIEST_DATE, LATEST_DATE
from app.payments.models import PaymentProvider

REASON_MAX = 200  # AuditEntry.note


def user_filters(args: MultiDict) -> UserFilters:
    """The search's query string; anything unknown falls back to 'show everyone'."""
    role = args.get("role", "")
    status = args.get("status", "")
    return UserFilters(
        q=args.get("q", "")[:100],
        role=role if role in ROLE_FILTERS else "",
        status=status if status in STATUS_FILTERS else "",
    )


def ledger_range(args: MultiDict, today: date) -> LedgerRange:
    """The finance page's query string: `from` and `to` (Shanghai days, YYYY-MM-DD, both included)
    and `provider`. Anything missing or not a date in 2000–2100 falls back to this month so far;
    the days swapped if given the wrong way round; an unknown provider is all of them."""
    first, last = _day(args.get("from")), _day(args.get("to"))
    if first is None and last is None:
        first, last = today.replace(day=1), today
    elif first is None or last is None:
        first = last = first or last
    if first > last:
        first, last = last, first
    try:
        provider = PaymentProvider(args.get("provider", ""))
    except ValueError:
        provider = None
    return LedgerRange(first, last, provider)


def _day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None
    return day if EARLIEST_DATE <= day <= LATEST_DATE else None


def page_arg(args: MultiDict) -> int:
    return page_number(args)


class RoleForm(AppForm):
    # validate_choice is off so that an unknown value gets AnyOf's Chinese message, not WTForms' English one.
    role = SelectField(
        _l("角色"),
        validate_choice=False,
        validators=[InputRequired(_l("请选择角色")),
                    AnyOf([role.value for role in Role], message=_l("请选择学员、工作人员或管理员"))],
    )
    submit = SubmitField(_l("修改角色"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(role.value, role.label) for role in Role]


class DeactivateForm(AppForm):
    reason = TextAreaField(
        _l("停用原因"),
        validators=[DataRequired(_l("请填写停用原因（会记入操作记录）")),
                    Length(max=REASON_MAX, message=_l("停用原因最多 200 字"))],
        filters=[lambda value: value.strip() if value else value],
        render_kw={"rows": 2, "maxlength": REASON_MAX, "placeholder": _l("例如：学员申请注销；离职；账号被盗用")},
    )
    submit = SubmitField(_l("停用账号"))


class ReactivateForm(AppForm):
    submit = SubmitField(_l("重新启用"))
