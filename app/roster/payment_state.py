"""A registration's money as staff read it: 待支付 (with the amount and the hold's end), 候补名额待支付,
已支付, 部分退款, 已退款, 已过期. One rule, read by the roster's column, the registration page and
the exports' 支付状态; the roster's 待支付 / 已支付 / 已退款 filters are the same rule in SQL, kept
beside it (PAYMENT_FILTERS) and checked against it by a test on both databases.

Refunds count from the moment they are decided (Registration.amount_refunded moves with the refund
request, app/payments/service.py): 已退款 means decided, whether or not the money has left yet
(the registration page tells the two apart).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_

from app.booking.models import HOLD_STATUSES, Registration, RegistrationStatus

ZERO = Decimal("0")


class PaymentKind(enum.StrEnum):
    DUE = "due"  # a seat held while its person pays (pending_payment)
    OFFERED = "offered"  # a freed seat held for the head of the waiting list, unpaid
    PAID = "paid"
    PART_REFUNDED = "part_refunded"
    REFUNDED = "refunded"  # everything paid has been (or is being) given back
    EXPIRED = "expired"  # a hold or offer that ran out unpaid
    NONE = "none"  # a free registration, or one that never held money

    @property
    def label(self) -> str:
        return {PaymentKind.DUE: _("待支付"), PaymentKind.OFFERED: _("候补名额待支付"), PaymentKind.PAID: _("已支付"),
                PaymentKind.PART_REFUNDED: _("部分退款"), PaymentKind.REFUNDED: _("已退款"),
                PaymentKind.EXPIRED: _("已过期"), PaymentKind.NONE: ""}[self]


@dataclass(frozen=True)
class PaymentState:
    kind: PaymentKind
    amount_due: Decimal | None  # the price when the seat was held (None: a free registration)
    paid: Decimal
    refunded: Decimal
    hold_expires_at: datetime | None  # a hold's end (or, expired, when it ran out)

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def awaiting_payment(self) -> bool:
        return self.kind in (PaymentKind.DUE, PaymentKind.OFFERED)

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded


def payment_state(status: RegistrationStatus, amount_due: Decimal | None, amount_paid: Decimal | None,
                  amount_refunded: Decimal | None, hold_expires_at: datetime | None) -> PaymentState:
    """The state from a registration's columns (a Registration, or an export's row of them)."""
    paid, refunded = amount_paid or ZERO, amount_refunded or ZERO
    if status is RegistrationStatus.PENDING_PAYMENT:
        kind = PaymentKind.DUE
    elif status is RegistrationStatus.OFFERED:
        kind = PaymentKind.OFFERED
    elif paid > 0:
        kind = (PaymentKind.REFUNDED if refunded >= paid else PaymentKind.PART_REFUNDED if refunded > 0
                else PaymentKind.PAID)
    elif status is RegistrationStatus.EXPIRED:
        kind = PaymentKind.EXPIRED
    else:
        kind = PaymentKind.NONE
    return PaymentState(kind, amount_due, paid, refunded, hold_expires_at)


def state_of(registration: Registration) -> PaymentState:
    return payment_state(registration.status, registration.amount_due, registration.amount_paid,
                         registration.amount_refunded, registration.hold_expires_at)


# The roster's filters, in SQL, in the order of the rule above: 待支付 is a seat held for a payment
# (DUE or OFFERED), 已支付 money kept (PAID or PART_REFUNDED), 已退款 money given back
# (PART_REFUNDED or REFUNDED); a hold is 待支付 whatever it paid before (a wrong amount, given back).
PAYMENT_FILTERS = ("due", "paid", "refunded")


def payment_filter(name: str) -> ColumnElement[bool]:
    holding = Registration.status.in_(HOLD_STATUSES)
    if name == "due":
        return holding
    if name == "paid":
        return and_(~holding, Registration.amount_paid > Registration.amount_refunded)
    if name == "refunded":
        return and_(~holding, Registration.amount_refunded > 0)
    raise ValueError(name)


def kinds_of_filter(name: str) -> set[PaymentKind]:
    """The states a filter shows, in the words of the rule above (what the agreement test checks)."""
    return {"due": {PaymentKind.DUE, PaymentKind.OFFERED},
            "paid": {PaymentKind.PAID, PaymentKind.PART_REFUNDED},
            "refunded": {PaymentKind.PART_REFUNDED, PaymentKind.REFUNDED}}[name]


def transfer_would_confirm(state: PaymentState, amount) -> bool:
    """Whether money received now would confirm the seat: it is held for a payment and the amount is
    exactly what is due (booking.service.confirm_paid_hold's rule, which decides; asked first so that
    staff confirm on purpose before recording money that will be given back at once)."""
    return state.awaiting_payment and state.amount_due is not None and amount == state.amount_due
