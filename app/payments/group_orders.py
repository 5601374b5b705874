"""Paying once for a group (团体报名): the booker opens one order for what the group's held seats
still owe, its lines saying which registration each part pays for. Recording its payment is
service.record_payment's (one row per attendee); this module opens the orders and reads the group's
money for its pages.

Like open_order for one registration: only the group's booker (anyone else: not found), only for
seats still held, under the sessions' locks (service.lock_group_for_payment). An attendee whose hold
lapsed, who cancelled or who paid their own seat is not in the order; the others are.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.db import write_transaction
from app.common.time import utcnow
from app.extensions import db
from app.payments import service
from app.payments.errors import GroupNotFound, HoldExpired, NothingToPay
from app.payments.models import Payment, PaymentOrder, PaymentOrderLine, PaymentProvider, Refund


def owing(group: GroupBooking, members: list[Registration], now: datetime) -> list[Registration]:
    """The attendees a group's order pays for: still in the group's session, their seat held and
    its hold not run out, something still to pay (Registration.amount_outstanding)."""
    return [member for member in members
            if member.session_id == group.session_id and member.status.is_hold and member.hold_expires_at > now
            and member.amount_outstanding > 0]


def group_to_pay(group_id: int, user: User, release_lapsed: bool = True) -> GroupBooking:
    """One of this person's groups, as its booker, with its session, course and attendees (a 404 to
    anyone else); its holds past their time released first, unless `release_lapsed` is False
    (asking the provider whether it was paid in time comes first)."""
    group = _own_group(group_id, user)
    now = utcnow()
    lapsed = sorted({member.session_id for member in group.registrations
                     if member.status.is_hold and member.hold_expires_at <= now})
    if release_lapsed and lapsed:
        for session_id in lapsed:
            booking.release_lapsed_holds(session_id, now)
        db.session.expire_all()
        group = _own_group(group_id, user)
    return group


def _own_group(group_id: int, user: User) -> GroupBooking:
    group = db.session.get(GroupBooking, group_id)
    if group is None or group.booker_id != user.id:
        raise GroupNotFound()
    return group


@write_transaction
def open_group_order(group_id: int, user: User, provider: PaymentProvider, channel: str,
                     now: datetime | None = None) -> PaymentOrder:
    """The booker chose how to pay for the group: one order for what its held seats still owe.
    Choosing a bank transfer the first time lengthens every one of those holds once
    (BANK_TRANSFER_HOLD_SECONDS, as for one registration); choosing it again gives the same
    reference and lengthens nothing."""
    now = now or utcnow()
    group = _own_group(group_id, user)
    group, members = service.lock_group_for_payment(group.id, [member.id for member in group.registrations])
    due = owing(group, list(members.values()), now)
    if not due:
        ran_out = any(member.status is RegistrationStatus.EXPIRED
                      or (member.status.is_hold and member.hold_expires_at <= now) for member in members.values())
        raise HoldExpired() if ran_out else NothingToPay()
    if provider is PaymentProvider.BANK:
        existing = bank_order_of_group(group.id)
        if existing is not None:  # one reference code per group: the one already given out
            return existing
        camp = db.session.get(CampSession, group.session_id)
        for member in due:
            booking.extend_hold(member, camp, current_app.config["BANK_TRANSFER_HOLD_SECONDS"])
            record(AuditAction.PAYMENT_TRANSFER, user, registration_id=member.id, session_id=camp.id,
                   account_id=member.user_id, after={"hold_expires_at": member.hold_expires_at.isoformat()},
                   note=f"团体报名 #{group.id} 选择对公转账")
    return _new_order(group, due, provider, channel)


def _new_order(group: GroupBooking, due: list[Registration], provider: PaymentProvider, channel: str) -> PaymentOrder:
    order = PaymentOrder(group_booking_id=group.id, provider=provider, channel=channel,
                         out_trade_no=service.new_out_trade_no(provider),
                         amount=sum((member.amount_outstanding for member in due), Decimal("0")))
    order.lines = [PaymentOrderLine(registration_id=member.id, amount=member.amount_outstanding) for member in due]
    db.session.add(order)
    db.session.flush()
    return order


# --- what staff do by hand ------------------------------------------------------------------------

@write_transaction
def open_group_transfer_for(group_id: int, staff: User) -> PaymentOrder:
    """The group's bank transfer order, opened by staff for its booker if they never chose 对公转账
    (a company paid the account from an invoice, say): no owner check, the holds are not lengthened
    (the money is here). The one already opened, if there is one."""
    group = db.session.get(GroupBooking, group_id)
    if group is None:
        raise GroupNotFound()
    group, members = service.lock_group_for_payment(group.id, [member.id for member in group.registrations])
    existing = bank_order_of_group(group.id)
    if existing is not None:
        return existing
    due = [member for member in members.values()
           if member.session_id == group.session_id and member.status.is_hold and member.amount_outstanding > 0]
    if not due:
        raise NothingToPay()
    order = _new_order(group, due, PaymentProvider.BANK, "transfer")
    for member in due:
        record(AuditAction.PAYMENT_TRANSFER, staff, registration_id=member.id, session_id=group.session_id,
               account_id=member.user_id, after={"out_trade_no": order.out_trade_no},
               note=f"工作人员代团体报名 #{group.id} 开立对公转账单")
    return order


def record_group_transfer(group_id: int, reference: str, amount: Decimal, paid_at: datetime, staff: User,
                          note: str = "", now: datetime | None = None) -> service.PaymentOutcome:
    """Staff found a transfer for a group on the bank statement (its 附言 the group's reference):
    against the group's bank order (opened for it if the booker had none), then as any payment of a
    group's order: each held seat confirmed, the rest given back."""
    order = open_group_transfer_for(group_id, staff)
    return service.record_payment(PaymentProvider.BANK, order.out_trade_no, reference, amount, paid_at, actor=staff,
                                  note=note, now=now)


# --- reading ------------------------------------------------------------------------------------

def bank_order_of_group(group_id: int) -> PaymentOrder | None:
    """The bank transfer reference given for this group, if any (there is one at most)."""
    return db.session.scalar(select(PaymentOrder).where(PaymentOrder.group_booking_id == group_id,
                                                        PaymentOrder.provider == PaymentProvider.BANK))


def provider_orders_of_group(group_id: int, limit: int = 3) -> list[PaymentOrder]:
    """The group's latest WeChat and Alipay orders (what 我已完成支付 asks the provider about)."""
    return list(db.session.scalars(
        select(PaymentOrder).where(PaymentOrder.group_booking_id == group_id,
                                   PaymentOrder.provider != PaymentProvider.BANK)
        .order_by(PaymentOrder.id.desc()).limit(limit)))


@dataclass
class GroupMoney:
    """A group's money as its pages show it."""

    group: GroupBooking
    due: list[Registration]  # what an order opened now would pay for
    payments: list[Payment]  # of the group's orders, every attendee's row
    refunds: list[Refund]  # of those payments

    @property
    def outstanding(self) -> Decimal:
        return sum((member.amount_outstanding for member in self.due), Decimal("0"))

    @property
    def pay_by(self) -> datetime | None:
        return min((member.hold_expires_at for member in self.due), default=None)

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), Decimal("0"))

    @property
    def kept(self) -> Decimal:
        return self.paid - sum((refund.amount for refund in self.refunds), Decimal("0"))


def group_money(group: GroupBooking, now: datetime | None = None) -> GroupMoney:
    payments = list(db.session.scalars(
        select(Payment).join(PaymentOrder, PaymentOrder.id == Payment.order_id)
        .where(PaymentOrder.group_booking_id == group.id).order_by(Payment.paid_at, Payment.id)))
    refunds = list(db.session.scalars(
        select(Refund).where(Refund.payment_id.in_([payment.id for payment in payments]))
        .order_by(Refund.refunded_at, Refund.id))) if payments else []
    return GroupMoney(group, owing(group, list(group.registrations), now or utcnow()), payments, refunds)
