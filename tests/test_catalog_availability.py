"""“Can this session be booked now, and if not why” is one rule with two forms side by side
(app/catalog/availability.py): the Python predicate the pages, the API and the booking service's
explanations ask, and the SQL clause the booking statement decides with. On the database the
suite runs on (SQLite, and PostgreSQL with TEST_DATABASE_URL), they must agree on every case,
boundaries included, or a booking would be refused with no reason, or explained as refused yet
written."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select, update

from app.accounts.models import User
from app.booking import service as booking
from app.booking.errors import RegistrationEnded, RegistrationNotOpenYet, SessionAlreadyStarted, SessionNotPublished
from app.booking.models import RegistrationStatus
from app.catalog.availability import BookingRefusal, bookable_clause, booking_refusal, session_availability
from app.catalog.models import CampSession
from app.common.db import begin_write
from app.common.time import UtcDateTime
from app.extensions import db
from tests.conftest import make_user
from tests.factories import make_course, make_session

# Microseconds on purpose: a database that dropped them would move the boundaries.
NOW = datetime(2027, 8, 1, 4, 0, 0, 250_000, tzinfo=UTC)
TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)

# name: (session fields, course published, seats taken of 2, the refusal at NOW or None)
OPEN_WINDOW = {"registration_opens_at": NOW - 30 * DAY, "registration_closes_at": NOW + 10 * DAY}
STARTS_LATER = {"starts_at": NOW + 20 * DAY, "ends_at": NOW + 22 * DAY}
CASES = {
    "open": ({**STARTS_LATER, **OPEN_WINDOW}, True, 0, None),
    "open, no window set": ({**STARTS_LATER, "registration_opens_at": None, "registration_closes_at": None},
                            True, 0, None),
    "one seat left": ({**STARTS_LATER, **OPEN_WINDOW}, True, 1, None),
    "full: bookable, onto the waitlist": ({**STARTS_LATER, **OPEN_WINDOW}, True, 2, None),
    "draft session": ({**STARTS_LATER, **OPEN_WINDOW, "is_published": False}, True, 0, BookingRefusal.NOT_PUBLISHED),
    "draft course": ({**STARTS_LATER, **OPEN_WINDOW}, False, 0, BookingRefusal.NOT_PUBLISHED),
    "draft course, not open yet": ({**STARTS_LATER, "registration_opens_at": NOW + DAY}, False, 0,
                                   BookingRefusal.NOT_PUBLISHED),
    "not open yet": ({**STARTS_LATER, "registration_opens_at": NOW + DAY}, True, 0, BookingRefusal.NOT_OPEN_YET),
    "opens a microsecond later": ({**STARTS_LATER, "registration_opens_at": NOW + TICK}, True, 0,
                                  BookingRefusal.NOT_OPEN_YET),
    "opens exactly now": ({**STARTS_LATER, "registration_opens_at": NOW}, True, 0, None),
    "closes a microsecond later": ({**STARTS_LATER, "registration_closes_at": NOW + TICK}, True, 0, None),
    "closes exactly now": ({**STARTS_LATER, "registration_closes_at": NOW}, True, 0, BookingRefusal.CLOSED),
    "closed": ({**STARTS_LATER, **OPEN_WINDOW, "registration_closes_at": NOW - DAY}, True, 0, BookingRefusal.CLOSED),
    "closed and full": ({**STARTS_LATER, "registration_closes_at": NOW - DAY}, True, 2, BookingRefusal.CLOSED),
    "starts a microsecond later": ({"starts_at": NOW + TICK, "ends_at": NOW + DAY}, True, 0, None),
    "starts exactly now": ({"starts_at": NOW, "ends_at": NOW + DAY}, True, 0, BookingRefusal.STARTED),
    "started, window still open": ({"starts_at": NOW - DAY, "ends_at": NOW + DAY, **OPEN_WINDOW}, True, 0,
                                   BookingRefusal.STARTED),
    "ends exactly now": ({"starts_at": NOW - DAY, "ends_at": NOW}, True, 0, BookingRefusal.ENDED),
    "finished": ({"starts_at": NOW - 30 * DAY, "ends_at": NOW - 28 * DAY}, True, 0, BookingRefusal.ENDED),
    "finished draft": ({"starts_at": NOW - 30 * DAY, "ends_at": NOW - 28 * DAY, "is_published": False}, True, 0,
                       BookingRefusal.NOT_PUBLISHED),
}
# What the booking service raises for each refusal (its domain errors, whose codes the API answers).
ERRORS = {
    BookingRefusal.NOT_PUBLISHED: SessionNotPublished,
    BookingRefusal.ENDED: SessionAlreadyStarted,
    BookingRefusal.STARTED: SessionAlreadyStarted,
    BookingRefusal.NOT_OPEN_YET: RegistrationNotOpenYet,
    BookingRefusal.CLOSED: RegistrationEnded,
}


def _build_cases() -> dict[str, int]:
    """Every case as a session of capacity 2 (its own course when the course is a draft)."""
    published_course = make_course(title="直播带货𠮷䶮训练营", slug="zhibo")
    draft_course = make_course(title="草稿课程", slug="draft", published=False)
    ids = {}
    for name, (fields, course_published, _taken, _refusal) in CASES.items():
        fields = dict(fields)
        published = fields.pop("is_published", True)
        fields.setdefault("registration_opens_at", None)
        fields.setdefault("registration_closes_at", None)
        session_id = make_session(published_course if course_published else draft_course, capacity=2,
                                  published=published, label=name[:60], **fields)
        ids[name] = session_id
    begin_write()  # test data: seats as if booked, without bookings
    for name, (_fields, _published, taken, _refusal) in CASES.items():
        db.session.execute(update(CampSession).where(CampSession.id == ids[name]).values(seats_taken=taken))
    db.session.commit()
    return ids


def test_the_python_rule_and_its_sql_form_agree_on_every_case(ctx):
    ids = _build_cases()
    db.session.expire_all()

    by_python = {name: booking_refusal(db.session.get(CampSession, ids[name]), NOW) for name in CASES}
    clause = bookable_clause(bindparam("now", type_=UtcDateTime()))
    by_sql = set(db.session.scalars(select(CampSession.id).where(clause), {"now": NOW}))

    assert by_python == {name: case[3] for name, case in CASES.items()}  # the table itself
    assert {name for name in CASES if ids[name] in by_sql} == {name for name in CASES if by_python[name] is None}


def test_the_booking_statement_books_exactly_what_the_rule_allows_and_explains_the_rest(ctx, app):
    """Through the service the booking page calls: the statement's SQL decides, the Python rule
    explains. A disagreement would show as SessionChanging (SQL refuses what Python allows) or as a
    booking of a session Python refuses."""
    ids = _build_cases()
    user_id = make_user(app, "booker@example.com", name="王喆", phone="13800000077")
    for name, (_fields, _published, taken, refusal) in CASES.items():
        user = db.session.get(User, user_id)
        if refusal is None:
            outcome = booking.book_seat(user, ids[name], now=NOW)
            expected = RegistrationStatus.WAITLISTED if taken == 2 else RegistrationStatus.CONFIRMED
            assert outcome.created and outcome.registration.status is expected, name
        else:
            with pytest.raises(ERRORS[refusal]) as refused:
                booking.book_seat(user, ids[name], now=NOW)
            assert str(refused.value.message) == str(refusal.message), name


def test_what_pages_are_given_a_refusal_or_a_booking_with_its_button(ctx):
    ids = _build_cases()
    db.session.expire_all()

    def offer(name):
        return session_availability(db.session.get(CampSession, ids[name]), NOW)

    assert (offer("open").bookable, offer("open").waitlist, offer("open").action_label) == (True, False, "立即预约")
    full = offer("full: bookable, onto the waitlist")
    assert (full.bookable, full.waitlist, full.action_label) == (True, True, "加入候补")
    closed_and_full = offer("closed and full")  # a refusal wins: no waitlist for a closed session
    assert (closed_and_full.refusal, closed_and_full.waitlist, closed_and_full.action_label) == (
        BookingRefusal.CLOSED, False, None)
    not_open = offer("not open yet")
    assert not_open.opens_at == NOW + DAY and offer("closed").opens_at is None  # 3月2日 09:00 开放报名
    assert [str(offer(name).refusal.label) for name in ("draft session", "finished", "started, window still open",
                                                        "closed")] == ["未开放报名", "已结束", "已开课", "报名已截止"]
