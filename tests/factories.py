"""Rows made through the same services the pages use: users, courses, sessions, registrations.

make_course and make_session run in the caller's application context; make_user and book open
their own (and close it), so tests read back only what was committed.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.booking import service as booking
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db

PASSWORD = "secret-pass-1"


def make_user(app, email: str, role: Role = Role.STUDENT, name: str = "张三", phone: str | None = None) -> int:
    with app.test_request_context():
        user = accounts.register_user(email, PASSWORD, name, phone, role=role)
        user_id = user.id
        db.session.remove()
    return user_id


def make_course(title: str = "快速玩转小红书成长特训营", published: bool = True, **fields) -> int:
    course = catalog.create_course(
        title=title, platform=fields.pop("platform", "小红书"), duration_label=fields.pop("duration_label", "3天2夜"),
        is_published=published, **fields,
    )
    return course.id


def make_session(course_id: int | None = None, capacity: int = 10, published: bool = True,
                 starts_in_days: int = 30, days: int = 3, price: str = "3980.00", **fields) -> int:
    """A bookable session by default: published, registration open now, starting in a month."""
    if course_id is None:
        course_id = make_course()
    starts_at = fields.pop("starts_at", utcnow().replace(microsecond=0) + timedelta(days=starts_in_days))
    camp = catalog.create_session(
        course_id,
        capacity=capacity,
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(days=days - 1, hours=9)),
        city=fields.pop("city", "杭州"),
        venue=fields.pop("venue", "玺承集团培训中心"),
        price=Decimal(price),
        is_published=published,
        **fields,
    )
    return camp.id


def book(app, user_id: int, session_id: int, source: str = "web", at: datetime | None = None) -> int:
    """Book as the student would (a seat, or the waitlist when full): the registration's id.
    `at` is when; by default now, or the day before the session starts if that is earlier."""
    with app.test_request_context():
        camp = db.session.get(CampSession, session_id)
        at = at or min(utcnow(), camp.starts_at - timedelta(days=1))
        registration_id = booking.book_seat(db.session.get(User, user_id), session_id, source=source,
                                            now=at).registration.id
        db.session.remove()
    return registration_id
