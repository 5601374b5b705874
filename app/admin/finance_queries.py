"""Read queries for the finance page and its export: the ledger (payments and refunds,
app/payments/models.py) between two Shanghai days, its totals, and the refunds still to be done;
and the dashboard's money: revenue per day and per session, seats held for a payment.

Nothing here writes. A payment counts on the day the provider (or the bank statement) says it was
paid (`paid_at`), a refund on the day its money went back (`refunded_at`): the days a provider's
statement lists them on, so that a day's figures here and there can be compared. Refunds decided
but not yet sent (RefundRequest pending or failed) are not in the ledger: they are listed apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Numeric, Select, case, func, literal, select, union_all
from sqlalchemy.orm import aliased, joinedload

from app.accounts.models import User
from app.admin.dashboard_queries import local_day
from app.booking.models import HOLD_STATUSES, Registration
from app.catalog.models import CampSession, Course
from app.common.time import site_zone
from app.extensions import db
from app.payments.models import Payment, PaymentOrder, PaymentProvider, Refund, RefundRequest, RefundStatus

ZERO = Decimal("0.00")
# The other kind's amount in a union of payments and refunds: typed as the ledger's, so the sums
# come back as the ledger's amounts do.
NO_MONEY = literal(ZERO, Numeric(10, 2))
# Refund requests that still need something: the provider to send them, or staff (a transfer's, or
# one the provider refused for good).
OPEN_REFUND_STATUSES = (RefundStatus.PENDING, RefundStatus.FAILED)


@dataclass(frozen=True)
class LedgerRange:
    """From the first to the last Shanghai day, both included; one provider's, or all (None)."""

    first: date
    last: date
    provider: PaymentProvider | None = None

    def utc_bounds(self) -> tuple[datetime, datetime]:
        zone = site_zone()
        start = datetime.combine(self.first, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
        return start, end


@dataclass
class ProviderTotals:
    payments: int = 0
    paid: Decimal = ZERO
    refunds: int = 0
    refunded: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded

    def add(self, amount: Decimal, refund: bool = False, count: int = 1) -> None:
        if refund:
            self.refunds, self.refunded = self.refunds + count, self.refunded + amount
        else:
            self.payments, self.paid = self.payments + count, self.paid + amount


@dataclass
class LedgerTotals:
    by_provider: dict[PaymentProvider, ProviderTotals] = field(default_factory=dict)

    @property
    def all(self) -> ProviderTotals:
        total = ProviderTotals()
        for part in self.by_provider.values():
            total.add(part.paid, count=part.payments)
            total.add(part.refunded, refund=True, count=part.refunds)
        return total


def _in_range(column, ledger_range: LedgerRange) -> list:
    """The rows of the range (`column`: when the money moved) and of its provider, if it has one."""
    start, end = ledger_range.utc_bounds()
    conditions = [column >= start, column < end]
    if ledger_range.provider is not None:
        conditions.append(Payment.provider == ledger_range.provider)
    return conditions


def ledger_totals(ledger_range: LedgerRange) -> LedgerTotals:
    """Payments and refunds of the range, counted and summed per provider, in one statement."""
    payments = (select(literal("payment").label("kind"), Payment.provider.label("provider"),
                       Payment.amount.label("amount"))
                .where(*_in_range(Payment.paid_at, ledger_range)))
    refunds = (select(literal("refund").label("kind"), Payment.provider.label("provider"),
                      Refund.amount.label("amount"))
               .join(Payment, Payment.id == Refund.payment_id)
               .where(*_in_range(Refund.refunded_at, ledger_range)))
    ledger = union_all(payments, refunds).subquery()
    rows = db.session.execute(
        select(ledger.c.kind, ledger.c.provider, func.count(), func.sum(ledger.c.amount))
        .group_by(ledger.c.kind, ledger.c.provider))
    totals = LedgerTotals({provider: ProviderTotals() for provider in PaymentProvider
                           if ledger_range.provider in (None, provider)})
    for kind, provider, count, amount in rows:
        part = totals.by_provider[PaymentProvider(provider)]
        if kind == "payment":
            part.payments, part.paid = count, _money(amount)
        else:
            part.refunds, part.refunded = count, _money(amount)
    return totals


def _money(value) -> Decimal:
    """A sum as the database gives it (Decimal; SQLite's float sums are rounded to the fen by the
    column's type) as exact yuan."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- the ledger's rows, for the page and the export ------------------------------------------------

Recorder = aliased(User, name="recorder")
Payer = aliased(User, name="payer")


def _with_person_and_session(query: Select, registration_id, recorded_by_id) -> Select:
    """A ledger query joined to what its rows name: the registration (`registration_id`), its
    person (Payer), session and course, and who recorded the row (Recorder, `recorded_by_id`)."""
    return (query
            .join(Registration, Registration.id == registration_id)
            .join(Payer, Payer.id == Registration.user_id)
            .join(CampSession, CampSession.id == Registration.session_id)
            .join(Course, Course.id == CampSession.course_id)
            .outerjoin(Recorder, Recorder.id == recorded_by_id))


def payment_rows(ledger_range: LedgerRange) -> Select:
    """The range's payments with what a reconciliation needs beside them: our order number, the
    registration, its person and session, who recorded it (a transfer). Unordered."""
    query = (
        select(Payment.id, Payment.paid_at.label("at"), Payment.provider, Payment.amount, Payment.transaction_id,
               PaymentOrder.out_trade_no, literal("").label("out_refund_no"),
               literal("").label("provider_refund_id"), Payment.registration_id, Payer.name.label("name"),
               Payer.phone.label("phone"), Course.title.label("course"), CampSession.label.label("session_label"),
               CampSession.starts_at, Recorder.name.label("recorded_by"), Payment.note.label("note"))
        .outerjoin(PaymentOrder, PaymentOrder.id == Payment.order_id)
        .where(*_in_range(Payment.paid_at, ledger_range))
    )
    return _with_person_and_session(query, Payment.registration_id, Payment.recorded_by_id)


def refund_rows(ledger_range: LedgerRange) -> Select:
    """The range's refunds, as payment_rows: the payment they came from (its transaction id and our
    order number, what a provider's refund statement names), our refund number and theirs."""
    query = (
        select(Refund.id, Refund.refunded_at.label("at"), Payment.provider, Refund.amount, Payment.transaction_id,
               PaymentOrder.out_trade_no, RefundRequest.out_refund_no, Refund.provider_refund_id,
               Refund.registration_id, Payer.name.label("name"), Payer.phone.label("phone"),
               Course.title.label("course"), CampSession.label.label("session_label"), CampSession.starts_at,
               Recorder.name.label("recorded_by"), Refund.reason.label("note"))
        .join(Payment, Payment.id == Refund.payment_id)
        .join(RefundRequest, RefundRequest.id == Refund.request_id)
        .outerjoin(PaymentOrder, PaymentOrder.id == Payment.order_id)
        .where(*_in_range(Refund.refunded_at, ledger_range))
    )
    return _with_person_and_session(query, Refund.registration_id, Refund.recorded_by_id)


def latest_payments(ledger_range: LedgerRange, limit: int) -> list:
    return list(db.session.execute(
        payment_rows(ledger_range).order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(limit)))


def latest_refunds(ledger_range: LedgerRange, limit: int) -> list:
    return list(db.session.execute(
        refund_rows(ledger_range).order_by(Refund.refunded_at.desc(), Refund.id.desc()).limit(limit)))


# --- refunds still to be done ------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenRefundTotals:
    pending: int
    pending_amount: Decimal
    failed: int
    failed_amount: Decimal

    @property
    def count(self) -> int:
        return self.pending + self.failed

    @property
    def amount(self) -> Decimal:
        return self.pending_amount + self.failed_amount


def open_refund_totals() -> OpenRefundTotals:
    rows = dict((status, (count, _money(amount))) for status, count, amount in db.session.execute(
        select(RefundRequest.status, func.count(), func.sum(RefundRequest.amount))
        .where(RefundRequest.status.in_(OPEN_REFUND_STATUSES)).group_by(RefundRequest.status)))
    pending, failed = rows.get(RefundStatus.PENDING, (0, ZERO)), rows.get(RefundStatus.FAILED, (0, ZERO))
    return OpenRefundTotals(pending[0], pending[1], failed[0], failed[1])


def open_refunds(limit: int) -> list[RefundRequest]:
    """Refunds decided and not done, the ones the provider refused for good first (staff must send
    them by hand), then oldest first: with their payment, registration, person, session and course."""
    failed_first = RefundRequest.status != RefundStatus.FAILED
    return list(db.session.scalars(
        select(RefundRequest).where(RefundRequest.status.in_(OPEN_REFUND_STATUSES))
        .options(joinedload(RefundRequest.payment),
                 joinedload(RefundRequest.registration).joinedload(Registration.user),
                 joinedload(RefundRequest.registration).joinedload(Registration.session)
                 .joinedload(CampSession.course))
        .order_by(failed_first, RefundRequest.created_at, RefundRequest.id)
        .limit(limit)))


# --- the dashboard's money ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DayRevenue:
    day: date  # in Shanghai
    paid: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded


def revenue_per_day(today: date, days: int) -> list[DayRevenue]:
    """Money received and given back on each of the `days` Shanghai days ending `today`, oldest
    first, 0 for a day without any: one statement (both kinds grouped by their local day)."""
    first_day = today - timedelta(days=days - 1)
    chosen = LedgerRange(first_day, today)
    start, _end = chosen.utc_bounds()
    dialect, offset = db.engine.dialect.name, site_zone().utcoffset(start)
    payments = select(local_day(Payment.paid_at, dialect, offset).label("day"), Payment.amount.label("paid"),
                      NO_MONEY.label("refunded")).where(*_in_range(Payment.paid_at, chosen))
    refunds = select(local_day(Refund.refunded_at, dialect, offset).label("day"), NO_MONEY.label("paid"),
                     Refund.amount.label("refunded")).where(*_in_range(Refund.refunded_at, chosen))
    ledger = union_all(payments, refunds).subquery()
    sums: dict[date, tuple[Decimal, Decimal]] = {}
    for day, paid, refunded in db.session.execute(
            select(ledger.c.day, func.sum(ledger.c.paid), func.sum(ledger.c.refunded)).group_by(ledger.c.day)):
        # SQLite's date() answers text, PostgreSQL a date.
        sums[date.fromisoformat(day) if isinstance(day, str) else day] = (_money(paid), _money(refunded))
    return [DayRevenue(first_day + timedelta(days=n), *sums.get(first_day + timedelta(days=n), (ZERO, ZERO)))
            for n in range(days)]


@dataclass(frozen=True)
class SessionRevenue:
    camp: CampSession
    paid: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded


def revenue_per_session() -> list[SessionRevenue]:
    """Every session that has taken money, with what it received and gave back (ever), latest
    start first: one statement, its course loaded with it."""
    payments = (select(Registration.session_id.label("session_id"), Payment.amount.label("paid"),
                       NO_MONEY.label("refunded"))
                .join(Registration, Registration.id == Payment.registration_id))
    refunds = (select(Registration.session_id.label("session_id"), NO_MONEY.label("paid"),
                      Refund.amount.label("refunded"))
               .join(Registration, Registration.id == Refund.registration_id))
    ledger = union_all(payments, refunds).subquery()
    sums = (select(ledger.c.session_id, func.sum(ledger.c.paid).label("paid"),
                   func.sum(ledger.c.refunded).label("refunded"))
            .group_by(ledger.c.session_id).subquery())
    rows = db.session.execute(
        select(CampSession, sums.c.paid, sums.c.refunded)
        .join(sums, sums.c.session_id == CampSession.id)
        .options(joinedload(CampSession.course))
        .order_by(CampSession.starts_at.desc(), CampSession.id.desc()))
    return [SessionRevenue(camp, _money(paid), _money(refunded)) for camp, paid, refunded in rows]


@dataclass(frozen=True)
class MoneyOutstanding:
    holds: int  # seats held for a payment (pending_payment and offered)
    held_amount: Decimal  # what they must still pay to keep their seats
    refunds: OpenRefundTotals


def money_outstanding() -> MoneyOutstanding:
    """Seats held for a payment and what they owe; refunds decided and not yet done: one statement
    of scalar subqueries."""
    holding = Registration.status.in_(HOLD_STATUSES)
    # Registration.amount_outstanding in SQL: due less what is kept (paid less refunded), never
    # below 0.
    kept = Registration.amount_paid - Registration.amount_refunded
    owed = case((Registration.amount_due > kept, Registration.amount_due - kept), else_=0)

    def refunds(status: RefundStatus):
        where = RefundRequest.status == status
        return (select(func.count()).select_from(RefundRequest).where(where).scalar_subquery(),
                select(func.sum(RefundRequest.amount)).where(where).scalar_subquery())

    row = db.session.execute(select(
        select(func.count()).select_from(Registration).where(holding).scalar_subquery(),
        select(func.sum(owed)).where(holding).scalar_subquery(),
        *refunds(RefundStatus.PENDING), *refunds(RefundStatus.FAILED))).one()
    holds, held, pending, pending_amount, failed, failed_amount = row
    return MoneyOutstanding(holds, _money(held), OpenRefundTotals(pending, _money(pending_amount), failed,
                                                                  _money(failed_amount)))
