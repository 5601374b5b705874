"""The SQL of a booking: a seat if one is free, else the next place in the queue, in one write.

The booking service (service.py) runs these and nothing else writes seats; they live here because
they are SQL to read as a whole. Each is built once, with bound parameters: building SQLAlchemy
expressions anew for every booking cost more than running them, in the time the lock is held.

Both databases decide the same way, from the session's row as locked: a seat if seats_taken <
capacity, else waitlist number waitlist_issued + 1; then the counters move with the registration.
- PostgreSQL: one statement (`postgresql_booking`), a data-modifying WITH: lock the row
  (`FOR UPDATE`, which waits for a booking holding it and then reads its committed counts), insert
  the registration, move the counters, queue the email. One round trip while the row is locked.
- SQLite: the same decision as an INSERT ... SELECT from the row (`sqlite_insert_registration`),
  then the counters (`sqlite_count_registration`) and the email's outbox row, in a BEGIN IMMEDIATE
  transaction that has the database to itself; SQLite has no data-modifying WITH.
Either way the database has the last word: CHECK seats_taken <= capacity, one active registration
per person and session (partial unique index), unique waitlist numbers.
"""
from __future__ import annotations

import functools

from sqlalchemy import (
    JSON,
    String,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    true,
    update,
)

from app.booking.models import Registration, RegistrationStatus
from app.catalog.availability import bookable_clause
from app.catalog.models import CampSession, Course
from app.common.time import UtcDateTime
from app.mail.models import OutboxMessage, OutboxStatus

sessions, courses = CampSession.__table__, Course.__table__
registrations, outbox = Registration.__table__, OutboxMessage.__table__

CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value
# The registration columns a booking inserts, in the order _new_registration selects them.
_INSERTED = ["session_id", "user_id", "status", "waitlist_number", "ticket_code", "source", "created_at",
             "confirmed_at", "cancelled_at"]
# What a booking returns of the registration, then of the session as counted after it, then of its
# course: what the booking's answer shows (app/api/schemas.py). No more: every column costs
# decoding, and psycopg caches the parsing of a statement only up to 4 kB of SQL.
REGISTRATION_COLUMNS = ("id", "session_id", "status", "waitlist_number", "ticket_code", "created_at",
                        "confirmed_at")
SESSION_COLUMNS = ("id", "label", "starts_at", "ends_at", "city", "venue", "address", "price",
                   "capacity", "seats_taken", "waitlisted_count", "registration_opens_at", "registration_closes_at",
                   "is_published")
COURSE_COLUMNS = ("id", "slug", "title", "is_published")
# The statements' row names the session's columns s_<name> and the course's c_<name> (the
# registration's have no prefix): short, because every label is written twice in PostgreSQL's
# statement, which must stay under psycopg's 4 kB (tests/test_booking_service.py checks it).
SESSION_PREFIX, COURSE_PREFIX = "s_", "c_"


def _now():
    return bindparam("now", type_=UtcDateTime())


def _session_to_book():
    """The row of session :session_id if it can be booked now (catalog's rule as SQL,
    app/catalog/availability.py, beside its Python form), locked (PostgreSQL), with the decision:
    has_seat, and the waitlist number the booking gets if it has none."""
    return (
        select(sessions.c.id.label("session_id"),
               (sessions.c.seats_taken < sessions.c.capacity).label("has_seat"),
               (sessions.c.waitlist_issued + 1).label("next_number"),
               _now().label("booked_at"))
        .where(sessions.c.id == bindparam("session_id"), bookable_clause(_now()))
        .with_for_update(of=sessions)  # not rendered on SQLite, where the transaction has the database
    )


def _new_registration(target):
    """The new registration's values, as a SELECT from the decided row `target`."""
    return select(
        target.c.session_id,
        bindparam("user_id"),
        case((target.c.has_seat, CONFIRMED), else_=WAITLISTED),
        case((target.c.has_seat, null()), else_=target.c.next_number),
        bindparam("ticket_code"),
        bindparam("source"),
        target.c.booked_at,
        case((target.c.has_seat, target.c.booked_at), else_=null()),
        null(),
    )


def _counted(status_column) -> dict:
    """The session's counters after one more registration of this status (a column or parameter)."""
    seat = case((status_column == CONFIRMED, 1), else_=0)
    waiting = case((status_column == WAITLISTED, 1), else_=0)
    return {"seats_taken": sessions.c.seats_taken + seat, "waitlist_issued": sessions.c.waitlist_issued + waiting,
            "waitlisted_count": sessions.c.waitlisted_count + waiting}


@functools.cache
def postgresql_booking():
    """One statement: lock, insert, count, queue the email (template by status, composed when sent,
    with the place in the queue: the waitlisted count after this booking, read from the locked row).
    No row when the session cannot be booked now or does not exist; a unique violation when the
    person already has an active registration for it."""
    target = _session_to_book().cte("target")
    reg = (insert(registrations).from_select(_INSERTED, _new_registration(target))
           .returning(*(registrations.c[name] for name in REGISTRATION_COLUMNS)).cte("reg"))
    counts = (update(sessions)
              .where(sessions.c.id == reg.c.session_id, courses.c.id == sessions.c.course_id)
              .values(**_counted(reg.c.status))
              .returning(*(sessions.c[name] for name in SESSION_COLUMNS),
                         *(courses.c[name].label(COURSE_PREFIX + name) for name in COURSE_COLUMNS))
              .cte("counts"))
    position = case((reg.c.status == WAITLISTED, counts.c.waitlisted_count), else_=null())
    email = insert(outbox).from_select(
        ["to_address", "template", "context", "attachments", "status", "attempts", "next_attempt_at", "created_at"],
        select(
            bindparam("to_address"),
            case((reg.c.status == CONFIRMED, "booking_confirmed"), else_="booking_waitlisted"),
            func.json_build_object("registration_id", reg.c.id, "waitlist_position", position),
            bindparam("no_attachments", [], type_=JSON),
            literal(OutboxStatus.PENDING.value),
            literal(0),
            reg.c.created_at,
            reg.c.created_at,
        ).select_from(reg.join(counts, true()))
        # A walk-in staff added without an email address gets no message (mail/service.py skips
        # them the same way on SQLite).
        .where(cast(bindparam("to_address"), String).is_not(None)),  # typed: PostgreSQL cannot infer it
    ).cte("email")
    return (select(*(reg.c[name] for name in REGISTRATION_COLUMNS),
                   *(counts.c[name].label(SESSION_PREFIX + name) for name in SESSION_COLUMNS),
                   *(counts.c[COURSE_PREFIX + name] for name in COURSE_COLUMNS))
            .select_from(reg.join(counts, true()))
            .add_cte(email))


@functools.cache
def sqlite_insert_registration():
    """The registration, a seat or the next waitlist number decided from the session's row; no row
    when the session cannot be booked now or does not exist."""
    target = _session_to_book().subquery("target")
    return (insert(registrations).from_select(_INSERTED, _new_registration(target))
            .returning(*(registrations.c[name] for name in REGISTRATION_COLUMNS)))


@functools.cache
def sqlite_count_registration():
    """The session's counters moved for the registration just inserted (parameter :status); the
    session's row as it is then, and its course's (SQLite's RETURNING names only the updated
    table, but takes subqueries)."""
    course = {name: select(courses.c[name]).where(courses.c.id == sessions.c.course_id).scalar_subquery()
              for name in COURSE_COLUMNS}
    return (update(sessions).where(sessions.c.id == bindparam("session_id"))
            .values(**_counted(bindparam("status")))
            .returning(*(sessions.c[name].label(SESSION_PREFIX + name) for name in SESSION_COLUMNS),
                       *(course[name].label(COURSE_PREFIX + name) for name in COURSE_COLUMNS)))
