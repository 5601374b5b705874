from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from app.common.forms import AppForm
from app.common.validators import MobilePhone, PersonName

PASSWORD_MIN = 8
PASSWORD_MAX = 128


def _email_field(required: bool = True) -> EmailField:
    """`required=False`: may be left empty (staff adding a walk-in who gave only a phone number)."""
    return EmailField(
        _l("邮箱") if required else _l("邮箱（选填）"),
        validators=[
            DataRequired(_l("请填写邮箱")) if required else Optional(),
            Length(max=254, message=_l("邮箱太长了")),
            Email(_l("邮箱格式不正确，例如 name@example.com"), check_deliverability=False),
        ],
        filters=[lambda value: value.strip().lower() if value else value],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


def _new_password_fields(label=None) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        label or _l("密码"),
        validators=[
            DataRequired(_l("请设置密码")),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=_l("密码长度应为 8–128 位")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("确认密码"),
        validators=[DataRequired(_l("请再次输入密码")), EqualTo("password", message=_l("两次输入的密码不一致"))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def _name_field() -> StringField:
    return StringField(
        _l("姓名"),
        validators=[DataRequired(_l("请填写姓名")), PersonName()],
        render_kw={"autocomplete": "name", "placeholder": _l("与身份证一致，证书上会使用")},
    )


def _phone_field() -> TelField:
    return TelField(
        _l("手机号"),
        validators=[DataRequired(_l("请填写手机号")), MobilePhone()],
        render_kw={"autocomplete": "tel", "inputmode": "numeric", "placeholder": "13800138000"},
    )


class SignupForm(AppForm):
    name = _name_field()
    phone = _phone_field()
    email = _email_field()
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("注册"))


class LoginForm(AppForm):
    login = StringField(
        _l("邮箱或手机号"),
        validators=[DataRequired(_l("请填写邮箱或手机号")), Length(max=254, message=_l("输入太长了"))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("密码"),
        validators=[DataRequired(_l("请填写密码")), Length(max=PASSWORD_MAX, message=_l("密码太长了"))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("记住我"))
    submit = SubmitField(_l("登录"))


class ProfileForm(AppForm):
    name = _name_field()
    phone = _phone_field()
    email = _email_field()
    # Asked for by the service only when the email or the phone changes.
    current_password = PasswordField(
        _l("当前密码"),
        validators=[Length(max=PASSWORD_MAX, message=_l("密码太长了"))],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("保存"))


class ChangePasswordForm(AppForm):
    current_password = PasswordField(
        _l("当前密码"),
        validators=[DataRequired(_l("请填写当前密码")), Length(max=PASSWORD_MAX, message=_l("密码太长了"))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields(_l("新密码"))
    submit = SubmitField(_l("修改密码"))


class ResetRequestForm(AppForm):
    email = _email_field()
    submit = SubmitField(_l("发送重置链接"))


class ResetPasswordForm(AppForm):
    password, confirm = _new_password_fields(_l("新密码"))
    submit = SubmitField(_l("设置新密码"))
