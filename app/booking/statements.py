"""The SQL of a booking: a seat if one is free, else the next place in the queue, in one write.

The booking service (service.py) runs these and nothing else writes seats; they live here because
they are SQL to read as a whole. Each is built once, with bound parameters: building SQLAlchemy
expressions anew for every booking cost more than running them, in the time the lock is held.

Both databases decide the same way, from the session's row as locked: a seat if seats_taken <
capacity (confirmed for a free session; for a paid one held, pending_payment, until the hold's
end), else waitlist number waitlist_issued + 1; then the counters move with the registration. A
session with a lapsed hold not yet released (holds_lapse_at <= now) is not booked: the service
releases the hold first, so the seat it blocked goes to whom it should (service.py).
- PostgreSQL: one statement (`postgresql_booking`), a data-modifying WITH: lock the row
  (`FOR UPDATE`, which waits for a booking holding it and then reads its committed counts), insert
  the registration, move the counters, queue the email, write the audit entry. One round trip
  while the row is locked.
- SQLite: the same decision as an INSERT ... SELECT from the row (`sqlite_insert_registration`),
  then the counters (`sqlite_count_registration`), the email's outbox row and the audit entry, in a
  BEGIN IMMEDIATE transaction that has the database to itself; SQLite has no data-modifying WITH.
Every booking runs them: a student's on the site or the API, and staff's (`:by_staff`, which
skips the registration window but not the capacity). The email's and the audit entry's rows come
from the builders the rest of the app uses (emails.registration_email, audit.service.entry), here
with SQL values; constants are written into the SQL (common/sql.py `constant`) to keep it short.
Either way the database has the last word: CHECK seats_taken <= capacity, one active registration
per person and session (partial unique index), unique waitlist numbers.
Both return the same row (`Booked`): the registration's columns, the session's as counted after it,
its course's, and whether the session may ask registration questions (the booking reads them only
then: service.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    true,
    update,
)

from app.audit.models import AuditEntry
from app.audit.service import entry
from app.booking.emails import booking_email_template, registration_email
from app.booking.models import Registration, RegistrationStatus, registration_state
from app.catalog.availability import bookable_clause
from app.catalog.models import CampSession, Course
from app.common.driver_statements import DriverStatement, insert_columns
from app.common.sql import constant, earliest, plus_seconds, sql_value
from app.common.time import UtcDateTime
from app.mail.models import OutboxMessage
from app.questions.models import Question

sessions, courses = CampSession.__table__, Course.__table__
registrations, outbox, audit = Registration.__table__, OutboxMessage.__table__, AuditEntry.__table__
questions = Question.__table__
# PostgreSQL's statement names the session's and course's tables by one letter: the table's name
# is written some forty times in it, and a shorter statement is parsed once per process by psycopg
# (its cache of statements' conversions takes them up to 4 kB).
s_, c_ = sessions.alias("s"), courses.alias("c")

CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED.value, RegistrationStatus.WAITLISTED.value
PENDING_PAYMENT = RegistrationStatus.PENDING_PAYMENT.value
# The registration columns a booking inserts, in the order _new_registration selects them.
_INSERTED = ["session_id", "user_id", "status", "waitlist_number", "ticket_code", "source", "created_at",
             "confirmed_at", "cancelled_at", "amount_due", "hold_expires_at"]
# What a booking returns of the registration, then of the session as counted after it, then of its
# course: what the booking's answer shows (app/api/schemas.py). No more: every column costs decoding.
# Then whether the session may ask questions. The row is read by position (`Booked.of`): its
# columns need no labels, which keeps PostgreSQL's statement short (psycopg caches its conversion
# of a statement up to 4 kB: tests/test_booking_service.py keeps it under that).
REGISTRATION_COLUMNS = ("id", "session_id", "status", "waitlist_number", "ticket_code", "created_at",
                        "confirmed_at", "amount_due", "hold_expires_at")
SESSION_COLUMNS = ("id", "label", "starts_at", "ends_at", "city", "venue", "address", "price",
                   "capacity", "seats_taken", "waitlisted_count", "registration_opens_at", "registration_closes_at",
                   "is_published")
COURSE_COLUMNS = ("id", "slug", "title", "is_published")


@dataclass(frozen=True)
class Booked:
    """A booking's row, by part: column name -> value of the registration, the session and the course."""

    registration: dict
    session: dict
    course: dict
    # The session or its course has registration questions (_may_ask_questions).
    asks_questions: bool

    @classmethod
    def of(cls, registration_row: Sequence, rest: Sequence) -> Booked:
        """From the registration's columns, then the session's, the course's and the flag (one row
        on PostgreSQL, two on SQLite), in the orders above."""
        after_session = len(SESSION_COLUMNS)
        return cls(dict(zip(REGISTRATION_COLUMNS, registration_row, strict=True)),
                   dict(zip(SESSION_COLUMNS, rest[:after_session], strict=True)),
                   dict(zip(COURSE_COLUMNS, rest[after_session:-1], strict=True)), bool(rest[-1]))


def _now():
    return bindparam("now", type_=UtcDateTime())


def _session_to_book(sessions=s_):
    """The row of session :session_id if it can be booked now (catalog's rule as SQL,
    app/catalog/availability.py, beside its Python form; staff, :by_staff, may book outside the
    registration window) and none of its holds has lapsed unreleased (holds_lapse_at: the booking
    service releases them first, service.release_lapsed_holds), locked (PostgreSQL), with the
    decision: the status the booking gets (a free seat: confirmed, or for a paid session
    pending_payment, held until hold_until; no seat: waitlisted), and the waitlist number and place
    in the queue it gets if it waits."""
    has_seat = sessions.c.seats_taken < sessions.c.capacity
    hold_seconds = func.coalesce(sessions.c.payment_hold_seconds, bindparam("hold_seconds", type_=Integer))
    return (
        select(sessions.c.id.label("session_id"),
               case((has_seat & (sessions.c.price > constant(0)), constant(PENDING_PAYMENT)),
                    (has_seat, constant(CONFIRMED)), else_=constant(WAITLISTED)).label("status"),
               sessions.c.price,
               plus_seconds(_now(), hold_seconds).label("hold_until"),
               (sessions.c.waitlist_issued + constant(1)).label("next_number"),
               # A waitlisted booking's place in the queue: the count after it, as the row is locked.
               (sessions.c.waitlisted_count + constant(1)).label("next_place"),
               _now().label("booked_at"))
        .where(sessions.c.id == bindparam("session_id"),
               # 报名审核: a student's booking of such a session is an application, written by the
               # service (review.py), never a seat from here; staff's adds are seats as always.
               or_(bindparam("by_staff", type_=Boolean), bookable_clause(_now(), sessions)
                   & ~sessions.c.requires_approval),
               or_(sessions.c.holds_lapse_at.is_(None), sessions.c.holds_lapse_at > _now()))
        .with_for_update(of=sessions)  # not rendered on SQLite, where the transaction has the database
    )


def _may_ask_questions(session_id, course_id):
    """Whether a booking of the session (`session_id`, of course `course_id`: SQL) must read its
    registration questions: the session or its course has one. Wider than the rule of which
    questions it asks (its own set replaces its course's: questions/queries.py), which the booking
    applies when this is true."""
    q = questions.alias("q")
    return exists().where(q.c.deleted_at.is_(None), or_(q.c.session_id == session_id, q.c.course_id == course_id))


def _new_registration(target):
    """The new registration's values, as a SELECT from the decided row `target`."""
    def when(status, value):  # NULL otherwise
        return case((target.c.status == constant(status), value))

    return _short_labels(select(
        target.c.session_id,
        bindparam("user_id"),
        target.c.status,
        when(WAITLISTED, target.c.next_number),
        bindparam("ticket_code"),
        bindparam("source"),
        target.c.booked_at,
        when(CONFIRMED, target.c.booked_at),
        null(),
        when(PENDING_PAYMENT, target.c.price),
        when(PENDING_PAYMENT, target.c.hold_until),
    ))


def _short_labels(query):
    """The SELECT with its columns named c0, c1 ... (an INSERT ... SELECT reads them by position;
    SQLAlchemy would write AS anon_12 or a column's whole name)."""
    return query.with_only_columns(*(column.label(f"c{n}") for n, column in enumerate(query.selected_columns)))


def _counted(status, hold_expires_at=None, sessions=sessions) -> dict:
    """The session's counters after one more registration of this status (a column or parameter):
    a confirmed or held seat is taken; a hold's end (`hold_expires_at`, given when the booking may
    be a hold) may be the session's earliest (holds_lapse_at)."""
    seat = cast(status != constant(WAITLISTED), Integer)  # true: 1, false: 0
    waiting = cast(status == constant(WAITLISTED), Integer)
    counted = {"seats_taken": sessions.c.seats_taken + seat, "waitlist_issued": sessions.c.waitlist_issued + waiting,
               "waitlisted_count": sessions.c.waitlisted_count + waiting}
    if hold_expires_at is not None:
        counted["holds_lapse_at"] = earliest(sessions.c.holds_lapse_at, hold_expires_at)
    return counted


def _postgresql_booking():
    """One statement: lock and decide (target), insert the registration (reg), queue its email
    (template by status, composed when sent, with the place in the queue), write its audit entry
    (:action by :actor_id), and, as the statement itself, move the session's counters, returning
    the registration's columns, the session's (as counted after it), the course's and whether it may
    ask questions. No row when the session cannot be booked now or does not exist; a unique
    violation when the person already has an active registration for it."""
    target = _session_to_book().cte("target")
    reg = (insert(registrations).from_select(_INSERTED, _new_registration(target), include_defaults=False)
           .returning(*(registrations.c[name] for name in REGISTRATION_COLUMNS)).cte("reg"))
    booked = reg.join(target, true())
    position = case((reg.c.status == constant(WAITLISTED), target.c.next_place))
    to_address = bindparam("to_address", type_=String)
    email = registration_email(booking_email_template(reg.c.status), reg.c.id, to_address, reg.c.created_at,
                               position)
    # A walk-in staff added without an email address gets no message (mail/service.py skips them
    # the same way on SQLite). The parameter is typed: PostgreSQL cannot infer a type in IS NULL.
    email_insert = insert(outbox).from_select(
        list(email), _row_select(outbox, email).select_from(booked).where(to_address.is_not(None)),
        include_defaults=False)
    audit_entry = entry(bindparam("action", type_=String), bindparam("actor_id"), reg.c.created_at,
                        registration_id=reg.c.id, session_id=reg.c.session_id, account_id=bindparam("user_id"),
                        after=registration_state(reg.c.status, reg.c.session_id, position))
    audit_insert = insert(audit).from_select(
        list(audit_entry), _row_select(audit, audit_entry).select_from(booked), include_defaults=False)
    return (update(s_)
            .where(s_.c.id == reg.c.session_id, c_.c.id == s_.c.course_id)
            .values(**_counted(reg.c.status, reg.c.hold_expires_at, s_))
            .returning(*(reg.c[name] for name in REGISTRATION_COLUMNS), *(s_.c[name] for name in SESSION_COLUMNS),
                       *(c_.c[name] for name in COURSE_COLUMNS), _may_ask_questions(s_.c.id, s_.c.course_id))
            .add_cte(target, reg, email_insert.cte("email"), audit_insert.cte("audited")))


def _row_select(table, row: dict):
    """SELECT of a row built by one of the app's builders (column -> value, SQL or plain; plain
    ones bound with their column's type)."""
    return _short_labels(select(*(sql_value(value, table.c[column].type) for column, value in row.items())))


def _sqlite_insert_registration():
    """The registration, a seat or the next waitlist number decided from the session's row; no row
    when the session cannot be booked now or does not exist."""
    target = _session_to_book().subquery("target")
    return (insert(registrations).from_select(_INSERTED, _new_registration(target), include_defaults=False)
            .returning(*(registrations.c[name] for name in REGISTRATION_COLUMNS)))


def _sqlite_count_registration(hold: bool):
    """The session's counters moved for the registration just inserted (parameter :status; for a
    hold, `hold`, :hold_expires_at too: the statement of the other bookings does not write
    holds_lapse_at, less work while the database is locked); the session's row as it is then, and
    its course's (SQLite's RETURNING names only the updated table, but takes subqueries), and whether
    it may ask questions."""
    course = {name: select(courses.c[name]).where(courses.c.id == sessions.c.course_id).scalar_subquery()
              for name in COURSE_COLUMNS}
    # SQLite writes RETURNING's columns without their tables' names, subqueries' too: the flag's
    # subquery names the session by the parameter, and its course through an alias of its own
    # (q.course_id = camp_sessions.course_id would read as course_id = course_id).
    booked = sessions.alias("b")
    course_id = select(booked.c.course_id).where(booked.c.id == bindparam("session_id")).scalar_subquery()
    hold_expires_at = bindparam("hold_expires_at", type_=UtcDateTime()) if hold else None
    return (update(sessions).where(sessions.c.id == bindparam("session_id"))
            .values(**_counted(bindparam("status"), hold_expires_at))
            .returning(*(sessions.c[name] for name in SESSION_COLUMNS), *(course[name] for name in COURSE_COLUMNS),
                       _may_ask_questions(bindparam("session_id"), course_id)))


# Each built once and run straight on the driver (app/common/driver_statements.py): in a rush the
# booking's statements run while every other booking of the session waits.
postgresql_booking = DriverStatement(_postgresql_booking)
sqlite_insert_registration = DriverStatement(_sqlite_insert_registration)
sqlite_count_registration = {hold: DriverStatement(lambda hold=hold: _sqlite_count_registration(hold))
                             for hold in (False, True)}
# The SQLite booking's audit entry (its email goes through mail.service.queue_message): the row of
# audit.service.entry for a booking, of these columns.
AUDIT_COLUMNS = ("action", "actor_id", "created_at", "registration_id", "session_id", "account_id", "after")
sqlite_audit_insert = DriverStatement(lambda: insert_columns(audit, AUDIT_COLUMNS))
