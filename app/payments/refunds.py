"""Giving money back: refunds decided, sent, settled, and paid back by hand.

A refund is decided in the transaction that decides it (a cancellation under the course's policy,
`paid_registration_cancelled`; staff's decision, `refund`; a payment that must go back,
service.record_payment) and queued as a RefundRequest, counted at once in the registration's
amount_refunded (the database refuses more back than was paid). The worker (worker.send_refunds)
asks the provider after the commit, so a provider that is down delays a refund and never loses it;
its acceptance settles the request (`settle_refund`: the ledger's Refund row, audited, the student
emailed). A transfer's refund, or one the provider refused for good, staff pay back by hand and
record (`record_refund_by_hand`). Every change takes the registration's session lock first, as
every payment and booking does.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.models import Registration
from app.common.db import write_transaction
from app.common.money import plain_amount, to_fen
from app.common.time import utcnow
from app.extensions import db
from app.mail.service import queue_email
from app.payments import queries
from app.payments.errors import InvalidAmount, PaymentNotFound, RefundNotPending, RefundTooLarge
from app.payments.models import Payment, PaymentProvider, Refund, RefundRequest, RefundStatus
from app.payments.policy import refund_due


def request_refund(payment: Payment, amount: Decimal, reason: str, actor: User | None) -> RefundRequest:
    """Decide a refund of `amount` from `payment`, in the caller's transaction (its session locked):
    counted at once in the registration's amount_refunded (the CHECK refuses more than was paid),
    audited, and queued for the provider (or for staff, for a transfer)."""
    registration = payment.registration
    if amount <= 0 or amount > _refundable(payment):
        raise RefundTooLarge()
    request = RefundRequest(payment_id=payment.id, registration_id=registration.id, amount=amount,
                            out_refund_no="R" + secrets.token_hex(12).upper(), reason=reason[:200],
                            requested_by_id=actor.id if actor else None)
    db.session.add(request)
    registration.amount_refunded += amount
    db.session.flush()
    record(AuditAction.PAYMENT_REFUND, actor, registration_id=registration.id, session_id=registration.session_id,
           account_id=registration.user_id, note=reason,
           after={"refund_request_id": request.id, "payment_id": payment.id, "amount": plain_amount(amount)})
    return request


def _refundable(payment: Payment) -> Decimal:
    """What of this payment has not been given back or promised back yet."""
    promised = db.session.scalar(
        select(func.coalesce(func.sum(RefundRequest.amount), 0))
        .where(RefundRequest.payment_id == payment.id, RefundRequest.status != RefundStatus.FAILED))
    return payment.amount - Decimal(promised)


def refund_on_cancellation(registration: Registration, now: datetime) -> list[RefundRequest]:
    """A paid seat was cancelled (a step of the cancellation, under its lock): what the course's
    policy gives back, from the registration's payments, newest first."""
    paid = registration.amount_kept
    if paid <= 0:
        return []
    due = refund_due(registration.session, paid, now)
    return _refund_from_payments(registration, due.amount, _("取消报名退款：%(rule)s", rule=due.rule), actor=None)


@booking.paid_registration_cancelled.connect
def _refund_cancelled(registration: Registration, *, now: datetime) -> list[RefundRequest]:
    return refund_on_cancellation(registration, now)


def _refund_from_payments(registration: Registration, amount: Decimal, reason: str,
                          actor: User | None) -> list[RefundRequest]:
    requests = []
    for payment in reversed(queries.payments_of(registration.id)):
        if amount <= 0:
            break
        part = min(amount, _refundable(payment))
        if part > 0:
            requests.append(request_refund(payment, part, reason, actor))
            amount -= part
    return requests


@dataclass
class CancellationRefund:
    """A cancellation (booking.cancel_registration's outcome) and what its refund policy gave back."""

    cancellation: booking.CancellationOutcome
    refund_amount: Decimal  # 0 when nothing was paid or the policy gives nothing back now


@write_transaction
def cancel_and_refund(registration_id: int, actor: User, now: datetime | None = None) -> CancellationRefund:
    """booking.cancel_registration (its rules, its refund by the course's policy through
    `paid_registration_cancelled`), saying how much that refund is. Under the session's lock from
    before the cancellation to its end, so the difference in amount_refunded is this cancellation's
    refund and no other's (every refund takes that lock)."""
    registration, _camp = booking.lock_for_payment(registration_id)
    refunded_before = registration.amount_refunded
    cancellation = booking.cancel_registration(registration_id, actor, now=now)
    return CancellationRefund(cancellation, cancellation.registration.amount_refunded - refunded_before)


@write_transaction
def refund(registration_id: int, amount: Decimal, reason: str, actor: User) -> list[RefundRequest]:
    """Staff give back `amount` (in full or in part) of what a registration paid, with a reason;
    the registration itself stays as it is (cancel it separately)."""
    try:
        amount = to_fen(Decimal(amount))
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidAmount() from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidAmount()
    registration, _camp = booking.lock_for_payment(registration_id)
    if amount > registration.amount_kept:
        raise RefundTooLarge()
    return _refund_from_payments(registration, amount, reason.strip() or _("工作人员退款"), actor)


def tell_staff(subject: str, body: str) -> None:
    """A message to the finance staff (PAYMENTS_STAFF_EMAIL), in the caller's transaction; the
    dashboard lists open refunds whether or not it is set."""
    address = current_app.config.get("PAYMENTS_STAFF_EMAIL")
    if address:
        queue_email(address, subject, "payments_staff_notice", body=body)


@write_transaction
def settle_refund(request_id: int, provider_refund_id: str, actor: User | None = None,
                  now: datetime | None = None) -> Refund:
    """The provider accepted the refund (or staff transferred it back, `actor`): the ledger's
    Refund row, the request done, the audit entry (payment.refund_paid), the student told."""
    request = db.session.get(RefundRequest, request_id)
    if request is None:
        raise PaymentNotFound()
    booking.lock_for_payment(request.registration_id)
    db.session.refresh(request)
    if request.status is not RefundStatus.PENDING:
        raise RefundNotPending()
    request.status = RefundStatus.DONE
    refund_row = Refund(payment_id=request.payment_id, registration_id=request.registration_id, request_id=request.id,
                        provider_refund_id=provider_refund_id[:64], amount=request.amount, reason=request.reason,
                        refunded_at=now or utcnow(), recorded_by_id=actor.id if actor else None)
    db.session.add(refund_row)
    db.session.flush()
    registration = request.registration
    record(AuditAction.PAYMENT_REFUND_PAID, actor, registration_id=registration.id,
           session_id=registration.session_id, account_id=registration.user_id, note=request.reason,
           after={"refund_id": refund_row.id, "refund_request_id": request.id,
                  "provider_refund_id": refund_row.provider_refund_id, "amount": plain_amount(refund_row.amount)})
    queue_email(registration.user.email, _("退款通知：%(title)s", title=registration.session.course.title),
                "payments_refunded", name=registration.user.display_name, amount=request.amount,
                provider=request.payment.provider.label, reason=request.reason, by_hand=actor is not None)
    return refund_row


@write_transaction
def refund_failed(request_id: int, error: str, give_up: bool) -> None:
    """A try to send the refund failed (`error`); after the last try (`give_up`) staff settle it."""
    request = db.session.get(RefundRequest, request_id)
    if request is None:
        return
    booking.lock_for_payment(request.registration_id)  # the session first, as every payment does
    db.session.refresh(request)
    if request.status is not RefundStatus.PENDING:
        return
    request.attempts += 1
    request.last_error = error[:500]
    if give_up:
        request.status = RefundStatus.FAILED
        request.registration.amount_refunded -= request.amount  # promised back, never sent: still paid
        tell_staff(_("退款失败，请人工处理"), _("退款申请 %(no)s（报名 #%(id)s，%(amount)s）多次发送失败：%(error)s",
                                             no=request.out_refund_no, id=request.registration_id,
                                             amount=f"¥{plain_amount(request.amount)}", error=error))


def settled_by_staff(request: RefundRequest) -> bool:
    """Whether staff send this refund's money back by hand and record it: a bank transfer's refund
    (no provider can send it), or any refund the provider refused for good (FAILED)."""
    if request.status is RefundStatus.FAILED:
        return True
    return request.status is RefundStatus.PENDING and request.payment.provider is PaymentProvider.BANK


@write_transaction
def record_refund_by_hand(request_id: int, reference: str, staff: User, now: datetime | None = None) -> Refund:
    """Staff sent a refund's money back themselves (a transfer back to the payer; `reference`, the
    bank's 流水号 or the merchant console's refund number): the ledger's Refund row and the request
    done (settle_refund), audited. A refund the provider refused for good had its amount given
    back to what the registration paid (refund_failed): it is promised again first, so the database
    still refuses more back than was paid."""
    request = db.session.get(RefundRequest, request_id)
    if request is None:
        raise PaymentNotFound()
    booking.lock_for_payment(request.registration_id)
    db.session.refresh(request)
    if not settled_by_staff(request):
        raise RefundNotPending()
    if request.status is RefundStatus.FAILED:
        if request.amount > _refundable(request.payment):
            raise RefundTooLarge()
        request.status = RefundStatus.PENDING
        request.registration.amount_refunded += request.amount
        db.session.flush()
    return settle_refund(request.id, reference, actor=staff, now=now)  # audited there
