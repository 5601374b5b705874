from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import service
from app.accounts.errors import InvalidResetToken
from app.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
)
from app.accounts.limits import counts_as_signup, mark_signup_attempt
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.routing import safe_local_path
from app.extensions import limiter

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _safe_next(default: str) -> str:
    """Follow ?next= only to a path on this site (no open redirect, no header splitting)."""
    return safe_local_path(request.args.get("next")) or default


def _user_agent() -> str:
    return request.user_agent.string or ""


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _reset_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


def _signup_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP"]


def _profile_limit() -> str:
    return current_app.config["RATELIMIT_PROFILE"]


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"], deduct_when=counts_as_signup)
def signup():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("main.index")))
    form = SignupForm()
    if form.validate_on_submit():
        mark_signup_attempt()
        try:
            user = service.sign_up(form.email.data, form.password.data, form.name.data, form.phone.data,
                                   _user_agent())
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            login_user(user)
            flash(_("注册成功，欢迎加入！"), "success")
            return redirect(_safe_next(url_for("main.index")))
    return render_template("accounts/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("main.index")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.log_in(form.login.data, form.password.data, _user_agent())
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            login_user(user, remember=form.remember.data)
            flash(_("欢迎回来，%(name)s", name=user.display_name), "success")
            return redirect(_safe_next(url_for("main.index")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    # POST only, with the CSRF token: a link or image elsewhere cannot log people out.
    if current_user.is_authenticated:
        service.log_out(current_user)  # on the server too: a copy of the cookies stops working
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("main.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@limiter.limit(_profile_limit, methods=["POST"])  # the password it may ask for is not to be guessed here
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            service.update_profile(current_user, form.name.data, form.phone.data, form.email.data,
                                   form.current_password.data)
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("资料已保存"), "success")
            return redirect(_safe_next(url_for("accounts.profile")))
    return render_template("accounts/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            # This login (and its 记住我 cookie) stays; the person's other logins have ended.
            flash(_("密码已修改，其他设备上的登录已失效"), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def request_reset():
    form = ResetRequestForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        # The same answer whether or not the address is registered: no account enumeration.
        flash(_("如果该邮箱已注册，重置链接已发送，请在 1 小时内查收并使用。"), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    try:
        service.user_for_reset_token(token)
    except InvalidResetToken as error:
        flash(str(error.message), "error")
        return redirect(url_for("accounts.request_reset"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data)
        except InvalidResetToken as error:
            flash(str(error.message), "error")
            return redirect(url_for("accounts.request_reset"))
        logout_user()
        flash(_("密码已重置，请用新密码登录"), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)
