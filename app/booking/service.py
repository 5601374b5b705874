"""The booking engine: the only code that changes seats and registration status.

Every public function is one transaction that
1. runs under `@write_transaction`: `begin_write()` first (SQLite: BEGIN IMMEDIATE, the
   database-wide write lock), commit at the end, roll back on any error,
2. locks the camp session's row (`SELECT ... FOR UPDATE`, or for a booking the first conditional
   UPDATE that matches it; PostgreSQL row lock, a no-op on SQLite where step 1 already
   serialises writers),
3. changes seats with conditional UPDATEs (`seats_taken = seats_taken + 1 WHERE seats_taken <
   capacity`), so even a code path that forgot the lock could not overbook,
4. queues its email in the same transaction.
The database has the last word: a CHECK keeps seats_taken within capacity, a partial unique index
allows one active registration per person and session, another keeps waitlist numbers unique.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import render_template
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from sqlalchemy import Integer, and_, bindparam, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.audit.service import record
from app.booking.calendar import registration_ics
from app.booking.errors import (
    AlreadyCancelled,
    AlreadyRegistered,
    CancellationClosed,
    CapacityBelowConfirmed,
    MoveToOtherCourse,
    MoveToSameSession,
    NotWaitlisted,
    ProfileIncomplete,
    RegistrationChanged,
    RegistrationEnded,
    RegistrationNotFound,
    RegistrationNotOpenYet,
    SessionAlreadyStarted,
    SessionFull,
    SessionNotFound,
    SessionNotPublished,
)
from app.booking.models import ACTIVE_STATUSES, Registration, RegistrationStatus
from app.booking.tickets import format_ticket_code, new_ticket_code, ticket_qr_png, ticket_url
from app.catalog.models import CampSession, Course
from app.common.db import write_transaction
from app.common.time import UtcDateTime, utcnow
from app.extensions import db
from app.mail.service import Attachment, insert_rendered, queue_email, render_message


@dataclass
class BookingOutcome:
    registration: Registration
    created: bool  # False when the person already had an active registration (double click)
    waitlist_position: int | None  # 1 for the head of the queue; None when confirmed
    waitlist_length: int  # of the session, just after this booking


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


def registration_of(user_id: int, registration_id: int) -> Registration | None:
    """One of this person's registrations (any status), with its session and course; None when
    there is no such registration or it is someone else's (their ticket page is a 404 to others)."""
    return db.session.scalar(
        select(Registration)
        .where(Registration.id == registration_id, Registration.user_id == user_id)
        .options(joinedload(Registration.session).joinedload(CampSession.course))
    )


def waitlist_position(registration: Registration) -> int | None:
    """1 for the head of the queue; None when not waitlisted."""
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    return _position_of_number(registration.session_id, registration.waitlist_number)


def _position_of_number(session_id: int, waitlist_number: int) -> int:
    # The booking's INSERT counts the same way in its RETURNING clause (_insert_registration_sql).
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


def _bookable_sql(now):
    """The SQL twin of _check_bookable, for re-checking inside the locking UPDATE itself."""
    sessions, courses = CampSession.__table__, Course.__table__
    return and_(
        sessions.c.is_published.is_(True),
        sessions.c.starts_at > now,
        or_(sessions.c.registration_opens_at.is_(None), sessions.c.registration_opens_at <= now),
        or_(sessions.c.registration_closes_at.is_(None), sessions.c.registration_closes_at > now),
        exists().where(courses.c.id == sessions.c.course_id, courses.c.is_published.is_(True)),
    )


# The statements run under the lock are built once, with bound parameters: building SQLAlchemy
# expressions anew for every booking cost more than running them, and it was time the lock is held.
@functools.cache
def _take_seat_sql(check_bookable: bool):
    sessions = CampSession.__table__
    conditions = [sessions.c.id == bindparam("session_id"), sessions.c.seats_taken < sessions.c.capacity]
    if check_bookable:
        conditions.append(_bookable_sql(bindparam("now", type_=UtcDateTime())))
    return (update(sessions).where(*conditions).values(seats_taken=sessions.c.seats_taken + 1)
            .returning(sessions.c.seats_taken, sessions.c.capacity))


@functools.cache
def _draw_waitlist_number_sql(check_bookable: bool):
    sessions = CampSession.__table__
    # Only while the session is full: nobody waits while a seat is free.
    conditions = [sessions.c.id == bindparam("session_id"), sessions.c.seats_taken >= sessions.c.capacity]
    if check_bookable:
        conditions.append(_bookable_sql(bindparam("now", type_=UtcDateTime())))
    return (update(sessions).where(*conditions).values(waitlist_issued=sessions.c.waitlist_issued + 1)
            .returning(sessions.c.waitlist_issued, sessions.c.seats_taken, sessions.c.capacity))


@functools.cache
def _insert_registration_sql():
    """INSERT a registration, returning its id and, for a waitlisted one, its place in the queue
    (one round trip fewer under the lock). The place counts the people waiting ahead, whose
    numbers are lower; the new row itself is left out, which both databases agree on."""
    table = Registration.__table__
    # Written out: SQLAlchemy neither correlates a subquery with an INSERT's row nor qualifies
    # RETURNING columns on SQLite; both databases accept the row's columns named by the table.
    waiting_ahead = literal_column(
        "(SELECT count(*) FROM registrations AS ahead WHERE ahead.session_id = registrations.session_id"
        " AND ahead.status = 'waitlisted' AND ahead.waitlist_number < registrations.waitlist_number)",
        type_=Integer,
    )
    return insert(table).returning(table.c.id, waiting_ahead + 1)


def _take_seat(camp: CampSession, bookable_at: datetime | None = None) -> Row | None:
    """Take one confirmed seat if one is free: the session's (seats_taken, capacity) after it, or
    None when there was no free seat. Atomic: the WHERE clause is the capacity rule (and, for a
    new booking, the registration window)."""
    counts = db.session.connection().execute(
        _take_seat_sql(bookable_at is not None), {"session_id": camp.id, "now": bookable_at}
    ).first()
    _forget_seat_counts(camp)
    return counts


def _release_seat(camp: CampSession) -> None:
    sessions = CampSession.__table__
    db.session.connection().execute(
        update(sessions)
        .where(sessions.c.id == camp.id, sessions.c.seats_taken > 0)
        .values(seats_taken=sessions.c.seats_taken - 1)
    )
    _forget_seat_counts(camp)


def _next_waitlist_number(camp: CampSession, bookable_at: datetime | None = None) -> Row | None:
    """Draw the next waitlist number if the session is full: (number, seats_taken, capacity); None
    if it is not full (or, with `bookable_at`, if it can no longer be booked)."""
    drawn = db.session.connection().execute(
        _draw_waitlist_number_sql(bookable_at is not None), {"session_id": camp.id, "now": bookable_at}
    ).first()
    _forget_seat_counts(camp)
    return drawn


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
        attachments=_ticket_attachments(registration.id, registration.ticket_code, camp),
        name=to.name,
        details=session_details(camp),
        ticket_code=format_ticket_code(registration.ticket_code),
        ticket_url=ticket_url(registration.id),
    )


def _ticket_attachments(registration_id: int, ticket_code: str, camp: CampSession) -> list[Attachment]:
    """What a confirmed seat's email carries: the calendar entry and the door QR code."""
    return [
        Attachment("camp.ics", "text/calendar", registration_ics(registration_id, camp)),
        Attachment("ticket-qr.png", "image/png", ticket_qr_png(ticket_code)),
    ]


def session_details(camp: CampSession) -> str:
    """The course, dates, place and price block of every booking email (dates formatted in Shanghai time).

    Kept per what it shows, in the language and zone it is shown in: in a rush every booking of a
    session sends the same block, and formatting it was a sixth of a booking's time."""
    course = camp.course
    return _session_details(str(get_locale()), str(get_timezone()), course.title, course.duration_label,
                            camp.starts_at, camp.ends_at, camp.city, camp.venue, camp.address, camp.price)


@functools.lru_cache(maxsize=256)
def _session_details(locale: str, zone: str, title: str, duration_label: str | None, starts_at: datetime,
                     ends_at: datetime, city: str, venue: str, address: str | None, price: Decimal) -> str:
    del locale, zone  # part of the cache key only: render_template uses the request's own
    camp = SimpleNamespace(course=SimpleNamespace(title=title, duration_label=duration_label),
                           starts_at=starts_at, ends_at=ends_at, city=city, venue=venue, address=address, price=price)
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
        if _take_seat(camp) is None:
            break
        before = _state(registration)
        _confirm(registration, now)
        record("registration.promote", None, registration_id=registration.id, session_id=camp.id,
               before=before, after=_state(registration), note="名额空出，按候补顺序自动转正")
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
    rush every booking of the session waits for it in turn. The answer is built from what the
    locked statements returned, without reading the new registration back.
    """
    now = now or utcnow()
    camp, existing = _session_and_active_registration(session_id, user.id)
    if camp is None:
        raise SessionNotFound()
    if existing is not None:
        return _existing_outcome(existing)
    _check_bookable(camp, camp.course.is_published, now)
    if not (user.name and user.phone):
        raise ProfileIncomplete()
    recipient = Recipient.of(user)
    details = session_details(camp)  # formatting dates and money is slow: done before the lock
    # Detached, the session read here is not reloaded when the write transaction starts afresh.
    db.session.expunge(camp)
    db.session.expunge(camp.course)
    booked = _book_locked(user.id, recipient, camp, details, source[:40], now)
    if booked is None:
        return _existing_outcome(active_registration(user.id, session_id))
    return _new_outcome(booked, camp)


def _session_and_active_registration(session_id: int, user_id: int) -> tuple[CampSession | None, Registration | None]:
    """The session with its course, and this person's active registration for it, in one query."""
    row = db.session.execute(
        select(CampSession, Registration)
        .outerjoin(Registration, and_(
            Registration.session_id == CampSession.id,
            Registration.user_id == user_id,
            Registration.status.in_(ACTIVE_STATUSES),
        ))
        .where(CampSession.id == session_id)
        .options(joinedload(CampSession.course))
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


@dataclass(frozen=True)
class _Place:
    """What the locked statements gave a new registration: its column values (status, waitlist
    number, ticket code, confirmed_at) and the session's counts as the lock saw them after it."""
    values: dict
    seats_taken: int
    capacity: int


@dataclass(frozen=True)
class _Booked:
    row: dict  # the inserted registration's columns, id included
    place: _Place
    waitlist_position: int | None


@write_transaction
def _book_locked(user_id: int, to: Recipient, camp: CampSession, details: str, source: str,
                 now: datetime) -> _Booked | None:
    """The locked part of a booking, in plain SQL statements. None when a parallel request of the
    same person booked first (the unique index said so).

    The first UPDATE that matches takes the session row's lock (PostgreSQL; on SQLite the
    transaction began with BEGIN IMMEDIATE), and each UPDATE re-checks that the session is still
    bookable, since it may have closed since it was read."""
    place = _seat_or_waitlist(camp, bookable_at=now, expect_full=camp.is_full)
    if place is None:  # closed, unpublished or started in the meantime: say which
        fresh = db.session.get(CampSession, camp.id, populate_existing=True)
        if fresh is not None:
            _check_bookable(fresh, fresh.course.is_published, now)
        raise SessionNotFound()
    row = {"session_id": camp.id, "user_id": user_id, "source": source, "created_at": now, "cancelled_at": None,
           **place.values}
    inserted = _insert_registration(row)
    if inserted is None:
        return None
    registration_id, position = inserted
    row["id"] = registration_id
    _queue_booking_email(registration_id, place.values, camp, to, details, position)
    return _Booked(row, place, position)


def _new_outcome(booked: _Booked, camp: CampSession) -> BookingOutcome:
    """The registration just inserted, as a persistent object made from the values it was inserted
    with (no SELECT), attached to the session as it was read, with the counts the lock saw."""
    registration = Registration(**booked.row)
    make_transient_to_detached(registration)
    db.session.add(registration)
    set_committed_value(camp, "seats_taken", booked.place.seats_taken)
    set_committed_value(camp, "capacity", booked.place.capacity)
    db.session.add(camp)
    set_committed_value(registration, "session", camp)
    # Waitlisted: the newest in the queue, so its place is the queue's length. Confirmed: a free
    # seat means an empty queue, since promotions fill every freed seat in the transaction that frees it.
    length = booked.waitlist_position or 0
    return BookingOutcome(registration, created=True, waitlist_position=booked.waitlist_position,
                          waitlist_length=length)


def _existing_outcome(registration: Registration) -> BookingOutcome:
    return BookingOutcome(registration, created=False, waitlist_position=waitlist_position(registration),
                          waitlist_length=waitlist_length(registration.session_id))


def _seat_or_waitlist(camp: CampSession, now: datetime | None = None, bookable_at: datetime | None = None,
                      expect_full: bool = False) -> _Place | None:
    """A seat if one is free, else the next waitlist number, as the new registration's values.
    With `bookable_at`, only while the session can be booked then (None when it cannot).

    `expect_full`: the caller saw the session full, as almost everyone in a rush does, so the
    waitlist is tried first (on condition that the session is still full) and the booking costs
    one UPDATE instead of two."""
    now = now or bookable_at or utcnow()

    def seat() -> _Place | None:
        counts = _take_seat(camp, bookable_at=bookable_at)
        if counts is None:
            return None
        return _Place({"status": RegistrationStatus.CONFIRMED, "waitlist_number": None, "confirmed_at": now,
                       "ticket_code": new_ticket_code()}, *counts)

    def waitlist_place() -> _Place | None:
        drawn = _next_waitlist_number(camp, bookable_at=bookable_at)
        if drawn is None:
            return None
        number, *counts = drawn
        return _Place({"status": RegistrationStatus.WAITLISTED, "waitlist_number": number, "confirmed_at": None,
                       "ticket_code": new_ticket_code()}, *counts)

    attempts = (waitlist_place, seat) if expect_full else (seat, waitlist_place)
    for attempt in attempts:
        if (place := attempt()) is not None:
            return place
    # Neither matched: the session can no longer be booked, or (PostgreSQL) a seat was taken or
    # freed between the two statements, since one that matches no row takes no lock. With the
    # row locked the two conditions cannot both fail unless the session closed.
    sessions = CampSession.__table__
    db.session.connection().execute(select(sessions.c.id).where(sessions.c.id == camp.id).with_for_update())
    for attempt in attempts:
        if (place := attempt()) is not None:
            return place
    return None


def _insert_registration(row: dict) -> tuple[int, int | None] | None:
    """INSERT the registration: its id and, when waitlisted, its place in the queue. None if the
    person already has an active registration for this session (the partial unique index refused it)."""
    try:
        registration_id, place = db.session.connection().execute(_insert_registration_sql(), row).one()
    except IntegrityError:
        db.session.rollback()
        return None
    return registration_id, place if row["waitlist_number"] is not None else None


def _queue_booking_email(registration_id: int, values: dict, camp: CampSession, to: Recipient, details: str,
                         position: int | None) -> None:
    if values["status"] is RegistrationStatus.CONFIRMED:
        message = render_message(
            to.email, _("报名成功：%(title)s", title=camp.course.title), "booking_confirmed",
            _ticket_attachments(registration_id, values["ticket_code"], camp),
            name=to.name, details=details,
            ticket_code=format_ticket_code(values["ticket_code"]), ticket_url=ticket_url(registration_id),
        )
    else:
        message = render_message(
            to.email, _("已加入候补：%(title)s", title=camp.course.title), "booking_waitlisted",
            name=to.name, details=details, position=position,
        )
    insert_rendered(message)


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
    if registration.session_id != camp.id:
        # Moved to another session while we waited for the lock: the lock held is the wrong
        # session's, and releasing a seat there would undercount it.
        raise RegistrationChanged()
    if registration.status is RegistrationStatus.CANCELLED:
        raise AlreadyCancelled()
    if not by_staff and not camp.can_student_cancel(now):
        raise CancellationClosed()

    held_seat = registration.status is RegistrationStatus.CONFIRMED
    before = _state(registration)
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlist_number = None
    registration.cancelled_at = now
    db.session.flush()
    promoted: list[Registration] = []
    record("registration.cancel", actor, registration_id=registration.id, session_id=camp.id,
           before=before, after=_state(registration))
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
def change_capacity(session_id: int, new_capacity: int, now: datetime | None = None,
                    actor: User | None = None) -> list[Registration]:
    """Set a session's capacity; refuse to go below the confirmed count; fill new seats from the waitlist."""
    camp = _lock_session(session_id)
    return apply_capacity(camp, new_capacity, now or utcnow(), actor)


def apply_capacity(camp: CampSession, new_capacity: int, now: datetime,
                   actor: User | None = None) -> list[Registration]:
    """The capacity rule, for a caller that already holds the session's lock in its transaction
    (the admin form saves capacity together with the session's other fields)."""
    if new_capacity < camp.seats_taken:
        raise CapacityBelowConfirmed(camp.seats_taken)
    if new_capacity != camp.capacity:
        record("session.capacity", actor, session_id=camp.id, before={"capacity": camp.capacity},
               after={"capacity": new_capacity})
    camp.capacity = new_capacity
    db.session.flush()
    return _promote_waiting(camp, now)


def lock_session(session_id: int) -> CampSession:
    """This session, locked for the rest of the caller's write transaction (the catalogue's
    session editor saves capacity with the other fields in one transaction)."""
    return _lock_session(session_id)


# --- what staff do --------------------------------------------------------------------------

def _state(registration: Registration) -> dict:
    """A registration's state as an audit entry keeps it."""
    return {
        "status": registration.status.value,
        "session_id": registration.session_id,
        "waitlist_number": registration.waitlist_number,
    }


@write_transaction
def staff_add(session_id: int, user: User, actor: User, now: datetime | None = None) -> Registration:
    """Staff put a person on a session (walk-in, phone booking): a seat if one is free, else the
    waitlist. The registration window does not apply; the capacity does."""
    now = now or utcnow()
    camp = _lock_session(session_id)
    if active_registration(user.id, session_id) is not None:
        raise AlreadyRegistered()
    if not (user.name and user.phone):
        raise ProfileIncomplete()
    values = _seat_or_waitlist(camp, now=now).values
    inserted = _insert_registration(
        {"session_id": camp.id, "user_id": user.id, "source": "staff", "created_at": now, **values})
    if inserted is None:
        raise AlreadyRegistered()
    registration_id, position = inserted
    _queue_booking_email(registration_id, values, camp, Recipient.of(user), session_details(camp), position)
    registration = db.session.get(Registration, registration_id)
    record("registration.add", actor, registration_id=registration_id, session_id=camp.id,
           after=_state(registration))
    return registration


@write_transaction
def promote_by_hand(registration_id: int, actor: User, now: datetime | None = None,
                    add_seat_if_full: bool = True) -> Registration:
    """Staff confirm a waitlisted person out of turn. Free seats are normally filled from the
    waitlist at once, so the session is usually full: then, if asked, its capacity grows by one
    for this person (audited), which keeps confirmed <= capacity true."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    camp = _lock_session(registration.session_id)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.WAITLISTED:
        raise NotWaitlisted()
    note = "工作人员手动转正"
    if _take_seat(camp) is None:
        if not add_seat_if_full:
            raise SessionFull()
        # One more seat, for this person: not through apply_capacity, which would give it to
        # the head of the waitlist. The lock means nobody else can take it meanwhile.
        db.session.refresh(camp, ["capacity"])
        record("session.capacity", actor, session_id=camp.id, before={"capacity": camp.capacity},
               after={"capacity": camp.capacity + 1}, note="手动转正增加名额")
        camp.capacity += 1
        db.session.flush()
        if _take_seat(camp) is None:
            raise SessionFull()
        note = "工作人员手动转正（名额 +1）"
    before = _state(registration)
    _confirm(registration, now)
    record("registration.promote", actor, registration_id=registration.id, session_id=camp.id,
           before=before, after=_state(registration), note=note)
    _email_confirmation(registration, camp, Recipient.of(registration.user), "booking_promoted",
                        _("候补成功：您已获得正式名额"))
    return registration


@write_transaction
def move_registration(registration_id: int, target_session_id: int, actor: User,
                      now: datetime | None = None) -> CancellationOutcome:
    """Move a person to another session of the same course, only into a free seat. A seat freed
    in the old session goes to the head of its waitlist, in the same transaction."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    source_id = registration.session_id
    if target_session_id == source_id:
        raise MoveToSameSession()
    # Lock both rows, lower id first, so two opposite moves cannot deadlock.
    locked = {sid: _lock_session(sid) for sid in sorted((source_id, target_session_id))}
    source, target = locked[source_id], locked[target_session_id]
    db.session.refresh(registration)
    if registration.session_id != source_id:  # moved by someone else while we waited for the locks
        raise RegistrationChanged()
    if not registration.is_active:
        raise AlreadyCancelled()
    if target.course_id != source.course_id:
        raise MoveToOtherCourse()
    if active_registration(registration.user_id, target.id) is not None:
        raise AlreadyRegistered()
    if _take_seat(target) is None:
        raise SessionFull()
    held_seat = registration.status is RegistrationStatus.CONFIRMED
    before = _state(registration)
    registration.session_id = target.id
    _confirm(registration, now)
    db.session.flush()
    record("registration.move", actor, registration_id=registration.id, session_id=target.id,
           before=before, after=_state(registration))
    promoted: list[Registration] = []
    if held_seat:
        _release_seat(source)
        promoted = _promote_waiting(source, now)
    _email_confirmation(registration, target, Recipient.of(registration.user), "booking_moved",
                        _("报名场次已调整：%(title)s", title=target.course.title))
    return CancellationOutcome(registration, promoted)
