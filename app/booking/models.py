"""A registration: one person's place (or place in the queue) in one camp session."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Numeric, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.catalog.models import CampSession
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    # A seat held while its person pays (a paid session's booking), until hold_expires_at.
    PENDING_PAYMENT = "pending_payment"
    # A seat freed for the head of the waitlist, held while they decide and pay, until hold_expires_at.
    OFFERED = "offered"
    # A hold or an offer that ran out unpaid: its seat went back (to the next person waiting).
    EXPIRED = "expired"
    # 报名审核 (a session that requires approval): an application, which takes no seat and is not on
    # the waiting list until staff approve it (app/booking/review.py); then it becomes a booking.
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"  # staff said no (review_message says why, if they wrote it)
    WITHDRAWN = "withdrawn"  # its applicant took it back while it was pending

    @property
    def label(self) -> str:
        """The status as every page, export and history line names it."""
        from flask_babel import gettext as _

        return {RegistrationStatus.CONFIRMED: _("已确认"), RegistrationStatus.WAITLISTED: _("候补"),
                RegistrationStatus.CANCELLED: _("已取消"), RegistrationStatus.PENDING_PAYMENT: _("待支付"),
                RegistrationStatus.OFFERED: _("候补名额待支付"), RegistrationStatus.EXPIRED: _("已过期"),
                RegistrationStatus.PENDING_REVIEW: _("待审核"), RegistrationStatus.REJECTED: _("未通过"),
                RegistrationStatus.WITHDRAWN: _("已撤回")}[self]

    @property
    def holds_seat(self) -> bool:
        """Counted in the session's seats_taken: confirmed, or held while its person pays."""
        return self in SEAT_STATUSES

    @property
    def is_hold(self) -> bool:
        """A seat held for a payment, which ends at hold_expires_at unless paid."""
        return self in HOLD_STATUSES


def waitlist_place_label(position: int) -> str:
    """候补第 N 位: a waiting person's place in the queue now (1 = next to get a seat), counted
    among those still waiting; never `waitlist_number`, the ticket they drew when they joined,
    which stays put while people ahead leave. Every page, email and history line says it this way."""
    from flask_babel import gettext as _

    return _("候补第 %(n)s 位", n=position)


def registration_state(status, session_id, waitlist_position=None) -> dict:
    """A registration's state as its audit entries keep it (values, or SQL in the booking statement).
    A waiting one's place in the queue at that moment too (`waitlist_position`, what the history
    shows as 候补第 N 位; the drawn `waitlist_number` is not a place, and the place cannot be worked
    out later, so the place is what is kept; null when not waiting)."""
    return {"status": status, "session_id": session_id, "waitlist_position": waitlist_position}


HOLD_STATUSES = (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.OFFERED)
SEAT_STATUSES = (RegistrationStatus.CONFIRMED, *HOLD_STATUSES)
# A person has at most one of these per session (their seat, their hold or their place in the queue).
ACTIVE_STATUSES = (*SEAT_STATUSES, RegistrationStatus.WAITLISTED)
# ... or, instead, their application waiting for review: one of these per person and session (the
# partial unique index), so a second booking while the application is pending returns it.
OPEN_STATUSES = (*ACTIVE_STATUSES, RegistrationStatus.PENDING_REVIEW)
_OPEN_SQL = "status IN ('confirmed', 'pending_payment', 'offered', 'waitlisted', 'pending_review')"
_HOLD_SQL = "status IN ('pending_payment', 'offered')"


class GroupBooking(db.Model):
    """团体报名: one person (the booker, who may or may not attend) booked several seats of a session
    at once, all or none, for named attendees. Each attendee has their own registration (and
    ticket), linked here; the booker pays once for the group and may replace an attendee (换人).
    Written only by app/booking/groups.py."""

    __tablename__ = "group_bookings"
    __table_args__ = (CheckConstraint("size >= 2", name="group_size_at_least_two"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"), index=True)
    booker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    size: Mapped[int]  # attendees named when booked (some may have cancelled since)
    source: Mapped[str] = mapped_column(String(40), default="web", server_default="web")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    session: Mapped[CampSession] = relationship()
    booker: Mapped[User] = relationship()
    registrations: Mapped[list[Registration]] = relationship(back_populates="group", order_by="Registration.id")


class Registration(db.Model):
    """Written only by app/booking/service.py, groups.py and review.py (and reminders.py, which
    marks reminded_at)."""

    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per person and session, even under double clicks and parallel
        # requests: a partial unique index (PostgreSQL and SQLite both have them).
        Index(
            "uq_registrations_active_user_session",
            "session_id",
            "user_id",
            unique=True,
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
        # Waitlist numbers are unique per session; NULL (not waiting) does not collide.
        Index("uq_registrations_session_waitlist_number", "session_id", "waitlist_number", unique=True),
        CheckConstraint(
            "(status = 'waitlisted') = (waitlist_number IS NOT NULL)", name="waitlist_number_iff_waitlisted"
        ),
        Index("ix_registrations_session_status", "session_id", "status"),
        # Partial: only a group's attendees have a group, and a booking of one's own (every booking
        # of a rush) should not write an index it never appears in. `group_id = ?` uses it.
        Index("ix_registrations_group_id", "group_id", postgresql_where=text("group_id IS NOT NULL"),
              sqlite_where=text("group_id IS NOT NULL")),
        # A hold always has its end; an ended one keeps it (when it ran out).
        CheckConstraint(f"NOT ({_HOLD_SQL}) OR hold_expires_at IS NOT NULL", name="hold_has_end"),
        # Money the database guards: never negative, never more refunded than paid.
        CheckConstraint("amount_due IS NULL OR amount_due >= 0", name="amount_due_not_negative"),
        CheckConstraint("amount_paid >= 0 AND amount_refunded >= 0 AND amount_refunded <= amount_paid",
                        name="refunds_within_paid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(
        Enum(RegistrationStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s],
             create_constraint=True, name="registration_status"),
    )
    # The session's waitlist ticket while waitlisted (1, 2, 3 ... in order of arrival).
    waitlist_number: Mapped[int | None]
    # What the student shows at the door (QR code or typed): 10 characters from an alphabet without
    # look-alikes (0/O, 1/I/L), about 49 bits, so guessing one is hopeless.
    ticket_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # Where the booking came from: "web", "api", "staff", or "article:<id>" for attribution.
    source: Mapped[str] = mapped_column(String(40), default="web", server_default="web", index=True)
    # Indexed for the admin dashboard's registrations-per-day chart, a range of days: without it every
    # registration of the site is read, however few days are shown.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now(), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Paid sessions. The price when the seat was held or offered (a later price change does not
    # change what this person owes); None for a free session's registration.
    amount_due: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # Held or offered until then (a pending_payment or offered registration); an expired one keeps it.
    hold_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The sums of this registration's payments and refunds (app/payments: its ledger rows, never
    # edited, are the record; these move with them in the same transaction so the CHECK above
    # can refuse a refund beyond what was paid).
    amount_paid: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"), server_default="0")
    amount_refunded: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"), server_default="0")
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the reminder before the session was queued (reminders.py): set once, in the transaction
    # that queues it, so it goes once whoever runs the worker; cleared by a move to another session.
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # 报名审核: who decided this application, when, and what they told the applicant (emailed, and
    # shown on 我的报名); all None for a booking of a session without review.
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_message: Mapped[str | None] = mapped_column(Text)
    # 团体报名: the group this attendee was booked in (by its booker), None for a booking of one's own.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("group_bookings.id", ondelete="SET NULL"))
    # The name the group's booker typed for this attendee: what the booker is shown (the account a
    # phone number found may have another name, and a booker must not learn it by typing a number).
    attendee_name: Mapped[str | None] = mapped_column(String(60))

    session: Mapped[CampSession] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    group: Mapped[GroupBooking | None] = relationship(back_populates="registrations")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def name_for_booker(self) -> str:
        """The attendee as their group's booker knows them (what they typed), on the booker's pages,
        emails and API answers; the account's own name is for the person and staff."""
        return self.attendee_name or self.user.display_name

    def is_booked_by(self, user: User) -> bool:
        """`user` booked this registration for its person as part of their group (团体报名): they
        act for it (cancel, 换人, pay) as its person may."""
        return self.group_id is not None and self.group.booker_id == user.id

    @property
    def amount_kept(self) -> Decimal:
        """The money the organisation keeps for this registration: paid less refunded (a payment
        of the wrong amount, given back, does not count)."""
        return self.amount_paid - self.amount_refunded

    @property
    def amount_outstanding(self) -> Decimal:
        """What this person still has to pay for a held seat (0 when nothing is due): what an order
        asks for, and what a payment must make up for the seat to be confirmed
        (booking.service.confirm_paid_hold: amount_kept == amount_due)."""
        if not self.status.is_hold or self.amount_due is None:
            return Decimal("0")
        return max(self.amount_due - self.amount_kept, Decimal("0"))
