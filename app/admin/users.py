"""User management for admins: search, a user's registrations and certificates, role, deactivation.

Each action parses its form, calls one function of app/accounts/service.py and redirects to the
user's page; a refusal (own role, last admin, ...) is shown on that page with what was typed kept.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.permissions import admin_required
from app.admin import user_queries as queries
from app.admin.forms import DeactivateForm, ReactivateForm, RoleForm, page_arg, user_filters
from app.common.errors import DomainError
from app.common.forms import show_error_on_form

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every page and action here is for admins."""


@bp.route("/")
def index():
    filters = user_filters(request.args)
    return render_template(
        "admin/users/index.html",
        filters=filters,
        users=queries.search_users(filters, page_arg(request.args)),
        roles=list(Role),
    )


def _user_page(user: User, role_form: RoleForm | None = None, deactivate_form: DeactivateForm | None = None):
    history = queries.account_history(user.id)
    return render_template(
        "admin/users/show.html",
        user=user,
        is_self=user.id == current_user.id,
        registrations=queries.registrations_of(user.id),
        certificates=queries.certificates_of(user.id),
        history=history,
        deactivation_reason=queries.deactivation_reason(user.id) if not user.is_active else "",
        role_form=role_form or RoleForm(formdata=None, role=user.role.value),
        deactivate_form=deactivate_form or DeactivateForm(formdata=None),
        reactivate_form=ReactivateForm(formdata=None),
    )


def _back_to(user: User):
    return redirect(url_for("admin_users.show", user_id=user.id))


@bp.route("/<int:user_id>")
def show(user_id: int):
    return _user_page(queries.user_or_404(user_id))


@bp.route("/<int:user_id>/role", methods=["POST"])
def change_role(user_id: int):
    user = queries.user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            user = accounts.change_role(user.id, Role(form.role.data), current_user)
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("已将 %(name)s 的角色改为%(role)s", name=user.display_name, role=user.role.label), "success")
            return _back_to(user)
    return _user_page(queries.user_or_404(user_id), role_form=form)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    user = queries.user_or_404(user_id)
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            user = accounts.deactivate_user(user.id, current_user, form.reason.data)
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("已停用 %(name)s 的账号，其所有登录（网页和小程序）已失效", name=user.display_name), "success")
            return _back_to(user)
    return _user_page(queries.user_or_404(user_id), deactivate_form=form)


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int):
    user = queries.user_or_404(user_id)
    form = ReactivateForm()
    if form.validate_on_submit():
        try:
            user = accounts.reactivate_user(user.id, current_user)
        except DomainError as error:
            flash(str(error.message), "error")
        else:
            flash(_("已重新启用 %(name)s 的账号，对方需要重新登录", name=user.display_name), "success")
            return _back_to(user)
    return _user_page(queries.user_or_404(user_id))
