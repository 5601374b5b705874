"""Operator commands: `flask --app wsgi create-admin`, `users create`, `users set-role`."""
from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from flask_babel import gettext as _
from wtforms import Form, StringField, ValidationError

from app.accounts import service
from app.accounts.errors import RoleUnchanged
from app.accounts.forms import PASSWORD_MAX, PASSWORD_MIN
from app.accounts.models import Role
from app.common.errors import DomainError
from app.common.validators import MobilePhone, PersonName

users_cli = AppGroup("users", help="Create accounts and change roles.")
ROLE_CHOICE = click.Choice([role.value for role in Role])


def _validated(value: str, validator) -> str:
    """Run a form validator on one value so the CLI accepts exactly what the web form accepts."""
    class OneField(Form):
        field = StringField()

    form = OneField(data={"field": value})
    try:
        validator(form, form.field)
    except ValidationError as error:
        raise click.BadParameter(str(error)) from error
    return form.field.data


def _create_user(email: str, password: str, name: str | None, phone: str | None, role: Role) -> None:
    if not (PASSWORD_MIN <= len(password) <= PASSWORD_MAX):
        raise click.BadParameter(f"password must have {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    name = _validated(name, PersonName()) if name else None
    phone = _validated(phone, MobilePhone()) if phone else None
    try:
        user = service.register_user(email, password, name, phone, role=role)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


_email = click.option("--email", prompt=True, help="Login email.")
_password = click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
_name = click.option("--name", default=None, help="姓名 (optional).")
_phone = click.option("--phone", default=None, help="Mobile number (optional).")


@click.command("create-admin")
@with_appcontext
@_email
@_password
@_name
@_phone
def create_admin_command(email: str, password: str, name: str | None, phone: str | None) -> None:
    """Create an administrator account."""
    _create_user(email, password, name, phone, Role.ADMIN)


@users_cli.command("create")
@_email
@_password
@_name
@_phone
@click.option("--role", type=ROLE_CHOICE, default=Role.STAFF.value, show_default=True)
def create_user_command(email: str, password: str, name: str | None, phone: str | None, role: str) -> None:
    """Create an account with a role (staff by default)."""
    _create_user(email, password, name, phone, Role(role))


@users_cli.command("set-role")
@click.argument("login")
@click.argument("role", type=ROLE_CHOICE)
def set_role_command(login: str, role: str) -> None:
    """Give the account LOGIN (email or phone) the role ROLE."""
    user = service.find_by_login(login)
    if user is None:
        raise click.ClickException(_("找不到账号：%(login)s", login=login))
    new_role = Role(role)
    try:
        # The admin pages' rule and audit entry: the last active admin cannot be demoted here either.
        user = service.change_role(user.id, new_role, actor=None, note=_("命令行 users set-role"))
    except RoleUnchanged:
        # Not a failure: a setup script run twice must not stop here.
        click.echo(_("%(email)s 已经是%(role)s，无需修改", email=user.email, role=new_role.label))
        return
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(_("已将 %(email)s 的角色改为%(role)s", email=user.email, role=new_role.label))
