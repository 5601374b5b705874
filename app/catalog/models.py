"""Courses (what is taught) and their sessions (cohorts: when, where, how many seats)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.time import UtcDateTime, site_zone, utcnow
from app.extensions import db


class Course(db.Model):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("refund_partial_percent BETWEEN 0 AND 100", name="refund_percent_range"),
        CheckConstraint("refund_full_days IS NULL OR refund_full_days >= 0", name="refund_full_days_not_negative"),
        CheckConstraint("refund_partial_days IS NULL OR refund_partial_days >= 0",
                        name="refund_partial_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(120))  # 快速玩转小红书成长特训营
    platform: Mapped[str] = mapped_column(String(20), default="", server_default="")  # 小红书, 抖音 ...
    duration_label: Mapped[str] = mapped_column(String(20), default="", server_default="")  # 3天2夜
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    outcomes: Mapped[str] = mapped_column(Text, default="", server_default="")  # what you learn, one per line
    audience: Mapped[str] = mapped_column(Text, default="", server_default="")  # who it is for, one per line
    is_published: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
    # Certificates: hours of study printed on them, and the days a student must attend to earn one
    # (None: every day of the session).
    hours_of_study: Mapped[int] = mapped_column(default=24, server_default="24")
    min_attendance_days: Mapped[int | None]
    # Refund policy of its paid sessions, when a student cancels (app/payments/policy.py): everything
    # back until refund_full_days days before the start, refund_partial_percent % until
    # refund_partial_days days before, nothing after. None: that tier does not exist.
    refund_full_days: Mapped[int | None] = mapped_column(default=7, server_default="7")
    refund_partial_days: Mapped[int | None] = mapped_column(default=3, server_default="3")
    refund_partial_percent: Mapped[int] = mapped_column(default=50, server_default="50")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    sessions: Mapped[list[CampSession]] = relationship(
        back_populates="course", order_by="CampSession.starts_at", cascade="all, delete-orphan"
    )

    @property
    def outcome_lines(self) -> list[str]:
        return [line.strip() for line in self.outcomes.splitlines() if line.strip()]

    @property
    def audience_lines(self) -> list[str]:
        return [line.strip() for line in self.audience.splitlines() if line.strip()]


FEW_SEATS = 10  # see CampSession.few_seats_left


class CampSession(db.Model):
    """One cohort of a course. `seats_taken` is the number of seats confirmed or held for a payment.

    Only app/booking/service.py changes `seats_taken`, `waitlisted_count`, `waitlist_issued` and
    `capacity`; the check constraint makes the database itself refuse an overbooked session.
    """

    __tablename__ = "camp_sessions"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("waitlisted_count >= 0", name="waitlisted_count_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("payment_hold_seconds IS NULL OR payment_hold_seconds > 0", name="hold_seconds_positive"),
        CheckConstraint("max_group_size >= 1 AND max_group_size <= 50", name="max_group_size_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60), default="", server_default="")  # 第12期
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    city: Mapped[str] = mapped_column(String(40), default="", server_default="")
    venue: Mapped[str] = mapped_column(String(120), default="", server_default="")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Exact money: yuan with two decimals.
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    capacity: Mapped[int]
    seats_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    # Waitlist tickets handed out so far; each waitlisted registration keeps its number, so the
    # order of arrival is fixed by the database, not by clocks.
    waitlist_issued: Mapped[int] = mapped_column(default=0, server_default="0")
    # The people waiting now (registrations with status waitlisted), kept with seats_taken under the
    # session's lock: a new waitlisted booking's place in the queue is this count after it.
    waitlisted_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Certificate numbers handed out so far: the last part of each serial, unique per session.
    certificates_issued: Mapped[int] = mapped_column(default=0, server_default="0")
    registration_opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Students may cancel until then (staff always can).
    cancellation_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_published: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    # Paid sessions (price > 0): how long a booking holds its seat while the student pays; None:
    # the site's PAYMENT_HOLD_SECONDS.
    payment_hold_seconds: Mapped[int | None]
    # No hold or offer of this session runs past this moment unnoticed: it is at most the earliest
    # end of the session's holds (None: no holds). A booking of the session at or after it first
    # releases the lapsed holds (booking service), so a hold past its time never blocks a seat,
    # whether or not a background worker has run. Kept by the booking service with seats_taken.
    # Not indexed: every booking's UPDATE of the counters writes it, and an index on it would be
    # written too (the sessions are few: the worker's look for lapsed ones reads them all).
    holds_lapse_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # 报名审核: a booking is an application (pending_review) that takes no seat until staff approve
    # it (app/booking/review.py); the booking statement books no seat here for a student.
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    # 团体报名: the most seats one booker may book at once for named attendees (app/booking/groups.py);
    # 1 turns group bookings off for the session.
    max_group_size: Mapped[int] = mapped_column(default=5, server_default="5")

    course: Mapped[Course] = relationship(back_populates="sessions")

    @property
    def is_paid(self) -> bool:
        """Booking holds the seat until it is paid (free sessions confirm at once)."""
        return self.price > 0

    @property
    def takes_group_bookings(self) -> bool:
        """团体报名 is offered: groups of 2 or more, and no 报名审核 (there each person applies)."""
        return self.max_group_size >= 2 and not self.requires_approval

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.seats_taken >= self.capacity

    @property
    def few_seats_left(self) -> bool:
        """Whether the pages may say 仅剩 N 席 ("only N left") rather than 剩余 N 席: seats have
        been taken (仅剩 says some are gone: an empty session never says it), and what is left is
        at most FEW_SEATS or a fifth of the session, whichever is larger. Ten is few whatever the
        size (the catalogue's old threshold); in a big session (200 seats) a fifth left means four
        fifths sold, which is what 仅剩 promises. Every badge (catalogue, booking page, article
        cards) asks this, so they always agree."""
        left = self.seats_left
        return 0 < left < self.capacity and left <= max(FEW_SEATS, self.capacity // 5)

    def local_dates(self) -> tuple[date, date]:
        """The first and last day, in the configured zone (a camp's days are the site's days)."""
        tz = site_zone()
        return self.starts_at.astimezone(tz).date(), self.ends_at.astimezone(tz).date()

    def can_student_cancel(self, now: datetime) -> bool:
        deadline = self.cancellation_deadline or self.starts_at
        return now < deadline
