from flask_babel import lazy_gettext as _l

from app.common.contact import please_contact
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

    def __init__(self) -> None:
        super().__init__(_l("该账号已停用。如有疑问，%(contact)s", contact=please_contact()))


class WrongPassword(DomainError):
    code = "wrong_password"
    message = _l("当前密码不正确")
    field = "current_password"


class PasswordNeededForContactChange(DomainError):
    # Whoever holds an open session (a borrowed phone, a copied cookie) must not be able to move
    # the account to their own email or phone, and then reset its password there.
    code = "password_needed"
    message = _l("修改邮箱或手机号需要验证当前密码，请填写当前密码")
    field = "current_password"


class InvalidResetToken(DomainError):
    code = "invalid_reset_token"
    message = _l("重置链接无效或已过期（有效期 1 小时，且只能使用一次），请重新申请")


class AccountNotFound(DomainError):
    code = "account_not_found"
    message = _l("找不到这个邮箱或手机号对应的账号")
    field = "login"


# --- what admins may not do to accounts (app/accounts/service.py: change_role, deactivate_user) ---

class UserNotFound(DomainError):
    code = "user_not_found"
    message = _l("找不到这个用户，可能已被删除")


class AdminRequired(DomainError):
    # The actor lost the admin role (or was deactivated) while the page was open.
    code = "admin_required"
    message = _l("只有启用中的管理员可以进行这个操作")


class CannotChangeOwnRole(DomainError):
    code = "cannot_change_own_role"
    message = _l("不能取消自己的管理员身份，请让另一位管理员操作")
    field = "role"


class CannotDeactivateSelf(DomainError):
    code = "cannot_deactivate_self"
    message = _l("不能停用自己的账号，请让另一位管理员操作")


class LastActiveAdmin(DomainError):
    code = "last_active_admin"
    message = _l("这是最后一位启用中的管理员，不能降级或停用；请先把另一个账号设为管理员")


class RoleUnchanged(DomainError):
    code = "role_unchanged"
    message = _l("该用户已经是这个角色，无需修改")
    field = "role"


class AlreadyDeactivated(DomainError):
    code = "already_deactivated"
    message = _l("该账号已经是停用状态")


class AlreadyActive(DomainError):
    code = "already_active"
    message = _l("该账号已经是启用状态")


class DeactivationReasonRequired(DomainError):
    code = "deactivation_reason_required"
    message = _l("请填写停用原因（会记入操作记录）")
    field = "reason"
