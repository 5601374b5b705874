from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class EmailTaken(DomainError):
    code = "email_taken"
    message = _l("该邮箱已注册，请直接登录或找回密码")
    field = "email"


class PhoneTaken(DomainError):
    code = "phone_taken"
    message = _l("该手机号已被其他账号使用")
    field = "phone"


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    # One message for unknown account and wrong password: the form must not reveal who is registered.
    message = _l("账号或密码不正确")
    field = "password"


class AccountDisabled(DomainError):
    code = "account_disabled"
    message = _l("该账号已停用，如有疑问请联系客服")


class WrongPassword(DomainError):
    code = "wrong_password"
    message = _l("当前密码不正确")
    field = "current_password"


class InvalidResetToken(DomainError):
    code = "invalid_reset_token"
    message = _l("重置链接无效或已过期（有效期 1 小时，且只能使用一次），请重新申请")


class AccountNotFound(DomainError):
    code = "account_not_found"
    message = _l("找不到这个邮箱或手机号对应的账号")
    field = "login"
