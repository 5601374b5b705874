"""Paying once for a group (团体报名), the booker's pages: the group's pay page (its attendees, what
is still owed, until when, and how to pay), the provider's next step, "I have paid", the status the
waiting page polls, and the group's receipt. Registered on the payments blueprint (views.py)."""
from __future__ import annotations

import secrets

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.booking.models import GroupBooking, RegistrationStatus
from app.common.errors import DomainError
from app.common.time import utcnow
from app.extensions import limiter
from app.payments import checkout, group_orders
from app.payments.errors import GroupNotFound
from app.payments.forms import CheckPaidForm, PayForm
from app.payments.methods import PayMethod, bank_transfer_configured, in_wechat, offered_methods
from app.payments.policy import policy_lines
from app.payments.views import _OPENID_STATE, _bank_details, _payment_limit, _per_user, _qr_svg, bp


def _own_group(group_id: int, release_lapsed: bool = True) -> GroupBooking:
    try:
        return group_orders.group_to_pay(group_id, current_user, release_lapsed)
    except GroupNotFound:
        abort(404)


def all_paid(group: GroupBooking) -> bool:
    """Every attendee still in the group has their seat confirmed (none waits for the group's money)."""
    active = [member for member in group.registrations if member.is_active]
    return bool(active) and all(member.status is RegistrationStatus.CONFIRMED for member in active)


def _bank_order(group_id: int):
    if not bank_transfer_configured(current_app.config):
        return None
    order = group_orders.bank_order_of_group(group_id)
    return {"order": order, **_bank_details()} if order else None


@bp.route("/me/groups/<int:group_id>/pay", methods=["GET", "POST"])
@login_required
@limiter.limit(_payment_limit, methods=["POST"], key_func=_per_user)
def group_pay(group_id: int):
    group = _own_group(group_id)
    user_agent = request.headers.get("User-Agent", "")
    methods = offered_methods(user_agent)
    form = PayForm(methods)
    if form.validate_on_submit():
        method = PayMethod(form.method.data)
        if method is PayMethod.WECHAT_JSAPI and not current_user.wechat_openid:
            return redirect(url_for("payments.group_wechat_authorize", group_id=group.id))
        try:
            started = checkout.start_group(group.id, current_user, method, client_ip=request.remote_addr)
        except DomainError as error:
            flash(str(error.message), "error")
            return redirect(url_for("payments.group_pay", group_id=group.id))
        money = group_orders.group_money(group)
        return render_template(
            "payments/next_step.html", camp=group.session, method=method, checkout=started,
            check_form=CheckPaidForm(), qr_svg=_qr_svg(started.qr_url) if started.qr_url else None,
            bank=_bank_details() if method is PayMethod.BANK_TRANSFER else None, pay_by=money.pay_by,
            status_url=url_for("payments.group_status", group_id=group.id),
            check_url=url_for("payments.group_check", group_id=group.id),
            again_url=url_for("payments.group_pay", group_id=group.id))
    return render_template("payments/group_pay.html", group=group, camp=group.session,
                           money=group_orders.group_money(group), paid=all_paid(group), form=form, methods=methods,
                           now=utcnow(), in_wechat=in_wechat(user_agent), policy=policy_lines(group.session.course),
                           transfer=_bank_order(group.id))


@bp.route("/me/groups/<int:group_id>/pay/status")
@login_required
def group_status(group_id: int):
    """What the waiting page polls: is every seat paid yet? (A read: it releases nothing.)"""
    group = _own_group(group_id, release_lapsed=False)
    return jsonify(paid=all_paid(group), owed=str(group_orders.group_money(group).outstanding),
                   next=url_for("payments.group_pay", group_id=group.id))


@bp.route("/me/groups/<int:group_id>/pay/check", methods=["POST"])
@login_required
@limiter.limit(_payment_limit, key_func=_per_user)
def group_check(group_id: int):
    """我已完成支付, for the group: ask the provider, before any hold past its time is released."""
    group = _own_group(group_id, release_lapsed=False)
    if not CheckPaidForm().validate_on_submit():
        abort(400)
    if any(member.status.is_hold for member in group.registrations):
        checkout.check_group_with_provider(group)
    group = _own_group(group_id)
    if all_paid(group):
        flash(_("支付成功，全部参会人的报名已确认！"), "success")
    else:
        flash(_("暂未收到付款。如已支付，请稍等片刻再刷新；款项到账后报名会自动确认。"), "info")
    return redirect(url_for("payments.group_pay", group_id=group.id))


@bp.route("/me/groups/<int:group_id>/receipt")
@login_required
def group_receipt(group_id: int):
    group = _own_group(group_id)
    money = group_orders.group_money(group)
    if not money.payments:
        abort(404)
    return render_template("payments/group_receipt.html", group=group, camp=group.session, money=money)


@bp.route("/me/groups/<int:group_id>/pay/wechat-authorize")
@login_required
def group_wechat_authorize(group_id: int):
    """Inside WeChat, JSAPI needs the payer's openid (as for one registration), then back here."""
    group = _own_group(group_id)
    state = secrets.token_hex(16)  # WeChat accepts letters and digits only
    session[_OPENID_STATE] = {"state": state, "next": url_for("payments.group_pay", group_id=group.id)}
    try:
        return redirect(checkout.wechat_authorize_url(state))
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("payments.group_pay", group_id=group.id))
