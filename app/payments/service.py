"""Paying for a held seat, and giving money back: the only writer of the payment ledger.

Every function that changes money is one write transaction (`@write_transaction`) that locks the
registration's session first (booking.lock_for_payment), so a payment, an expiry and a booking of
the same session happen one after another: a payment that arrives as its hold runs out either
confirms the seat (the hold was still this person's) or finds it expired and is given back, never
both. In the transaction it writes the ledger row, moves the registration's sums, confirms the
seat through the booking service, writes the audit entry and queues the emails.

Refunds are decided here (a cancellation under the course's policy, staff's decision, a payment
that came too late or twice) and queued as RefundRequests in the deciding transaction; the worker
(`send_refunds`) asks the provider after the commit, so a provider that is down delays a refund and
never loses one. Bank transfers are paid back by staff, who record it (`record_transfer_refund`).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.errors import RegistrationNotFound
from app.booking.models import Registration, RegistrationStatus
from app.common.db import write_transaction
from app.common.money import plain_amount, to_fen
from app.common.time import utcnow
from app.extensions import db
from app.mail.service import queue_email
from app.payments.errors import (
    HoldExpired,
    InvalidAmount,
    NothingToPay,
    PaymentNotFound,
    RefundNotPending,
    RefundTooLarge,
    TransferReferenceUsed,
)
from app.payments.models import Payment, PaymentOrder, PaymentProvider, Refund, RefundRequest, RefundStatus
from app.payments.policy import refund_due

log = logging.getLogger(__name__)

# Our order numbers: a letter for the provider, then random letters and digits (unguessable, at
# most 32 characters of [0-9A-Z], what both providers accept). A bank transfer's is what the payer
# writes in the transfer's 附言, so it is short and has no look-alikes.
_ORDER_PREFIX = {PaymentProvider.WECHAT: "W", PaymentProvider.ALIPAY: "A", PaymentProvider.BANK: "XC"}
_TRANSFER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_out_trade_no(provider: PaymentProvider) -> str:
    if provider is PaymentProvider.BANK:
        return _ORDER_PREFIX[provider] + "".join(secrets.choice(_TRANSFER_ALPHABET) for _ in range(8))
    return _ORDER_PREFIX[provider] + secrets.token_hex(12).upper()


@dataclass
class PaymentOutcome:
    payment: Payment
    confirmed: bool  # this payment confirmed the seat
    replayed: bool  # the provider had told us before: nothing changed
    refund: RefundRequest | None = None  # given back at once (too late, twice, not the amount due)


# --- reading ------------------------------------------------------------------------------

def registration_to_pay(registration_id: int, user: User) -> Registration:
    """One of this person's registrations, with its session and course (a 404 to anyone else)."""
    registration = booking.registration_of(user.id, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    return registration


def order_by_number(out_trade_no: str) -> PaymentOrder | None:
    return db.session.scalar(select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no))


def payments_of(registration_id: int) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.registration_id == registration_id).order_by(Payment.paid_at, Payment.id)))


def refunds_of(registration_id: int) -> list[Refund]:
    return list(db.session.scalars(
        select(Refund).where(Refund.registration_id == registration_id).order_by(Refund.refunded_at, Refund.id)))


def bank_order_of(registration_id: int) -> PaymentOrder | None:
    """The bank transfer reference given for this registration, if any (there is one at most)."""
    return db.session.scalar(select(PaymentOrder).where(PaymentOrder.registration_id == registration_id,
                                                        PaymentOrder.provider == PaymentProvider.BANK))


def refund_requests_of(registration_id: int) -> list[RefundRequest]:
    return list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.registration_id == registration_id).order_by(RefundRequest.id)))


# --- paying -------------------------------------------------------------------------------

@write_transaction
def open_order(registration_id: int, user: User, provider: PaymentProvider, channel: str,
               now: datetime | None = None) -> PaymentOrder:
    """The student chose how to pay: an order for what is due, whose number the provider will echo
    back. Only for their own seat held for payment, while the hold lasts. For a bank transfer the
    hold is lengthened (BANK_TRANSFER_HOLD_SECONDS): the transfer takes days to arrive."""
    now = now or utcnow()
    registration, camp = booking.lock_for_payment(registration_id)
    if registration.user_id != user.id:
        raise RegistrationNotFound()
    if registration.status is RegistrationStatus.EXPIRED:
        raise HoldExpired()
    if not registration.status.is_hold or registration.amount_outstanding <= 0:
        raise NothingToPay()
    if registration.hold_expires_at <= now:
        raise HoldExpired()
    if provider is PaymentProvider.BANK:
        existing = bank_order_of(registration.id)
        booking.extend_hold(registration, camp, current_app.config["BANK_TRANSFER_HOLD_SECONDS"])
        if existing is not None:  # one reference code per registration: the one already given out
            return existing
        record(AuditAction.PAYMENT_TRANSFER, user, registration_id=registration.id, session_id=camp.id,
               account_id=registration.user_id, after={"hold_expires_at": registration.hold_expires_at.isoformat()})
    order = PaymentOrder(registration_id=registration.id, provider=provider, channel=channel,
                         out_trade_no=new_out_trade_no(provider), amount=registration.amount_outstanding)
    db.session.add(order)
    db.session.flush()
    return order


@write_transaction
def record_payment(provider: PaymentProvider, out_trade_no: str, transaction_id: str, amount: Decimal,
                   paid_at: datetime, actor: User | None = None, note: str = "",
                   now: datetime | None = None) -> PaymentOutcome:
    """Money arrived for our order `out_trade_no` (a verified provider notification or order query,
    or staff recording a bank transfer, `actor`). Idempotent: the provider's transaction id is
    recorded once (a replay returns the payment, changing nothing). The seat it pays for is
    confirmed if it is still held and the amount is what is due; otherwise the money is given back
    at once (a refund request) and staff are told."""
    now = now or utcnow()
    order = order_by_number(out_trade_no)
    if order is None:
        raise PaymentNotFound()
    amount = to_fen(amount)
    if amount <= 0:
        raise InvalidAmount()
    registration, camp = booking.lock_for_payment(order.registration_id)
    # After the lock: a concurrent copy of the same notification has committed or not started.
    existing = db.session.scalar(select(Payment).where(Payment.provider == provider,
                                                       Payment.transaction_id == transaction_id))
    if existing is not None:
        if provider is PaymentProvider.BANK and actor is not None:
            raise TransferReferenceUsed()
        return PaymentOutcome(existing, confirmed=False, replayed=True)
    if amount != order.amount:
        log.warning("payment %s of order %s: %s paid, %s ordered", transaction_id, out_trade_no, amount, order.amount)
    payment = Payment(registration_id=registration.id, order_id=order.id, provider=provider,
                      transaction_id=transaction_id[:64], amount=amount, paid_at=paid_at, recorded_by=actor,
                      note=note[:200])
    db.session.add(payment)
    registration.amount_paid += amount
    db.session.flush()
    record(AuditAction.PAYMENT_RECEIVE, actor, registration_id=registration.id, session_id=camp.id,
           account_id=registration.user_id, after=_payment_state(payment))
    if booking.confirm_paid_hold(registration, amount, now):
        return PaymentOutcome(payment, confirmed=True, replayed=False)
    reason = _late_payment_reason(registration, amount)
    refund = _request_refund(payment, amount, reason, actor=None)
    _tell_staff(_("需要处理的付款：%(reason)s", reason=reason),
                _("报名 #%(id)s（%(name)s）收到一笔 %(amount)s 的付款（%(provider)s，交易号 %(txn)s），"
                  "已自动发起全额退款：%(reason)s。", id=registration.id, name=registration.user.display_name,
                  amount=f"¥{plain_amount(amount)}", provider=provider.label, txn=transaction_id, reason=reason))
    return PaymentOutcome(payment, confirmed=False, replayed=False, refund=refund)


def _late_payment_reason(registration: Registration, amount: Decimal) -> str:
    if registration.status.is_hold:
        return _("付款金额与应付金额不符")
    if registration.status.holds_seat:
        return _("重复付款")
    return _("付款时名额已释放（%(status)s）", status=registration.status.label)


def _payment_state(payment: Payment) -> dict:
    return {"payment_id": payment.id, "provider": payment.provider.value, "transaction_id": payment.transaction_id,
            "amount": plain_amount(payment.amount)}


# --- refunds ------------------------------------------------------------------------------

def _request_refund(payment: Payment, amount: Decimal, reason: str, actor: User | None) -> RefundRequest:
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
    paid = registration.amount_paid - registration.amount_refunded
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
    for payment in reversed(payments_of(registration.id)):
        if amount <= 0:
            break
        part = min(amount, _refundable(payment))
        if part > 0:
            requests.append(_request_refund(payment, part, reason, actor))
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
    if amount > registration.amount_paid - registration.amount_refunded:
        raise RefundTooLarge()
    return _refund_from_payments(registration, amount, reason.strip() or _("工作人员退款"), actor)


def _tell_staff(subject: str, body: str) -> None:
    """A message to the finance staff (PAYMENTS_STAFF_EMAIL), in the caller's transaction; the
    dashboard lists open refunds whether or not it is set."""
    address = current_app.config.get("PAYMENTS_STAFF_EMAIL")
    if address:
        queue_email(address, subject, "payments_staff_notice", body=body)


def pending_refunds(limit: int = 50) -> list[RefundRequest]:
    return list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.status == RefundStatus.PENDING)
        .order_by(RefundRequest.created_at).limit(limit)
        .options(joinedload(RefundRequest.payment), joinedload(RefundRequest.registration))))


@write_transaction
def settle_refund(request_id: int, provider_refund_id: str, actor: User | None = None,
                  now: datetime | None = None) -> Refund:
    """The provider accepted the refund (or staff transferred it back, `actor`): the ledger's
    Refund row, the request done, the student told."""
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
    queue_email(registration.user.email, _("退款通知：%(title)s", title=registration.session.course.title),
                "payments_refunded", name=registration.user.display_name, amount=request.amount,
                provider=request.payment.provider.label, reason=request.reason)
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
        _tell_staff(_("退款失败，请人工处理"), _("退款申请 %(no)s（报名 #%(id)s，%(amount)s）多次发送失败：%(error)s",
                                             no=request.out_refund_no, id=request.registration_id,
                                             amount=f"¥{plain_amount(request.amount)}", error=error))


# --- what staff do by hand ------------------------------------------------------------------------
# Money that moves outside the providers' APIs: a transfer to the organisation's account that staff
# find on the bank statement, and money staff send back by hand (a transfer's refund, or one a
# provider refused for good). Each is one transaction under the session's lock, like the rest.

@write_transaction
def open_transfer_for(registration_id: int, staff: User) -> PaymentOrder:
    """The registration's bank transfer order, opened by staff for its person if they never chose
    对公转账 on the pay page (they paid the account from a poster, or were told on the phone): the
    order a transfer's payment is recorded against. No owner check (staff act for the person) and
    the hold is not lengthened (the money is here). The one already opened, if there is one."""
    registration, camp = booking.lock_for_payment(registration_id)
    existing = bank_order_of(registration.id)
    if existing is not None:
        return existing
    if not registration.status.is_hold or registration.amount_outstanding <= 0:
        raise NothingToPay()
    order = PaymentOrder(registration_id=registration.id, provider=PaymentProvider.BANK, channel="transfer",
                         out_trade_no=new_out_trade_no(PaymentProvider.BANK), amount=registration.amount_outstanding)
    db.session.add(order)
    db.session.flush()
    record(AuditAction.PAYMENT_TRANSFER, staff, registration_id=registration.id, session_id=camp.id,
           account_id=registration.user_id, after={"out_trade_no": order.out_trade_no},
           note="工作人员代学员开立对公转账单")
    return order


@write_transaction
def record_transfer(registration_id: int, reference: str, amount: Decimal, paid_at: datetime, staff: User,
                    note: str = "", now: datetime | None = None) -> PaymentOutcome:
    """Staff found a transfer for this registration on the bank statement: `reference` is the
    bank's 流水号 (recorded once: TransferReferenceUsed the second time). Against the registration's
    bank order, opened for its person if they had none (open_transfer_for), in one transaction; then
    as any payment (record_payment): the seat confirmed if the amount is what is due, else given back."""
    order = open_transfer_for(registration_id, staff)
    return record_payment(PaymentProvider.BANK, order.out_trade_no, reference, amount, paid_at, actor=staff,
                          note=note, now=now)


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
    refund_row = settle_refund(request.id, reference, actor=staff, now=now)
    registration = request.registration
    record(AuditAction.PAYMENT_REFUND_PAID, staff, registration_id=registration.id,
           session_id=registration.session_id, account_id=registration.user_id, note=request.reason,
           after={"refund_id": refund_row.id, "refund_request_id": request.id,
                  "provider_refund_id": refund_row.provider_refund_id, "amount": plain_amount(refund_row.amount)})
    return refund_row
