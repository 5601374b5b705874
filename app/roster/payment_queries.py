"""Read queries for a registration's money on its staff page: its payments, refunds and refund
requests (the ledger, app/payments/models.py), each list one query with what its rows show.

Nothing here writes: money moves only through app/payments/service.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.booking.models import Registration
from app.extensions import db
from app.payments.models import Payment, PaymentOrder, Refund, RefundRequest, RefundStatus
from app.payments.queries import bank_order_of
from app.payments.refunds import settled_by_staff
from app.roster.payment_state import PaymentState, state_of


@dataclass
class OpenRefund:
    """A refund decided and not yet done: waiting for the provider, for staff to send it back
    (a transfer's), or refused by the provider for good (FAILED: staff send it by hand)."""

    request: RefundRequest
    by_staff: bool  # staff send it back and record it (payments.refunds.settled_by_staff)


@dataclass
class RegistrationMoney:
    state: PaymentState
    payments: list[Payment]
    refunds: list[Refund]
    open_refunds: list[OpenRefund]
    bank_order: PaymentOrder | None  # the transfer's reference, if its person chose 对公转账
    refund_numbers: dict[int, str] = field(default_factory=dict)  # request id -> our out_refund_no

    @property
    def refundable(self) -> Decimal:
        """What staff may still give back (paid, less what is refunded or promised back)."""
        return self.state.net_paid

    @property
    def has_money(self) -> bool:
        return bool(self.payments or self.open_refunds or self.state.amount_due is not None)


def registration_money(registration: Registration) -> RegistrationMoney:
    payments = list(db.session.scalars(
        select(Payment).where(Payment.registration_id == registration.id)
        .options(joinedload(Payment.order), joinedload(Payment.recorded_by))
        .order_by(Payment.paid_at, Payment.id)))
    requests = list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.registration_id == registration.id)
        .options(joinedload(RefundRequest.payment))
        .order_by(RefundRequest.created_at, RefundRequest.id)))
    refunds = list(db.session.scalars(
        select(Refund).where(Refund.registration_id == registration.id)
        .order_by(Refund.refunded_at, Refund.id)))
    bank_order = bank_order_of(registration.id)
    open_refunds = [OpenRefund(request, settled_by_staff(request)) for request in requests
                    if request.status is not RefundStatus.DONE]
    return RegistrationMoney(state_of(registration), payments, refunds, open_refunds, bank_order,
                             {request.id: request.out_refund_no for request in requests})
