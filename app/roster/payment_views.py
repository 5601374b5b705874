"""Staff pages for a registration's money: a bank transfer received (对公转账), a refund in full or
in part, and a refund staff sent back by hand (已转账退回).

Each action parses its form, calls one function of app/payments/service.py and goes back to the
registration's page; a refusal is shown there next to the form's fields (or above it), in the
service's own Chinese words, never as an error page.
"""
from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.booking.models import Registration
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.money import format_money
from app.common.time import site_zone, utcnow
from app.extensions import db
from app.payments import group_orders, refunds
from app.payments import service as payments
from app.payments.models import PaymentProvider, RefundRequest
from app.roster import queries
from app.roster.forms import GroupTransferForm, RefundByHandForm, RefundForm, TransferForm
from app.roster.payment_state import state_of, transfer_would_confirm
from app.roster.service import local_today
from app.roster.views import render_registration, roster_helpers

bp = Blueprint("roster_payments", __name__, url_prefix="/staff")
bp.context_processor(roster_helpers)  # it shows the registration's page, with the roster's words

# Where the service's error names a field by the ledger's name, the form's field for it.
_FORM_FIELDS = {"transaction_id": "reference"}


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Staff and admins (app/accounts/permissions.py: the roster's people)."""


def _back_to(registration: Registration):
    return redirect(url_for("roster.registration", registration_id=registration.id, _anchor="money"))


def _refused(form, error: DomainError) -> None:
    field = _FORM_FIELDS.get(error.field or "", error.field)
    if field and field in form:
        form[field].errors = [*form[field].errors, str(error.message)]
    else:
        show_error_on_form(form, error)


def _paid_at(day) -> datetime:
    """The day on the bank statement as a time: now if it is today, else the day's start in
    Shanghai, so the payment counts on that Shanghai day in every daily figure."""
    if day == local_today():
        return utcnow()
    return datetime.combine(day, time.min, tzinfo=site_zone())


@bp.post("/registrations/<int:registration_id>/transfer")
def record_transfer(registration_id: int):
    registration = queries.registration_or_404(registration_id)
    form = TransferForm()
    if not form.validate_on_submit():
        return render_registration(registration, transfer_form=form)
    if not transfer_would_confirm(state_of(registration), form.amount.data) and not form.confirm_give_back.data:
        form.confirm_give_back.errors = [_(
            "这笔款不会确认名额（应付 %(due)s，或名额已不再为此人保留），登记后系统会全额退回。"
            "如确认无误，请勾选后再提交。", due=format_money(registration.amount_due))]
        return render_registration(registration, transfer_form=form)
    try:
        outcome = payments.record_transfer(registration.id, form.reference.data, form.amount.data,
                                           _paid_at(form.received_on.data), current_user)
    except DomainError as error:
        _refused(form, error)
        return render_registration(registration, transfer_form=form)
    amount = format_money(outcome.payment.amount)
    if outcome.confirmed:
        flash(_("已登记对公转账 %(amount)s（流水号 %(ref)s），报名已确认，确认邮件已发出",
                amount=amount, ref=outcome.payment.transaction_id), "success")
    else:
        flash(_("已登记到账 %(amount)s，但这笔款未能确认名额：%(reason)s。"
                "系统已发起全额退回，请转账退回后点「已转账退回」登记。",
                amount=amount, reason=outcome.refund.reason if outcome.refund else ""), "warning")
    return _back_to(registration)


@bp.post("/registrations/<int:registration_id>/group-transfer")
def record_group_transfer(registration_id: int):
    """团体报名: a transfer the group's booker made for all of it (its 附言 the group's reference),
    recorded from one attendee's page: every held seat of the group is confirmed by it."""
    registration = queries.registration_or_404(registration_id)
    if registration.group_id is None:
        abort(404)
    form = GroupTransferForm()
    if not form.validate_on_submit():
        return render_registration(registration, group_transfer_form=form)
    try:
        outcome = group_orders.record_group_transfer(registration.group_id, form.reference.data, form.amount.data,
                                                     _paid_at(form.received_on.data), current_user)
    except DomainError as error:
        _refused(form, error)
        return render_registration(registration, group_transfer_form=form)
    if outcome.confirmed:
        flash(_("已登记全组对公转账（流水号 %(ref)s），团体的名额已确认，确认邮件已发出",
                ref=outcome.payment.transaction_id), "success")
    else:
        flash(_("已登记到账，但这笔款未能确认全组的名额：%(reason)s。系统已发起退回，请转账退回后登记。",
                reason=outcome.refund.reason if outcome.refund else ""), "warning")
    return _back_to(registration)


@bp.post("/registrations/<int:registration_id>/refund")
def refund(registration_id: int):
    registration = queries.registration_or_404(registration_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return render_registration(registration, refund_form=form)
    try:
        requests = refunds.refund(registration.id, form.amount.data, form.reason.data, current_user)
    except DomainError as error:
        _refused(form, error)
        return render_registration(registration, refund_form=form)
    flash(_("已发起退款 %(amount)s", amount=format_money(form.amount.data)), "success")
    if any(request.payment.provider is PaymentProvider.BANK for request in requests):
        flash(_("其中对公转账收的款需要工作人员转账退回：转账后请在下方点「已转账退回」登记流水号。"), "info")
    return _back_to(registration)


@bp.post("/registrations/<int:registration_id>/refunds/<int:request_id>/returned")
def refund_by_hand(registration_id: int, request_id: int):
    registration = queries.registration_or_404(registration_id)
    refund_request = db.session.get(RefundRequest, request_id)
    if refund_request is None or refund_request.registration_id != registration.id:
        abort(404)
    form = RefundByHandForm(refund_request.id)
    if not form.validate_on_submit():
        return render_registration(registration, refund_by_hand_form=form, refund_by_hand_request_id=refund_request.id)
    try:
        refund_row = refunds.record_refund_by_hand(refund_request.id, form.reference.data, current_user)
    except DomainError as error:
        _refused(form, error)
        return render_registration(registration, refund_by_hand_form=form, refund_by_hand_request_id=refund_request.id)
    flash(_("已登记退回 %(amount)s（流水号 %(ref)s），已通知学员",
            amount=format_money(refund_row.amount), ref=refund_row.provider_refund_id), "success")
    return _back_to(registration)
