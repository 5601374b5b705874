"""The money of paid seats: the orders we open with a provider, and the ledger of payments and
refunds. Ledger rows are written once and never edited (a correction is a new row); the
registration's amount_paid / amount_refunded move with them in the same transaction, so the
database refuses a refund beyond what was paid (app/booking/models.py)."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Numeric, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class PaymentProvider(enum.StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    BANK = "bank"  # 对公转账: staff record the transfer they received

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {PaymentProvider.WECHAT: _("微信支付"), PaymentProvider.ALIPAY: _("支付宝"),
                PaymentProvider.BANK: _("对公转账")}[self]


def _enum(kind, name: str) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members],
                create_constraint=True, name=name)


class PaymentOrder(db.Model):
    """An order we opened with a provider for a registration's amount due (a WeChat prepay, an
    Alipay trade, a bank transfer's reference code): what a notification's out_trade_no names.
    A group's order (团体报名: the booker pays once for the group) names its group instead, and its
    lines say which registration each part of the amount pays for."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # For one registration or for one group, never both, never neither.
        CheckConstraint("(registration_id IS NULL) <> (group_booking_id IS NULL)", name="registration_or_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"),
                                                        index=True)
    group_booking_id: Mapped[int | None] = mapped_column(ForeignKey("group_bookings.id", ondelete="CASCADE"),
                                                         index=True)
    provider: Mapped[PaymentProvider] = mapped_column(_enum(PaymentProvider, "payment_order_provider"))
    # How the student pays: jsapi, native, h5 (WeChat); page, wap (Alipay); transfer (bank).
    channel: Mapped[str] = mapped_column(String(16))
    # Ours, unique, what the provider (or the transfer's 附言) echoes back: at most 32 of [0-9A-Za-z].
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    # A group's: the sum of its lines.
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    registration: Mapped[Registration | None] = relationship()
    group: Mapped[GroupBooking | None] = relationship()
    lines: Mapped[list[PaymentOrderLine]] = relationship(back_populates="order", order_by="PaymentOrderLine.id")


class PaymentOrderLine(db.Model):
    """A part of a group's order: what one attendee's held seat still owed when the order was
    opened. A payment of the order is recorded line by line, one Payment row per registration."""

    __tablename__ = "payment_order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "registration_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_orders.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))

    order: Mapped[PaymentOrder] = relationship(back_populates="lines")
    registration: Mapped[Registration] = relationship()


class Payment(db.Model):
    """Money received for a registration: one row per successful provider transaction and
    registration (a replayed notification finds its rows and changes nothing). A group's payment
    is one row per attendee it pays for, all with the provider's one transaction id."""

    __tablename__ = "payments"
    __table_args__ = (
        # One payment per provider transaction and registration: a replayed notification finds its rows.
        UniqueConstraint("provider", "transaction_id", "registration_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="RESTRICT"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("payment_orders.id", ondelete="RESTRICT"))
    provider: Mapped[PaymentProvider] = mapped_column(_enum(PaymentProvider, "payment_provider"))
    # The provider's transaction id (WeChat transaction_id, Alipay trade_no, the bank's reference).
    transaction_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)  # as the provider says
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    # Staff who recorded it (a bank transfer); None for a provider's notification.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")

    registration: Mapped[Registration] = relationship()
    order: Mapped[PaymentOrder | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # to be sent to the provider (the worker), or for a transfer, paid back by staff
    DONE = "done"  # the provider accepted it, or staff recorded the transfer back: its Refund row exists
    FAILED = "failed"  # the provider refused it for good (staff are told; they settle it by hand)


class RefundRequest(db.Model):
    """A refund decided (a cancellation under the refund policy, staff's decision, a payment that
    came too late): queued in the transaction that decided it, like an email in the outbox, and
    sent to the provider after the commit, so a provider that is down delays a refund but never
    loses it. Its amount is counted in the registration's amount_refunded from the start, so two
    decisions can never refund more than was paid. Done: a Refund row records the money back."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refund_requests_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="RESTRICT"), index=True)
    # Ours, unique: a retried request to the provider is the same refund, never a second one.
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus, "refund_status"), default=RefundStatus.PENDING,
                                                 server_default=RefundStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(String(500), default="", server_default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    # While a worker asks the provider (worker.send_refunds): the end of its lease, before which
    # nobody else sends it (a worker killed mid-call leaves it to the next one then); once the
    # provider has answered, that moment. A worker takes a refund by moving this from the value it
    # read, so two that read the same refund never both ask. None: never sent.
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime)

    payment: Mapped[Payment] = relationship()
    registration: Mapped[Registration] = relationship()


class Refund(db.Model):
    """Money returned from one payment, through the provider it came by (or by staff's transfer)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_refunded_at", "refunded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="RESTRICT"), index=True)
    # The request it settles: one Refund per request.
    request_id: Mapped[int] = mapped_column(ForeignKey("refund_requests.id", ondelete="RESTRICT"), unique=True)
    provider_refund_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    refunded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    payment: Mapped[Payment] = relationship()
    registration: Mapped[Registration] = relationship()
