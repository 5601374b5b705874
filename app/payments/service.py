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
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

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
from app.payments import queries, refunds
from app.payments.errors import HoldExpired, InvalidAmount, NothingToPay, PaymentNotFound, TransferReferenceUsed
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
                      transaction_id=transaction_id, amount=amount, paid_at=paid_at, recorded_by=actor,
                      note=note[:200])
    db.session.add(payment)
    registration.amount_paid += amount
    db.session.flush()
    record(AuditAction.PAYMENT_RECEIVE, actor, registration_id=registration.id, session_id=camp.id,
           account_id=registration.user_id, after=_payment_state(payment))
    if booking.confirm_paid_hold(registration, amount, now):
        return PaymentOutcome(payment, confirmed=True, replayed=False)
    reason = _late_payment_reason(registration, amount)
    refund = refunds.request_refund(payment, amount, reason, actor=None)
    refunds.tell_staff(_("需要处理的付款：%(reason)s", reason=reason),
                _("报名 #%(id)s（%(name)s）收到一笔 %(amount)s 的付款（%(provider)s，交易号 %(txn)s），"
                  "已自动发起全额退款：%(reason)s。", id=registration.id, name=registration.user.display_name,
                  amount=f"¥{plain_amount(amount)}", provider=provider.label, txn=transaction_id, reason=reason))
    return PaymentOutcome(payment, confirmed=False, replayed=False, refund=refund)


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


