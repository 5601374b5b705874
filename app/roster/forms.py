"""Forms of the staff pages: roster filters, the actions on a registration, adding a person, capacity."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.accounts.forms import _email_field, _name_field, _phone_field
from app.common.forms import AppForm
from app.common.pagination import bounded_int, page_number
from app.roster.queries import CHECKIN_FILTERS, MAX_PER_PAGE, PER_PAGE, STATUS_FILTERS, RosterFilters


def roster_filters(args: MultiDict) -> RosterFilters:
    """The roster's query string; anything unknown falls back to 'show everything'."""
    status = args.get("status", "all")
    checkin = args.get("checkin", "")
    return RosterFilters(
        # NUL cannot be sent to PostgreSQL in a string; no name or code contains it.
        q=args.get("q", "").replace("\x00", "")[:100],
        status=status if status in STATUS_FILTERS else "all",
        checkin=checkin if checkin in CHECKIN_FILTERS else "",
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
            (camp.id, label(camp), {"disabled": True} if camp.is_full else {}) for camp in sessions
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
