"""Paying for a held seat: the pay page, the provider's next step, the receipt, and the endpoints
the providers call (notifications, Alipay's return, WeChat's authorisation)."""
from __future__ import annotations

import secrets

import segno
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.booking.errors import RegistrationNotFound
from app.booking.models import RegistrationStatus
from app.common.errors import DomainError
from app.common.time import utcnow
from app.extensions import limiter
from app.payments import checkout, queries
from app.payments.errors import PaymentMethodUnavailable, PaymentServiceDown
from app.payments.forms import CheckPaidForm, PayForm
from app.payments.methods import PayMethod, bank_transfer_configured, in_wechat, offered_methods
from app.payments.policy import policy_lines
from app.payments.providers import ForgedNotification, alipay

bp = Blueprint("payments", __name__)
# The refund policy in words, for the pages below payments (the booking page, the course page).
bp.add_app_template_global(policy_lines, "refund_policy_lines")

_OPENID_STATE = "wechat_oauth_state"


def _own_registration(registration_id: int, release_lapsed: bool = True):
    try:
        return queries.registration_to_pay(registration_id, current_user, release_lapsed)
    except RegistrationNotFound:
        abort(404)


def _payment_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def _per_user() -> str:
    # Per account: every POST here asks a provider something, which must not be flooded.
    return f"user:{current_user.id}"


@bp.route("/registrations/<int:registration_id>/pay", methods=["GET", "POST"])
@login_required
@limiter.limit(_payment_limit, methods=["POST"], key_func=_per_user)
def pay(registration_id: int):
    registration = _own_registration(registration_id)
    user_agent = request.headers.get("User-Agent", "")
    methods = offered_methods(user_agent)
    form = PayForm(methods)
    if form.validate_on_submit():
        method = PayMethod(form.method.data)
        if method is PayMethod.WECHAT_JSAPI and not current_user.wechat_openid:
            return redirect(url_for("payments.wechat_authorize", registration_id=registration.id))
        try:
            started = checkout.start(registration.id, current_user, method, client_ip=request.remote_addr)
        except DomainError as error:
            flash(str(error.message), "error")
            return redirect(url_for("payments.pay", registration_id=registration.id))
        return render_template("payments/next_step.html", camp=registration.session, method=method,
                               checkout=started, check_form=CheckPaidForm(),
                               qr_svg=_qr_svg(started.qr_url) if started.qr_url else None,
                               bank=_bank_details() if method is PayMethod.BANK_TRANSFER else None,
                               pay_by=registration.hold_expires_at,
                               status_url=url_for("payments.status", registration_id=registration.id),
                               check_url=url_for("payments.check", registration_id=registration.id),
                               again_url=url_for("payments.pay", registration_id=registration.id))
    return render_template("payments/pay.html", registration=registration, camp=registration.session,
                           form=form, methods=methods, now=utcnow(), in_wechat=in_wechat(user_agent),
                           policy=policy_lines(registration.session.course),
                           transfer=_bank_order(registration.id))


def _qr_svg(payload: str) -> str:
    """WeChat Native's code_url as a QR code to scan with WeChat (inline SVG, scaled by the CSS)."""
    return segno.make_qr(payload, error="m").svg_inline(omitsize=True, dark="#000", light="#fff", border=4)


def _bank_details() -> dict:
    config = current_app.config
    return {"name": config["BANK_TRANSFER_ACCOUNT_NAME"], "number": config["BANK_TRANSFER_ACCOUNT_NO"],
            "bank": config["BANK_TRANSFER_BANK"]}


def _bank_order(registration_id: int):
    """The bank transfer's reference this person already has, if they chose a transfer before."""
    if not bank_transfer_configured(current_app.config):
        return None
    order = queries.bank_order_of(registration_id)
    return {"order": order, **_bank_details()} if order else None


@bp.route("/registrations/<int:registration_id>/pay/status")
@login_required
def status(registration_id: int):
    """What the waiting page polls: paid yet? (A read: it releases nothing.)"""
    registration = _own_registration(registration_id, release_lapsed=False)
    return jsonify(status=registration.status.value, paid=registration.status is RegistrationStatus.CONFIRMED,
                   next=url_for("booking.ticket", registration_id=registration.id))


@bp.route("/registrations/<int:registration_id>/pay/check", methods=["POST"])
@login_required
@limiter.limit(_payment_limit, key_func=_per_user)
def check(registration_id: int):
    """我已完成支付: ask the provider (its notification may be late), then show where things stand.
    Before any release: a payment made in time whose notice is late still confirms the seat."""
    registration = _own_registration(registration_id, release_lapsed=False)
    if not CheckPaidForm().validate_on_submit():
        abort(400)
    if registration.status.is_hold:
        checkout.check_with_provider(registration)
        registration = _own_registration(registration_id)
    if registration.status is RegistrationStatus.CONFIRMED:
        flash(_("支付成功，报名已确认！"), "success")
        return redirect(url_for("booking.ticket", registration_id=registration.id))
    flash(_("暂未收到付款。如已支付，请稍等片刻再刷新；款项到账后报名会自动确认。"), "info")
    return redirect(url_for("payments.pay", registration_id=registration.id))


@bp.route("/registrations/<int:registration_id>/receipt")
@login_required
def receipt(registration_id: int):
    registration = _own_registration(registration_id)
    payments = queries.payments_of(registration.id)
    if not payments:
        abort(404)
    return render_template("payments/receipt.html", registration=registration, camp=registration.session,
                           payments=payments, refunds=queries.refunds_of(registration.id))


# --- the providers' side ------------------------------------------------------------------------

@bp.route("/payments/notify/wechat", methods=["POST"])
def wechat_notify():
    """WeChat Pay's notification: 204 when taken (or already known), 401 when forged; WeChat retries
    anything else."""
    try:
        taken = checkout.wechat_notification(request.headers, request.get_data(cache=False))
    except PaymentMethodUnavailable:
        abort(404)  # WeChat Pay is not configured here
    except PaymentServiceDown:
        return jsonify(code="FAIL", message="unavailable"), 503  # WeChat sends it again later
    if not taken:
        return jsonify(code="FAIL", message="signature"), 401
    return "", 204


@bp.route("/payments/notify/alipay", methods=["POST"])
def alipay_notify():
    """Alipay's notification: the plain text "success" when taken; anything else makes it retry."""
    try:
        taken = checkout.alipay_notification(request.form.to_dict())
    except PaymentMethodUnavailable:
        abort(404)  # Alipay is not configured here
    except PaymentServiceDown:
        return "fail", 503  # Alipay sends it again later
    if not taken:
        return "fail", 400
    return alipay.NOTIFICATION_ANSWER, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/payments/return/alipay")
def alipay_return():
    """The payer's browser back from Alipay: to their registration's pay page, which shows whether
    the notification has arrived (the return itself proves nothing about payment)."""
    try:
        out_trade_no = checkout.alipay_provider().parse_return(request.args.to_dict())
    except (ForgedNotification, DomainError):
        abort(400)
    order = queries.order_by_number(out_trade_no)
    if order is None:
        abort(404)
    if order.group_booking_id is not None:  # a group's order: its booker's group pay page
        return redirect(url_for("payments.group_pay", group_id=order.group_booking_id))
    return redirect(url_for("payments.pay", registration_id=order.registration_id))


@bp.route("/registrations/<int:registration_id>/pay/wechat-authorize")
@login_required
def wechat_authorize(registration_id: int):
    """Inside WeChat, JSAPI needs the payer's openid: WeChat's silent authorisation (snsapi_base)."""
    registration = _own_registration(registration_id)
    state = secrets.token_hex(16)  # WeChat accepts letters and digits only
    session[_OPENID_STATE] = {"state": state, "registration_id": registration.id}
    try:
        return redirect(checkout.wechat_authorize_url(state))
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("payments.pay", registration_id=registration.id))


@bp.route("/payments/wechat/callback")
@login_required
def wechat_callback():
    expected = session.pop(_OPENID_STATE, None)
    code = request.args.get("code", "")
    if not expected or request.args.get("state") != expected["state"] or not code or len(code) > 256:
        abort(400)
    try:
        checkout.remember_openid(current_user, code)
    except DomainError as error:
        flash(str(error.message), "error")
    # Back to the page that asked: a registration's pay page, or a group's (group_views.py).
    return redirect(expected.get("next") or url_for("payments.pay", registration_id=expected["registration_id"]))


# Only a provider's word counts, and these are not reached from our forms: no CSRF token.
EXEMPT_FROM_CSRF = (wechat_notify, alipay_notify)

# Paying for a group (团体报名): its pages, on this blueprint.
from app.payments import group_views  # noqa: E402, F401
