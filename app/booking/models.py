"""A registration: one person's place (or place in the queue) in one camp session."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.catalog.models import CampSession
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The status as every page, export and history line names it."""
        from flask_babel import gettext as _

        return {RegistrationStatus.CONFIRMED: _("已确认"), RegistrationStatus.WAITLISTED: _("候补"),
                RegistrationStatus.CANCELLED: _("已取消")}[self]


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


ACTIVE_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
_ACTIVE_SQL = "status IN ('confirmed', 'waitlisted')"


class Registration(db.Model):
    """Written only by app/booking/service.py."""

    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per person and session, even under double clicks and parallel
        # requests: a partial unique index (PostgreSQL and SQLite both have them).
        Index(
            "uq_registrations_active_user_session",
            "session_id",
            "user_id",
            unique=True,
            postgresql_where=text(_ACTIVE_SQL),
            sqlite_where=text(_ACTIVE_SQL),
        ),
        # Waitlist numbers are unique per session; NULL (not waiting) does not collide.
        Index("uq_registrations_session_waitlist_number", "session_id", "waitlist_number", unique=True),
        CheckConstraint(
            "(status = 'waitlisted') = (waitlist_number IS NOT NULL)", name="waitlist_number_iff_waitlisted"
        ),
        Index("ix_registrations_session_status", "session_id", "status"),
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

    session: Mapped[CampSession] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
