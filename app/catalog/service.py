"""Courses and sessions: creating, editing and finding them.

Seats are not touched here: a session's new capacity is handed to the booking core through the
`capacity_requested` signal, inside the same transaction as the session's other fields. Catalog
never imports booking (booking depends on catalog; tests/test_import_direction.py checks it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.models import User
from app.catalog.errors import CourseNotFound, SessionNotFound, SlugTaken
from app.catalog.models import CampSession, Course
from app.common.db import write_transaction
from app.common.page_cache import content_changed
from app.common.slugs import pinyin_slug, unused_slug
from app.common.time import utcnow
from app.extensions import db

COURSE_FIELDS = (
    "slug", "title", "platform", "duration_label", "summary", "outcomes", "audience", "is_published",
    "hours_of_study", "min_attendance_days", "refund_full_days", "refund_partial_days", "refund_partial_percent",
)
SESSION_FIELDS = (
    "label", "starts_at", "ends_at", "city", "venue", "address", "price",
    "registration_opens_at", "registration_closes_at", "cancellation_deadline", "is_published", "payment_hold_seconds",
    "requires_approval", "max_group_size",
)


_signals = Namespace()
# Sent by update_session, in its transaction with the session locked, when the editor gives a
# capacity, with capacity=, actor= and now=. The booking core receives it (app/booking/service.py:
# it alone changes capacity and seats: not below the confirmed count, the audit entry, new seats
# filled from the waitlist) and returns the registrations it promoted. A signal rather than a
# call because the package that reacts imports the one that changes, never the reverse.
capacity_requested = _signals.signal("capacity-requested")
# Sent when sessions about to be listed have a hold or offer that may have run out (holds_lapse_at
# reached), with the ids and now=: the booking core releases them (their seats go down the waiting
# list) before the listing shows seats, so no page shows a seat blocked by a hold past its time,
# whether or not the worker has run.
holds_lapsed = _signals.signal("holds-lapsed")


def _current_seats(sessions: list[CampSession], now: datetime | None = None) -> list[CampSession]:
    """The sessions, with holds past their time released first (holds_lapsed) and their seats read again."""
    now = now or utcnow()
    due = [camp for camp in sessions if camp.holds_lapse_at is not None and camp.holds_lapse_at <= now]
    if due:
        if not holds_lapsed.send([camp.id for camp in due], now=now):
            raise RuntimeError("no receiver for holds_lapsed: app.booking.service is not imported")
        for camp in due:
            db.session.refresh(camp)
    return sessions


def _flush_course() -> None:
    try:
        db.session.flush()
    except IntegrityError as error:
        raise SlugTaken() from error


@write_transaction
def create_course(**fields) -> Course:
    """A new course. Without a slug, one is made from the title's pinyin (and made unique)."""
    if not fields.get("slug"):
        fields["slug"] = unused_slug(Course.slug, pinyin_slug(fields["title"]) or "course")
    course = Course(**{name: fields[name] for name in COURSE_FIELDS if name in fields})
    db.session.add(course)
    _flush_course()
    content_changed()
    return course


@write_transaction
def update_course(course_id: int, **fields) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise CourseNotFound()
    for name in COURSE_FIELDS:
        if name == "slug" and not fields.get("slug"):
            continue  # an emptied slug field keeps the current one: links already shared keep working
        if name in fields:
            setattr(course, name, fields[name])
    _flush_course()
    content_changed()
    return course


@write_transaction
def create_session(course_id: int, capacity: int, **fields) -> CampSession:
    camp = CampSession(course_id=course_id, capacity=capacity,
                       **{name: fields[name] for name in SESSION_FIELDS if name in fields})
    db.session.add(camp)
    db.session.flush()
    content_changed()
    return camp


@dataclass
class SessionUpdate:
    session: CampSession
    promoted: list  # the registrations promoted from the waitlist by a capacity raise


def lock_session(session_id: int) -> CampSession:
    """The session row, fresh and locked until the transaction ends (its course loaded with it):
    a PostgreSQL row lock; on SQLite the write transaction already has the database."""
    camp = db.session.scalar(
        select(CampSession)
        .where(CampSession.id == session_id)
        .options(joinedload(CampSession.course))
        .with_for_update(of=CampSession)
        .execution_options(populate_existing=True)
    )
    if camp is None:
        raise SessionNotFound()
    return camp


@write_transaction
def update_session(session_id: int, capacity: int | None = None, actor: User | None = None, **fields) -> SessionUpdate:
    camp = lock_session(session_id)
    for name in SESSION_FIELDS:
        if name in fields:
            setattr(camp, name, fields[name])
    content_changed()
    promoted = []
    if capacity is not None:
        answers = capacity_requested.send(camp, capacity=capacity, actor=actor, now=utcnow())
        if not answers:  # nothing would apply it: fail loudly rather than drop the new capacity
            raise RuntimeError("no receiver for capacity_requested: app.booking.service is not imported")
        promoted = [registration for _receiver, answer in answers for registration in answer]
    return SessionUpdate(camp, promoted)


# --- finding --------------------------------------------------------------------------------

def published_courses() -> list[Course]:
    return list(db.session.scalars(
        select(Course).where(Course.is_published.is_(True)).order_by(Course.id).options(selectinload(Course.sessions))
    ))


def upcoming_sessions(course: Course, now: datetime | None = None) -> list[CampSession]:
    """Published sessions of a course that have not ended, soonest first."""
    now = now or utcnow()
    return _current_seats([s for s in course.sessions if s.is_published and s.ends_at > now], now)


def published_course_by_slug(slug: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.slug == slug, Course.is_published.is_(True)))


def _visible_sessions():
    """Sessions students may see (it and its course are published), ended ones included, with their course."""
    return (select(CampSession).join(Course)
            .where(CampSession.is_published.is_(True), Course.is_published.is_(True))
            .options(joinedload(CampSession.course)))


def published_session(session_id: int) -> CampSession:
    """A session students may see, ended ones included, so that a registration's session can
    still be shown; drafts are not found."""
    camp = db.session.scalar(_visible_sessions().where(CampSession.id == session_id))
    if camp is None:
        raise SessionNotFound()
    return _current_seats([camp])[0]


def published_sessions(session_ids) -> dict[int, CampSession]:
    """The sessions students may see among these ids, by id, in one query (the cards of a page)."""
    ids = set(session_ids)
    if not ids:
        return {}
    found = _current_seats(list(db.session.scalars(_visible_sessions().where(CampSession.id.in_(ids)))))
    return {camp.id: camp for camp in found}


def upcoming_published_sessions(now: datetime | None = None, limit: int | None = None) -> list[CampSession]:
    now = now or utcnow()
    query = (
        select(CampSession)
        .join(Course)
        .where(CampSession.is_published.is_(True), Course.is_published.is_(True), CampSession.ends_at > now)
        .order_by(CampSession.starts_at)
        .options(selectinload(CampSession.course))
    )
    if limit:
        query = query.limit(limit)
    return _current_seats(list(db.session.scalars(query)), now)
