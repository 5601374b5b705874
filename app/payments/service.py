"""Paying for a held seat: orders, payments, and transfers staff record. With refunds.py (giving
money back), the only writer of the payment ledger.

Every function that changes money is one write transaction (`@write_transaction`) that locks the
registration's session first (booking.lock_for_payment), so a payment, an expiry and a booking of
the same session happen one after another: a payment that arrives as its hold runs out either
confirms the seat (the hold was still this person's) or finds it expired and is given back, never
both. In the transaction it writes the ledger row, moves the registration's sums, confirms the
seat through the booking service, writes the audit entry and queues the emails.

A payment that cannot pay for a seat (it came too late, twice, or for the wrong amount) is given
back in the same transaction (refunds.request_refund) and staff are told.

A group's order (团体报名, opened by group_orders.py) is recorded the same way, attendee by attendee:
one Payment row per registration it pays for, all with the provider's one transaction id, each
seat confirmed or its share given back.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.errors import RegistrationChanged, RegistrationNotFound
from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.catalog import service as catalog
from app.common.db import write_transaction
from app.common.money import plain_amount, to_fen
from app.common.time import utcnow
from app.extensions import db
from app.payments import queries, refunds
from app.payments.errors import (
    GroupNotFound,
    HoldExpired,
    InvalidAmount,
    NothingToPay,
    PaymentNotFound,
    TransferReferenceUsed,
)
from app.payments.models import Payment, PaymentOrder, PaymentProvider, RefundRequest

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
    # A group's order: every row the transaction made (one per attendee it paid for) and every share
    # given back; `payment` and `refund` are the first of each, `confirmed` says every seat was.
    payments: list[Payment] = field(default_factory=list)
    refunds: list[RefundRequest] = field(default_factory=list)


# --- paying -------------------------------------------------------------------------------

@write_transaction
def open_order(registration_id: int, user: User, provider: PaymentProvider, channel: str,
               now: datetime | None = None) -> PaymentOrder:
    """The student chose how to pay: an order for what is due, whose number the provider will echo
    back. Only for their own seat held for payment, while the hold lasts. Choosing a bank transfer
    the first time lengthens the hold (BANK_TRANSFER_HOLD_SECONDS: the transfer takes days to
    arrive); choosing it again gives the same reference and never lengthens it again."""
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
        existing = queries.bank_order_of(registration.id)
        if existing is not None:  # one reference code per registration: the one already given out
            return existing
        booking.extend_hold(registration, camp, current_app.config["BANK_TRANSFER_HOLD_SECONDS"])
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
    order = queries.order_by_number(out_trade_no)
    if order is None:
        raise PaymentNotFound()
    amount = to_fen(amount)
    if amount <= 0:
        raise InvalidAmount()
    transaction_id = transaction_id[:64]  # as stored: a replay of a longer id finds its row
    if order.group_booking_id is not None:
        return _record_group_payment(order, provider, transaction_id, amount, paid_at, actor, note, now)
    registration, _camp = booking.lock_for_payment(order.registration_id)
    # After the lock: a concurrent copy of the same notification has committed or not started.
    existing = _recorded(provider, transaction_id)
    if existing:
        if provider is PaymentProvider.BANK and actor is not None:
            raise TransferReferenceUsed()
        return PaymentOutcome(existing[0], confirmed=False, replayed=True, payments=existing)
    if amount != order.amount:
        log.warning("payment %s of order %s: %s paid, %s ordered", transaction_id, out_trade_no, amount, order.amount)
    payment = _add_payment(registration, order, provider, transaction_id, amount, paid_at, actor, note)
    if booking.confirm_paid_hold(registration, amount, now):
        return PaymentOutcome(payment, confirmed=True, replayed=False, payments=[payment])
    reason = _late_payment_reason(registration, amount)
    refund = refunds.request_refund(payment, amount, reason, actor=None)
    refunds.tell_staff(_("需要处理的付款：%(reason)s", reason=reason),
                _("报名 #%(id)s（%(name)s）收到一笔 %(amount)s 的付款（%(provider)s，交易号 %(txn)s），"
                  "已自动发起全额退款：%(reason)s。", id=registration.id, name=registration.user.display_name,
                  amount=f"¥{plain_amount(amount)}", provider=provider.label, txn=transaction_id, reason=reason))
    return PaymentOutcome(payment, confirmed=False, replayed=False, refund=refund, payments=[payment],
                          refunds=[refund])


def _recorded(provider: PaymentProvider, transaction_id: str) -> list[Payment]:
    """The rows of a provider transaction already recorded (one, or one per attendee of a group)."""
    return list(db.session.scalars(select(Payment).where(Payment.provider == provider,
                                                         Payment.transaction_id == transaction_id)
                                   .order_by(Payment.id)))


def _add_payment(registration: Registration, order: PaymentOrder, provider: PaymentProvider, transaction_id: str,
                 amount: Decimal, paid_at: datetime, actor: User | None, note: str) -> Payment:
    """The ledger's row of money received for a registration, its amount_paid moved, audited."""
    payment = Payment(registration_id=registration.id, order_id=order.id, provider=provider,
                      transaction_id=transaction_id, amount=amount, paid_at=paid_at, recorded_by=actor,
                      note=note[:200])
    db.session.add(payment)
    registration.amount_paid += amount
    db.session.flush()
    record(AuditAction.PAYMENT_RECEIVE, actor, registration_id=registration.id, session_id=registration.session_id,
           account_id=registration.user_id, after=_payment_state(payment))
    return payment


# --- a group's order (团体报名) -------------------------------------------------------------------

def lock_group_for_payment(group_id: int, registration_ids: list[int]) -> tuple[GroupBooking, dict[int, Registration]]:
    """The group and these registrations of it, read again under their sessions' locks (the group's
    session, and another an attendee was moved to, lower id first as a move locks them): a group's
    payment, an expiry and a booking happen one after another, as for one registration."""
    group = db.session.get(GroupBooking, group_id)
    if group is None:
        raise GroupNotFound()
    members = list(db.session.scalars(select(Registration).where(Registration.id.in_(registration_ids))
                                      .order_by(Registration.id)))
    locked = sorted({group.session_id, *(member.session_id for member in members)})
    for session_id in locked:
        catalog.lock_session(session_id)
    for member in members:
        db.session.refresh(member)
        if member.session_id not in locked:  # moved while we waited for the locks
            raise RegistrationChanged()
    return group, {member.id: member for member in members}


def _record_group_payment(order: PaymentOrder, provider: PaymentProvider, transaction_id: str, amount: Decimal,
                          paid_at: datetime, actor: User | None, note: str, now: datetime) -> PaymentOutcome:
    """record_payment for a group's order: one row per line (what that attendee owed), each held
    seat confirmed with its email; a line whose seat is no longer held (lapsed, cancelled, paid
    already) is given back, the others stay confirmed. An amount that is not the order's cannot be
    told apart into shares: all of it is given back (recorded on the first attendee's registration)."""
    lines = list(order.lines)
    _group, members = lock_group_for_payment(order.group_booking_id, [line.registration_id for line in lines])
    existing = _recorded(provider, transaction_id)
    if existing:
        if provider is PaymentProvider.BANK and actor is not None:
            raise TransferReferenceUsed()
        return PaymentOutcome(existing[0], confirmed=False, replayed=True, payments=existing)
    if amount != order.amount:
        log.warning("payment %s of group order %s: %s paid, %s ordered", transaction_id, order.out_trade_no, amount,
                    order.amount)
        payment = _add_payment(members[lines[0].registration_id], order, provider, transaction_id, amount, paid_at,
                               actor, note)
        reason = _("付款金额与团体订单金额不符")
        refund = refunds.request_refund(payment, amount, reason, actor=None)
        _tell_staff_of_group(order, provider, transaction_id, amount, [(payment, reason)])
        return PaymentOutcome(payment, confirmed=False, replayed=False, refund=refund, payments=[payment],
                              refunds=[refund])
    payments: list[Payment] = []
    given_back: list[tuple[Payment, str]] = []
    refund_requests: list[RefundRequest] = []
    for line in lines:
        registration = members[line.registration_id]
        payment = _add_payment(registration, order, provider, transaction_id, line.amount, paid_at, actor, note)
        payments.append(payment)
        if not booking.confirm_paid_hold(registration, line.amount, now):
            reason = _late_payment_reason(registration, line.amount)
            refund_requests.append(refunds.request_refund(payment, line.amount, reason, actor=None))
            given_back.append((payment, reason))
    if given_back:
        _tell_staff_of_group(order, provider, transaction_id, amount, given_back)
    return PaymentOutcome(payments[0], confirmed=not given_back, replayed=False,
                          refund=refund_requests[0] if refund_requests else None, payments=payments,
                          refunds=refund_requests)


def _tell_staff_of_group(order: PaymentOrder, provider: PaymentProvider, transaction_id: str, amount: Decimal,
                         given_back: list[tuple[Payment, str]]) -> None:
    parts = "；".join(_("报名 #%(id)s（%(name)s）%(amount)s：%(reason)s", id=payment.registration_id,
                        name=payment.registration.user.display_name, amount=f"¥{plain_amount(payment.amount)}",
                        reason=reason) for payment, reason in given_back)
    refunds.tell_staff(_("需要处理的团体付款：%(reason)s", reason=given_back[0][1]),
                       _("团体报名 #%(group)s 收到一笔 %(amount)s 的付款（%(provider)s，交易号 %(txn)s），"
                         "其中以下部分已自动发起退款：%(parts)s。", group=order.group_booking_id,
                         amount=f"¥{plain_amount(amount)}", provider=provider.label, txn=transaction_id, parts=parts))


def _late_payment_reason(registration: Registration, amount: Decimal) -> str:
    if registration.status.is_hold:  # confirm_paid_hold: the money kept is not what is due
        return _("付款金额与应付金额不符")
    if registration.status.holds_seat:
        return _("重复付款")
    return _("付款时名额已释放（%(status)s）", status=registration.status.label)


def _payment_state(payment: Payment) -> dict:
    return {"payment_id": payment.id, "provider": payment.provider.value, "transaction_id": payment.transaction_id,
            "amount": plain_amount(payment.amount)}


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
    existing = queries.bank_order_of(registration.id)
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


