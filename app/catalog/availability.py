"""Can this session be booked now, and if not, why: the one rule, in Python and in SQL side by side.

`booking_refusal(camp, now)` is the rule: None when a student may book, else the reason. A full
session is not refused: booking it takes a place on the waitlist (`Availability.waitlist`).
`bookable_clause(now)` is the same rule as a WHERE clause, for the booking statement
(app/booking/statements.py), which decides and writes in one statement under the session's lock.
Change them together: tests/test_catalog_availability.py checks, on SQLite and PostgreSQL, that
they agree on a table of cases, boundaries included.

Pages, the API and the booking service all ask here: templates show the reason they are given
(`session_availability`, a template global) and never re-derive it; the booking service maps each
refusal to its domain error (app/booking/service.py: _REFUSAL_ERRORS).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, or_

from app.catalog.models import CampSession, Course

sessions, courses = CampSession.__table__, Course.__table__


class BookingRefusal(enum.Enum):
    """Why a session cannot be booked now, in the order they are checked (the first that holds is
    the reason). There is no cancelled state for a session: staff unpublish it."""

    NOT_PUBLISHED = "not_published"  # the session or its course is a draft
    ENDED = "ended"
    STARTED = "started"
    NOT_OPEN_YET = "not_open_yet"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """The short words of a badge (catalogue, booking cards)."""
        return _LABELS[self]

    @property
    def message(self) -> str:
        """The sentence the booking page and the API's refusal_reason show, and the domain error's message."""
        return _MESSAGES[self]


_LABELS = {
    BookingRefusal.NOT_PUBLISHED: _l("未开放报名"),
    BookingRefusal.ENDED: _l("已结束"),
    BookingRefusal.STARTED: _l("已开课"),
    BookingRefusal.NOT_OPEN_YET: _l("报名未开始"),
    BookingRefusal.CLOSED: _l("报名已截止"),
}
_MESSAGES = {
    BookingRefusal.NOT_PUBLISHED: _l("该场次尚未开放报名"),
    BookingRefusal.ENDED: _l("该场次已开课或已结束，无法报名"),
    BookingRefusal.STARTED: _l("该场次已开课或已结束，无法报名"),
    BookingRefusal.NOT_OPEN_YET: _l("报名尚未开始，请稍后再来"),
    BookingRefusal.CLOSED: _l("报名已截止"),
}


def booking_refusal(camp: CampSession, now: datetime) -> BookingRefusal | None:
    """Why `camp` cannot be booked at `now`, or None if it can (full or not).
    bookable_clause below is the same rule in SQL."""
    if not (camp.is_published and camp.course.is_published):
        return BookingRefusal.NOT_PUBLISHED
    if now >= camp.ends_at:
        return BookingRefusal.ENDED
    if now >= camp.starts_at:
        return BookingRefusal.STARTED
    if camp.registration_opens_at is not None and now < camp.registration_opens_at:
        return BookingRefusal.NOT_OPEN_YET
    if camp.registration_closes_at is not None and now >= camp.registration_closes_at:
        return BookingRefusal.CLOSED
    return None


def bookable_clause(now, sessions=sessions) -> ColumnElement[bool]:
    """booking_refusal(camp, now) is None, as a WHERE clause on camp_sessions (`now`: a value or a
    bound parameter; `sessions`: the table, or the alias a statement names it by). Written on the
    tables, not the ORM classes, so that the booking statement's text stays short (psycopg caches
    the parsing of statements up to 4 kB only).
    ends_at needs no test: the CHECK ends_at > starts_at makes ENDED a case of STARTED here."""
    return and_(
        sessions.c.is_published.is_(True),
        sessions.c.starts_at > now,
        or_(sessions.c.registration_opens_at.is_(None), sessions.c.registration_opens_at <= now),
        or_(sessions.c.registration_closes_at.is_(None), sessions.c.registration_closes_at > now),
        exists().where(courses.c.id == sessions.c.course_id, courses.c.is_published.is_(True)),
    )


@dataclass(frozen=True)
class Availability:
    """What a session offers a student at a moment, for the pages: a refusal, or a booking (a seat,
    or a place on the waitlist when it is full)."""

    refusal: BookingRefusal | None
    waitlist: bool  # bookable but full: a booking joins the waitlist
    opens_at: datetime | None  # when registration opens, if that is the refusal
    group_booking: bool = False  # bookable, and takes 团体报名 (CampSession.takes_group_bookings)

    @property
    def bookable(self) -> bool:
        return self.refusal is None

    @property
    def action_label(self) -> str | None:
        """The booking button's words: 立即预约, 加入候补 when full; None when refused."""
        if self.refusal is not None:
            return None
        return str(_l("加入候补")) if self.waitlist else str(_l("立即预约"))


def session_availability(camp: CampSession, now: datetime) -> Availability:
    refusal = booking_refusal(camp, now)
    return Availability(
        refusal=refusal,
        waitlist=refusal is None and camp.is_full,
        opens_at=camp.registration_opens_at if refusal is BookingRefusal.NOT_OPEN_YET else None,
        group_booking=refusal is None and camp.takes_group_bookings,
    )
