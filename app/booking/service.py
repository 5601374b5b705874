"""The booking engine: the only code that changes seats and registration status.

Every public function is one transaction that
1. runs under `@write_transaction`: `begin_write()` first (SQLite: BEGIN IMMEDIATE, the
   database-wide write lock), commit at the end, roll back on any error,
2. locks the camp session's row (`SELECT ... FOR UPDATE`; PostgreSQL row lock, a no-op on SQLite
   where step 1 already serialises writers),
3. changes seats with conditional UPDATEs (`seats_taken = seats_taken + 1 WHERE seats_taken <
   capacity`), so even a code path that forgot the lock could not overbook,
4. queues its email in the same transaction.
The database has the last word: a CHECK keeps seats_taken within capacity, a partial unique index
allows one active registration per person and session, another keeps waitlist numbers unique.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.models import User
from app.booking.calendar import registration_ics
from app.booking.errors import (
    AlreadyCancelled,
    CancellationClosed,
    CapacityBelowConfirmed,
    ProfileIncomplete,
    RegistrationEnded,
    RegistrationNotFound,
    RegistrationNotOpenYet,
    SessionAlreadyStarted,
    SessionNotFound,
    SessionNotPublished,
)
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.common.db import write_transaction
from app.common.time import utcnow
from app.extensions import db
from app.mail.service import Attachment, insert_rendered, queue_email, render_message


@dataclass
class BookingOutcome:
    registration: Registration
    created: bool  # False when the person already had an active registration (double click)


@dataclass
class CancellationOutcome:
    registration: Registration
    promoted: list[Registration] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------

def active_registration(user_id: int, session_id: int) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.user_id == user_id,
            Registration.session_id == session_id,
            Registration.status.in_([RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED]),
        )
    )


def registrations_of(user_id: int) -> list[Registration]:
    """A student's registrations, the latest session first, with session and course loaded."""
    return list(db.session.scalars(
        select(Registration)
        .join(Registration.session)
        .where(Registration.user_id == user_id)
        .order_by(CampSession.starts_at.desc(), Registration.id.desc())
        .options(selectinload(Registration.session).selectinload(CampSession.course))
    ))


def waitlist_position(registration: Registration) -> int | None:
    """1 for the head of the queue; None when not waitlisted."""
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    return _position_of_number(registration.session_id, registration.waitlist_number)


def _position_of_number(session_id: int, waitlist_number: int) -> int:
    table = Registration.__table__
    return db.session.connection().execute(
        select(func.count()).where(
            table.c.session_id == session_id,
            table.c.status == RegistrationStatus.WAITLISTED,
            table.c.waitlist_number <= waitlist_number,
        )
    ).scalar_one()


def waitlist_length(session_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Registration.session_id == session_id, Registration.status == RegistrationStatus.WAITLISTED
        )
    )


def refusal_reason(camp: CampSession, now: datetime) -> str | None:
    """Why this session cannot be booked now, in words for the page; None if it can."""
    try:
        _check_bookable(camp, camp.course.is_published, now)
    except (SessionNotPublished, RegistrationNotOpenYet, RegistrationEnded, SessionAlreadyStarted) as error:
        return str(error.message)
    return None


# --- the transaction's building blocks ------------------------------------------------------

def _lock_session(session_id: int) -> CampSession:
    """The session row, fresh and locked until the transaction ends (its course loaded with it)."""
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


def _bookable_sql(now: datetime):
    """The SQL twin of _check_bookable, for re-checking inside the locking UPDATE itself."""
    sessions, courses = CampSession.__table__, Course.__table__
    return and_(
        sessions.c.is_published.is_(True),
        sessions.c.starts_at > now,
        or_(sessions.c.registration_opens_at.is_(None), sessions.c.registration_opens_at <= now),
        or_(sessions.c.registration_closes_at.is_(None), sessions.c.registration_closes_at > now),
        exists().where(courses.c.id == sessions.c.course_id, courses.c.is_published.is_(True)),
    )


def _take_seat(camp: CampSession, bookable_at: datetime | None = None) -> bool:
    """Take one confirmed seat if one is free. Atomic: the WHERE clause is the capacity rule
    (and, for a new booking, the registration window)."""
    sessions = CampSession.__table__
    conditions = [sessions.c.id == camp.id, sessions.c.seats_taken < sessions.c.capacity]
    if bookable_at is not None:
        conditions.append(_bookable_sql(bookable_at))
    result = db.session.connection().execute(
        update(sessions).where(*conditions).values(seats_taken=sessions.c.seats_taken + 1)
    )
    _forget_seat_counts(camp)
    return result.rowcount == 1


def _release_seat(camp: CampSession) -> None:
    sessions = CampSession.__table__
    db.session.connection().execute(
        update(sessions)
        .where(sessions.c.id == camp.id, sessions.c.seats_taken > 0)
        .values(seats_taken=sessions.c.seats_taken - 1)
    )
    _forget_seat_counts(camp)


def _next_waitlist_number(camp: CampSession, bookable_at: datetime) -> int | None:
    """Draw the next waitlist number; None if the session is no longer bookable."""
    sessions = CampSession.__table__
    number = db.session.connection().execute(
        update(sessions)
        .where(sessions.c.id == camp.id, _bookable_sql(bookable_at))
        .values(waitlist_issued=sessions.c.waitlist_issued + 1)
        .returning(sessions.c.waitlist_issued)
    ).scalar_one_or_none()
    _forget_seat_counts(camp)
    return number


def _forget_seat_counts(camp: CampSession) -> None:
    """The counters were changed in SQL; a loaded object must read them again when next asked."""
    if camp in db.session:
        db.session.expire(camp, ["seats_taken", "waitlist_issued"])


def _check_bookable(camp, course_published: bool, now: datetime) -> None:
    """`camp`: a CampSession or a row with its is_published, starts_at and registration window."""
    if not (camp.is_published and course_published):
        raise SessionNotPublished()
    if now >= camp.starts_at:
        raise SessionAlreadyStarted()
    if camp.registration_opens_at is not None and now < camp.registration_opens_at:
        raise RegistrationNotOpenYet()
    if camp.registration_closes_at is not None and now >= camp.registration_closes_at:
        raise RegistrationEnded()


def _confirm(registration: Registration, now: datetime) -> None:
    registration.status = RegistrationStatus.CONFIRMED
    registration.waitlist_number = None
    registration.confirmed_at = now


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.email, user.display_name)


def _email_confirmation(registration: Registration, camp: CampSession, to: Recipient, template: str,
                        subject: str) -> None:
    db.session.flush()  # the registration needs its id for the calendar entry
    queue_email(
        to=to.email,
        subject=subject,
        template=template,
        attachments=[Attachment("camp.ics", "text/calendar", registration_ics(registration.id, camp))],
        name=to.name,
        details=session_details(camp),
    )


def session_details(camp: CampSession) -> str:
    """The course, dates, place and price block of every booking email (dates formatted in Shanghai time)."""
    return render_template("mail/_session_details.txt", camp=camp)


def _promote_waiting(camp: CampSession, now: datetime) -> list[Registration]:
    """Fill free seats from the head of the waitlist, in order of arrival."""
    db.session.refresh(camp, ["capacity", "seats_taken"])
    free = camp.capacity - camp.seats_taken
    if free <= 0:
        return []
    queue = db.session.scalars(
        select(Registration)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.waitlist_number)
        .limit(free)
    ).all()
    promoted = []
    for registration in queue:
        if not _take_seat(camp):
            break
        _confirm(registration, now)
        _email_confirmation(registration, camp, Recipient.of(registration.user), "booking_promoted",
                            _("候补成功：您已获得正式名额"))
        promoted.append(registration)
    return promoted


# --- what people do -------------------------------------------------------------------------

def book_seat(user: User, session_id: int, source: str = "web", now: datetime | None = None) -> BookingOutcome:
    """Book a seat, or a place on the waitlist when the session is full.

    Booking twice (double click, parallel requests, a retry) returns the existing registration.
    Everything that needs no lock is read and checked first, so that the locked part stays short:
    on SQLite the write lock is the whole database's, on PostgreSQL the session row's, and in a
    rush every booking of the session waits for it in turn.
    """
    now = now or utcnow()
    existing = active_registration(user.id, session_id)
    if existing is not None:
        return BookingOutcome(existing, created=False)
    camp = db.session.get(CampSession, session_id, options=[joinedload(CampSession.course)])
    if camp is None:
        raise SessionNotFound()
    _check_bookable(camp, camp.course.is_published, now)
    if not (user.name and user.phone):
        raise ProfileIncomplete()
    recipient = Recipient.of(user)
    details = session_details(camp)  # formatting dates and money is slow: done before the lock
    # Detached, the session read here is not reloaded when the write transaction starts afresh.
    db.session.expunge(camp)
    db.session.expunge(camp.course)
    registration_id = _book_locked(user.id, recipient, camp, details, source[:40], now)
    if registration_id is None:
        return BookingOutcome(active_registration(user.id, session_id), created=False)
    return BookingOutcome(db.session.get(Registration, registration_id), created=True)


@write_transaction
def _book_locked(user_id: int, to: Recipient, camp: CampSession, details: str, source: str,
                 now: datetime) -> int | None:
    """The locked part of a booking, in plain SQL statements. Returns the new registration's id,
    or None when a parallel request of the same person booked first (the unique index said so).

    The first UPDATE takes the session row's lock (PostgreSQL; on SQLite the transaction began
    with BEGIN IMMEDIATE) and both UPDATEs re-check that the session is still bookable, since it
    may have closed since it was read."""
    if _take_seat(camp, bookable_at=now):
        values = {"status": RegistrationStatus.CONFIRMED, "confirmed_at": now}
    else:
        number = _next_waitlist_number(camp, bookable_at=now)
        if number is None:  # closed, unpublished or started in the meantime: say which
            fresh = db.session.get(CampSession, camp.id, populate_existing=True)
            if fresh is not None:
                _check_bookable(fresh, fresh.course.is_published, now)
            raise SessionNotFound()
        values = {"status": RegistrationStatus.WAITLISTED, "waitlist_number": number}
    try:
        registration_id = db.session.connection().execute(
            insert(Registration.__table__)
            .values(session_id=camp.id, user_id=user_id, source=source, created_at=now, **values)
            .returning(Registration.__table__.c.id)
        ).scalar_one()
    except IntegrityError:
        db.session.rollback()  # a parallel request of the same person won the unique index
        return None

    if values["status"] is RegistrationStatus.CONFIRMED:
        message = render_message(
            to.email, _("报名成功：%(title)s", title=camp.course.title), "booking_confirmed",
            [Attachment("camp.ics", "text/calendar", registration_ics(registration_id, camp))],
            name=to.name, details=details,
        )
    else:
        message = render_message(
            to.email, _("已加入候补：%(title)s", title=camp.course.title), "booking_waitlisted",
            name=to.name, details=details, position=_position_of_number(camp.id, values["waitlist_number"]),
        )
    insert_rendered(message)
    return registration_id


@write_transaction
def cancel_registration(
    registration_id: int, actor: User, by_staff: bool = False, now: datetime | None = None
) -> CancellationOutcome:
    """Cancel a registration; a freed seat goes to the head of the waitlist in the same transaction.

    Students may cancel only their own registrations, until the session's cancellation deadline;
    someone else's registration is "not found" to them. Staff (`by_staff`) may cancel any, any time.
    """
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None or (not by_staff and registration.user_id != actor.id):
        raise RegistrationNotFound()
    camp = _lock_session(registration.session_id)
    db.session.refresh(registration)  # re-read under the lock
    if registration.status is RegistrationStatus.CANCELLED:
        raise AlreadyCancelled()
    if not by_staff and not camp.can_student_cancel(now):
        raise CancellationClosed()

    held_seat = registration.status is RegistrationStatus.CONFIRMED
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlist_number = None
    registration.cancelled_at = now
    db.session.flush()
    promoted: list[Registration] = []
    if held_seat:
        _release_seat(camp)
        promoted = _promote_waiting(camp, now)
    queue_email(
        to=registration.user.email,
        subject=_("报名已取消：%(title)s", title=camp.course.title),
        template="booking_cancelled",
        name=registration.user.display_name,
        details=session_details(camp),
    )
    return CancellationOutcome(registration, promoted)


@write_transaction
def change_capacity(session_id: int, new_capacity: int, now: datetime | None = None) -> list[Registration]:
    """Set a session's capacity; refuse to go below the confirmed count; fill new seats from the waitlist."""
    camp = _lock_session(session_id)
    return apply_capacity(camp, new_capacity, now or utcnow())


def apply_capacity(camp: CampSession, new_capacity: int, now: datetime) -> list[Registration]:
    """The capacity rule, for a caller that already holds the session's lock in its transaction
    (the admin form saves capacity together with the session's other fields)."""
    if new_capacity < camp.seats_taken:
        raise CapacityBelowConfirmed(camp.seats_taken)
    camp.capacity = new_capacity
    db.session.flush()
    return _promote_waiting(camp, now)


def lock_session(session_id: int) -> CampSession:
    """This session, locked for the rest of the caller's write transaction (the catalogue's
    session editor saves capacity with the other fields in one transaction)."""
    return _lock_session(session_id)
