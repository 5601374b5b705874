from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Length

from app.common.forms import AppForm
from app.common.validators import MobilePhone, PersonName


class BookingForm(AppForm):
    """Confirms a booking; asks for 姓名 and 手机号 only when the profile lacks them."""

    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), PersonName()],
                       render_kw={"autocomplete": "name", "placeholder": _l("与身份证一致，证书上会使用")})
    phone = TelField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")), MobilePhone()],
                     render_kw={"autocomplete": "tel", "inputmode": "numeric", "placeholder": "13800138000"})
    source = HiddenField(validators=[Length(max=40)])
    submit = SubmitField(_l("确认预约"))

    def ask_only_for_missing(self, user) -> None:
        """Drop the profile fields the user has already filled in."""
        if user.name:
            del self.name
        if user.phone:
            del self.phone


class CancelForm(AppForm):
    submit = SubmitField(_l("取消报名"))
