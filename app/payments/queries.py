"""Reading the money of registrations: their orders, payments, refunds and refund requests."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.booking import service as booking
from app.booking.errors import RegistrationNotFound
from app.booking.models import Registration
from app.extensions import db
from app.payments.models import Payment, PaymentOrder, PaymentProvider, Refund, RefundRequest, RefundStatus


def registration_to_pay(registration_id: int, user: User, release_lapsed: bool = True) -> Registration:
    """One of this person's registrations, with its session and course (a 404 to anyone else); a
    hold past its time released first, unless `release_lapsed` is False (asking the provider
    whether it was paid in time comes first)."""
    registration = booking.registration_of(user.id, registration_id, release_lapsed)
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


def pending_refunds(limit: int = 50) -> list[RefundRequest]:
    return list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.status == RefundStatus.PENDING)
        .order_by(RefundRequest.created_at).limit(limit)
        .options(joinedload(RefundRequest.payment), joinedload(RefundRequest.registration))))


# --- 团体报名: money paid through a group's orders --------------------------------------------------

def _group_paid(*conditions) -> Decimal:
    paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))
                             .join(PaymentOrder, PaymentOrder.id == Payment.order_id)
                             .where(PaymentOrder.group_booking_id.is_not(None), *conditions))
    promised = db.session.scalar(select(func.coalesce(func.sum(RefundRequest.amount), 0))
                                 .join(Payment, Payment.id == RefundRequest.payment_id)
                                 .join(PaymentOrder, PaymentOrder.id == Payment.order_id)
                                 .where(PaymentOrder.group_booking_id.is_not(None),
                                        RefundRequest.status != RefundStatus.FAILED, *conditions))
    return Decimal(paid) - Decimal(promised)


def kept_through_group(group_id: int) -> Decimal:
    """What a group's booker paid through the group's orders and the organisation keeps (paid less
    refunded or promised back, as Registration.amount_kept counts it): what its 发票 is for."""
    return _group_paid(PaymentOrder.group_booking_id == group_id)


def kept_through_groups_of(registration_id: int) -> Decimal:
    """What of a registration's kept money came through a group's order (its booker's to invoice)."""
    return _group_paid(Payment.registration_id == registration_id)


def paid_through_group(group_id: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(Payment)
                             .join(PaymentOrder, PaymentOrder.id == Payment.order_id)
                             .where(PaymentOrder.group_booking_id == group_id)) > 0
