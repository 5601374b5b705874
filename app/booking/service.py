"""The booking engine: with seats.py, review.py and groups.py, the only code that changes seats and
registration status.

Every public function is one transaction that
1. runs under `@write_transaction`: `begin_write()` first (SQLite: BEGIN IMMEDIATE, the
   database-wide write lock), commit at the end, roll back on any error,
2. locks the camp session's row (`SELECT ... FOR UPDATE`; a PostgreSQL row lock, a no-op on
   SQLite where step 1 already serialises writers),
3. changes seats with conditional UPDATEs (`seats_taken = seats_taken + 1 WHERE seats_taken <
   capacity`), so even a code path that forgot the lock could not overbook,
4. queues its email and writes its audit entry in the same transaction (the email composed when
   sent: emails.py).
The steps every seat change is made of (take a seat, release one, confirm, offer, audit) are in
seats.py, shared with 报名审核 (review.py) and 团体报名 (groups.py).
A booking, by a student or by staff, does all of that in the fewest statements the database allows
(statements.py): one on PostgreSQL, four on SQLite. The database has the last word: a CHECK keeps seats_taken within
capacity, a partial unique index allows one active registration per person and session, another
keeps waitlist numbers unique.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from blinker import Namespace
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from app.accounts import service as accounts
from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import entry, record
from app.booking import statements
from app.booking.emails import (
    OFFERED_BY_EXPIRY,
    PROMOTED_BY_CANCELLATION,
    PROMOTED_BY_CAPACITY,
    PROMOTED_BY_MOVE,
    PROMOTED_BY_STAFF,
    booking_email_template,
    queue_registration_email,
)
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
    RegistrationNotFound,
    SessionChanging,
    SessionFull,
    SessionNotFound,
)
from app.booking.models import (
    HOLD_STATUSES,
    OPEN_STATUSES,
    Registration,
    RegistrationStatus,
    registration_state,
)
from app.booking.seats import (
    audit_change,
    audit_state,
    check_bookable,
    confirm,
    leave_waitlist,
    note_hold,
    offer,
    recount_holds_lapse,
    release_seats,
    take_seat,
    waitlist_position,
    waitlist_positions,  # noqa: F401 (pages and the API read a queue's places here, with the rest of a booking)
)
from app.booking.tickets import new_ticket_code
from app.catalog import service as catalog
from app.catalog.models import CampSession, Course
from app.common.db import begin_write, in_write_transaction, write_transaction
from app.common.time import utcnow
from app.extensions import db
from app.questions import service as questions
from app.questions.answers import GivenAnswer

# A cancelled registration had been paid for (sent inside the cancellation's transaction, under the
# session's lock): the payments service decides the refund its course's policy gives.
paid_registration_cancelled = Namespace().signal("paid-registration-cancelled")


@dataclass
class BookingOutcome:
    """What a booking did. `registration`: for a new booking, the registration with its session and
    course as the booking's own statements returned them (nothing is read back, so it is not
    attached to the database session: reading a value they did not return fails loudly); for a
    repeated booking, the person's existing registration."""

    registration: Registration
    created: bool  # False when the person already had an active registration (double click)
    waitlist_position: int | None  # 1 for the head of the queue; None when confirmed
    # A new booking's answers to the registration questions, as stored (complete_profile_and_book);
    # None when not known without reading them (a repeated booking, or a booking by book_seat).
    answers: list[GivenAnswer] | None = None


@dataclass
class CancellationOutcome:
    registration: Registration
    promoted: list[Registration] = field(default_factory=list)  # given the seat it freed


@dataclass
class MoveOutcome:
    registration: Registration  # now in the target session
    promoted: list[Registration] = field(default_factory=list)  # given the seat it left


# --- reading ------------------------------------------------------------------------------

def active_registration(user_id: int, session_id: int) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.user_id == user_id,
            Registration.session_id == session_id,
            Registration.status.in_(OPEN_STATUSES),  # a pending application too
        )
    )


def registrations_of(user_id: int) -> list[Registration]:
    """A student's registrations, the latest session first, with session and course loaded; a
    hold past its time shown as what it is (released first: release_lapsed_holds_of)."""
    query = (select(Registration)
             .join(Registration.session)
             .where(Registration.user_id == user_id)
             .order_by(CampSession.starts_at.desc(), Registration.id.desc())
             .options(selectinload(Registration.session).selectinload(CampSession.course)))
    found = list(db.session.scalars(query))
    return list(db.session.scalars(query)) if release_lapsed_holds_of(found) else found


def registration_of(user_id: int, registration_id: int, release_lapsed: bool = True) -> Registration | None:
    """One of this person's registrations (any status), with its session and course; None when
    there is no such registration or it is someone else's (their ticket page is a 404 to others).
    A hold past its time is released first, unless `release_lapsed` is False."""
    query = (select(Registration)
             .where(Registration.id == registration_id, Registration.user_id == user_id)
             .options(joinedload(Registration.session).joinedload(CampSession.course)))
    found = db.session.scalar(query)
    if found is not None and release_lapsed and release_lapsed_holds_of([found]):
        return db.session.scalar(query)
    return found


def release_lapsed_holds_of(registrations: list[Registration]) -> bool:
    """Release the sessions of any of these holds whose time has run out (what a booking or a
    listing of the session would do), so a person's own pages never show a hold past its time as
    待支付; whether anything was due (the caller reads them again)."""
    now = utcnow()
    due = {r.session_id for r in registrations if r.status.is_hold and r.hold_expires_at <= now}
    for session_id in sorted(due):
        release_lapsed_holds(session_id, now)
    return bool(due)


# The audit note of an automatic promotion or offer, by what freed the seat (emails.PROMOTION_REASONS).
_PROMOTION_NOTES = {
    PROMOTED_BY_CANCELLATION: "有学员取消报名，名额空出，按候补顺序",
    PROMOTED_BY_MOVE: "有学员调整场次，名额空出，按候补顺序",
    PROMOTED_BY_CAPACITY: "场次增加名额，按候补顺序",
    OFFERED_BY_EXPIRY: "有名额逾期未支付，已释放，按候补顺序",
}


def _promote_waiting(camp: CampSession, now: datetime, reason: str) -> list[Registration]:
    """Fill free seats from the waitlist, in order of arrival: a free session's waiting people are
    confirmed; a paid session's are offered the seat, held for them while they pay (the next in
    line is offered a seat only when it is free: an offer that runs out passes it on). A waiting
    group (团体报名, groups.py) is seated all together or not yet: while fewer seats are free than it
    has waiting members, it keeps its place and the seats go to the next who fit. `reason`: what
    freed them (a key of _PROMOTION_NOTES), said in the audit entry and in the email."""
    db.session.refresh(camp, ["capacity", "seats_taken", "price"])
    free = camp.capacity - camp.seats_taken
    if free <= 0:
        return []
    queue = db.session.scalars(
        select(Registration)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.WAITLISTED,
               Registration.id.in_(_next_to_seat(camp.id, free)))
        .order_by(Registration.waitlist_number)
    ).all()
    promoted = []
    for registration in queue:
        if take_seat(camp, for_waiting_person=True) is None:
            break
        before = audit_state(registration)
        if camp.is_paid:
            offer(camp, registration, now)
            audit_change(AuditAction.REGISTRATION_OFFER, None, registration, before,
                         note=_PROMOTION_NOTES[reason] + "保留名额，待支付")
            queue_registration_email("booking_offered", registration.id, registration.user.email)
        else:
            confirm(registration, now)
            audit_change(AuditAction.REGISTRATION_PROMOTE, None, registration, before,
                         note=_PROMOTION_NOTES[reason] + "自动转正")
            queue_registration_email("booking_promoted", registration.id, registration.user.email,
                                     promotion_reason=reason)
        promoted.append(registration)
    return promoted


def _next_to_seat(session_id: int, free: int) -> list[int]:
    """The waiting registrations `free` seats go to: in queue order, a person alone or a group's
    waiting members together (placed where its first waiting member is), each taken if it fits in
    the seats still free. Reads only ids: the queue of a full session may be long."""
    waiting = db.session.execute(
        select(Registration.id, Registration.group_id)
        .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.waitlist_number)).all()
    units: list[list[int]] = []
    of_group: dict[int, list[int]] = {}
    for registration_id, group_id in waiting:
        if group_id is None:
            units.append([registration_id])
        elif group_id in of_group:
            of_group[group_id].append(registration_id)
        else:
            of_group[group_id] = [registration_id]
            units.append(of_group[group_id])
    chosen: list[int] = []
    for unit in units:
        if len(unit) <= free:
            chosen.extend(unit)
            free -= len(unit)
            if free == 0:
                break
    return chosen


def _leave(camp: CampSession, held_seat: bool, now: datetime, reason: str) -> list[Registration]:
    """A registration has left `camp` (cancelled or moved): its seat goes to the head of the
    waitlist (the promoted are returned), or the queue it was in is one shorter."""
    if held_seat:
        release_seats(camp)
        return _promote_waiting(camp, now, reason)
    leave_waitlist(camp)
    return []


# --- what people do -------------------------------------------------------------------------

def book_seat(user: User, session_id: int, source: str = "web", now: datetime | None = None) -> BookingOutcome:
    """Book a seat, or a place on the waitlist when the session is full.

    Booking twice (double click, parallel requests, a retry) returns the existing registration.
    In a rush every booking of a session waits for the same lock (the session's row on
    PostgreSQL, the database on SQLite), so a booking writes first, with every rule in the
    statements' WHERE clauses, and reads only to explain a booking that did not happen (session
    closed or unknown, already registered). The answer is what the statements returned.
    """
    return _book(user, session_id, source, now or utcnow(), unanswered=False)


def _book(user: User, session_id: int, source: str, now: datetime, unanswered: bool) -> BookingOutcome:
    """book_seat; `unanswered`: the booking carries no answers to the registration questions and
    must be refused (InvalidAnswers, nothing written) if the session requires any. The questions
    are then read only when the booking statements say the session may ask some, in the booking's
    transaction before it commits; a booking that writes nothing reads them before it explains
    why, so a missing answer is said before any other refusal, as complete_profile_and_book promises."""
    user_id = user.id
    if not (user.name and user.phone):
        if unanswered:
            questions.answers_for_booking(session_id, None)
        # Said after what is wrong with the session, if anything: no use completing a profile for it.
        existing = _existing_or_refusal(user_id, session_id, now)
        if existing is not None:
            return existing
        raise ProfileIncomplete()
    values = _booking_values(user, session_id, source, now)
    for _attempt in range(3):
        booked = _write_booking(values, unanswered)
        if booked is not None:
            return booked
        if unanswered:
            questions.answers_for_booking(session_id, None)
            unanswered = False  # checked: another write is that of a booking whose answers were checked
        existing = _existing_or_refusal(user_id, session_id, now)
        if existing is not None:
            return existing
        if db.session.get(CampSession, session_id).requires_approval:
            # 报名审核: the statements book no seat here for a student; the booking is an application.
            applied = _submit_application(user, session_id, source, now)
            if applied is not None:
                return applied
        # Bookable now, though it was not when the statements ran (registration opened, or the
        # person's registration was cancelled, in between): write again.
    raise SessionChanging()


@write_transaction
def _submit_application(user: User, session_id: int, source: str, now: datetime) -> BookingOutcome | None:
    """A booking of a session that requires approval: an application (pending_review), which takes
    no seat and no place in the queue, so it is written without the seat statements; its audit
    entry and the 已收到报名申请 email with it. A second one returns the first (the partial unique
    index counts pending applications). None when the session stopped requiring approval meanwhile
    (the caller books it as any other)."""
    camp = catalog.lock_session(session_id)
    if not camp.requires_approval:
        return None
    check_bookable(camp, now)
    registration = Registration(session_id=camp.id, user_id=user.id, status=RegistrationStatus.PENDING_REVIEW,
                                ticket_code=new_ticket_code(), source=source[:40], created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except IntegrityError:  # already applied or registered (a double tap)
        existing = active_registration(user.id, camp.id)
        if existing is None:
            raise
        return BookingOutcome(existing, created=False, waitlist_position=waitlist_position(existing))
    audit_change(AuditAction.APPLICATION_SUBMIT, user, registration, None)
    queue_registration_email("application_received", registration.id, user.email)
    return BookingOutcome(registration, created=True, waitlist_position=None)


def complete_profile_and_book(user: User, session_id: int, *, name: str | None = None, phone: str | None = None,
                              answers: Mapping[object, object] | None = None, source: str = "web",
                              now: datetime | None = None) -> BookingOutcome:
    """A person's booking from the booking page or the API: fill in the 姓名 or 手机号 their profile
    lacks (`name`, `phone`: what they typed; None when not asked), answer the session's registration
    questions (`answers`: {question id: value}, app/questions/answers.py) and book, as one write
    transaction. The answers are checked before anything commits, and said wrong before any other
    refusal (InvalidAnswers, nothing written); a booking refused
    (the session closed or went since the page was shown) leaves the profile as it was; a phone
    number someone else has books nothing. A repeated booking (the person's existing registration)
    stores no second set of answers. With nothing to fill in and no answers (the rush path: a
    session without questions, the API's clients that send none), this is book_seat, which reads
    the questions only when its statements say the session may ask some (_book)."""
    if not name and not phone and not answers:
        outcome = _book(user, session_id, source, now or utcnow(), unanswered=True)
        given: list[GivenAnswer] = []
    else:
        given = questions.answers_for_booking(session_id, answers)
        if not name and not phone and not given:
            outcome = book_seat(user, session_id, source=source, now=now)
        else:
            outcome = _complete_profile_and_book(user, session_id, name, phone, given, source, now)
    if outcome.created:
        outcome.answers = given
    return outcome


@write_transaction
def _complete_profile_and_book(user: User, session_id: int, name: str | None, phone: str | None,
                               given: list[GivenAnswer], source: str, now: datetime | None) -> BookingOutcome:
    if name or phone:
        accounts.complete_profile(user, name=name, phone=phone)
    outcome = book_seat(user, session_id, source=source, now=now)
    if outcome.created and given:
        # After the booking's statements, in their transaction (and, on PostgreSQL, under the
        # session's row lock they took): the registration and its answers commit together.
        questions.record_answers(outcome.registration.id, given)
    return outcome


def _booking_values(user: User, session_id: int, source: str, now: datetime, actor: User | None = None) -> dict:
    """The booking statements' parameters: `user` books `session_id`, by themselves or, with
    `actor`, by staff (no registration window; audited as staff's)."""
    by_staff = actor is not None
    return {"session_id": session_id, "user_id": user.id, "to_address": user.email, "source": source[:40],
            "ticket_code": new_ticket_code(), "now": now, "by_staff": by_staff,
            "hold_seconds": current_app.config["PAYMENT_HOLD_SECONDS"],
            "action": (AuditAction.REGISTRATION_ADD if by_staff else AuditAction.REGISTRATION_BOOK).value,
            "actor_id": actor.id if by_staff else user.id}


def _existing_or_refusal(user_id: int, session_id: int, now: datetime) -> BookingOutcome | None:
    """The person's active registration for the session as the outcome of a repeated booking;
    else the reason the session cannot be booked, raised as its domain error; else None."""
    existing = active_registration(user_id, session_id)
    if existing is not None:
        return BookingOutcome(existing, created=False, waitlist_position=waitlist_position(existing))
    camp = db.session.get(CampSession, session_id)
    if camp is None:
        raise SessionNotFound()
    check_bookable(camp, now)
    if camp.holds_lapse_at is not None and camp.holds_lapse_at <= now:
        # A hold ran out and was not released yet (the statements book no session in that state):
        # release it, its seat going down the waiting list as it should, then book.
        release_lapsed_holds(session_id, now)
    return None


def release_if_due(camp: CampSession | None, now: datetime) -> None:
    """Release the session's holds past their time, if it may have any (holds_lapse_at reached):
    before staff count its seats (staff add, move, promote by hand, capacity), as a booking does."""
    if camp is not None and camp.holds_lapse_at is not None and camp.holds_lapse_at <= now:
        release_lapsed_holds(camp.id, now)


@write_transaction
def release_lapsed_holds(session_id: int, now: datetime | None = None) -> list[Registration]:
    """End the session's holds and offers whose time ran out unpaid (expired, with their email and
    audit entry) and give their seats down the waiting list (offers, in order); the ended
    registrations. Run by the next booking or listing of the session and by the payments worker
    (`flask payments work`), whichever comes first; a second run finds nothing."""
    now = now or utcnow()
    camp = catalog.lock_session(session_id)
    lapsed = db.session.scalars(
        select(Registration)
        .where(Registration.session_id == camp.id, Registration.status.in_(HOLD_STATUSES),
               Registration.hold_expires_at <= now)
        .order_by(Registration.hold_expires_at, Registration.id)
    ).all()
    for registration in lapsed:
        before = audit_state(registration)
        registration.status = RegistrationStatus.EXPIRED
        db.session.flush()
        audit_change(AuditAction.REGISTRATION_EXPIRE, None, registration, before, note="逾期未支付，名额释放")
        queue_registration_email("booking_expired", registration.id, registration.user.email)
    if lapsed:
        release_seats(camp, len(lapsed))
        _promote_waiting(camp, now, OFFERED_BY_EXPIRY)
    recount_holds_lapse(camp)
    return list(lapsed)


@catalog.holds_lapsed.connect
def _release_before_listing(session_ids: list[int], *, now: datetime) -> None:
    for session_id in session_ids:
        release_lapsed_holds(session_id, now)


def sessions_with_lapsed_holds(now: datetime | None = None) -> list[int]:
    """The sessions with a hold or offer that may have run out (holds_lapse_at reached)."""
    return list(db.session.scalars(
        select(CampSession.id).where(CampSession.holds_lapse_at <= (now or utcnow())).order_by(CampSession.id)))


def _write_booking(values: dict, unanswered: bool = False) -> BookingOutcome | None:
    """Run the booking's statements in one write transaction and commit: the outcome, or None
    (rolled back) when the session cannot be booked now, does not exist, or the person already
    has an active registration for it. The outcome is built after the commit: while the
    transaction is open, every other booking of the session waits for it. `unanswered`: see
    _book (InvalidAnswers rolls it back).

    As a step of a caller's write transaction (complete_profile_and_book), see _write_booking_step."""
    if in_write_transaction():
        return _write_booking_step(values, unanswered)
    begin_write()
    try:
        booked = _booking_statements(values, unanswered)
        if booked is None:
            db.session.rollback()
            return None
        db.session.commit()
    except IntegrityError:  # the partial unique index: already registered (a double click)
        db.session.rollback()
        return None
    except BaseException:
        db.session.rollback()
        raise
    return _outcome(booked)


def _write_booking_step(values: dict, unanswered: bool) -> BookingOutcome | None:
    """_write_booking inside a caller's write transaction: the same statements, in a savepoint so
    that a double booking's unique-index error undoes only them; the caller commits."""
    try:
        with db.session.begin_nested():
            booked = _booking_statements(values, unanswered)
    except IntegrityError:  # already registered (a double click); the caller's transaction goes on
        return None
    return None if booked is None else _outcome(booked)


def _booking_statements(values: dict, unanswered: bool) -> statements.Booked | None:
    """The booking's statements for this database: what they returned, or None (nothing booked).
    A booking with no answers (`unanswered`) of a session that may ask questions reads them now,
    before its transaction commits: InvalidAnswers if one it skipped is required."""
    if db.session.get_bind().dialect.name == "postgresql":
        booked = _write_booking_postgresql(values)
    else:
        booked = _write_booking_sqlite(values)
    if booked is not None and unanswered and booked.asks_questions:
        questions.answers_for_booking(values["session_id"], None)
    return booked


def _write_booking_postgresql(values: dict) -> statements.Booked | None:
    """One statement, whose row has the registration's columns, the session's and the course's."""
    row = statements.postgresql_booking.execute(db.session.connection(), values)
    if row is None:
        return None
    registration_columns = len(statements.REGISTRATION_COLUMNS)
    return statements.Booked.of(row[:registration_columns], row[registration_columns:])


def _write_booking_sqlite(values: dict) -> statements.Booked | None:
    """Four statements: the registration, the counters (with the course's columns), the email (the
    mail service's own insert) and the audit entry; the last two rows from the builders
    PostgreSQL's statement uses, with values."""
    connection = db.session.connection()
    inserted = statements.sqlite_insert_registration.execute(connection, values)
    if inserted is None:
        return None
    registration = dict(zip(statements.REGISTRATION_COLUMNS, inserted, strict=True))
    registration_id, session_id, created_at = registration["id"], registration["session_id"], registration["created_at"]
    hold_expires_at = registration["hold_expires_at"]
    counted = statements.sqlite_count_registration[hold_expires_at is not None].execute(
        connection, {"session_id": session_id, "status": registration["status"], "hold_expires_at": hold_expires_at})
    booked = statements.Booked.of(inserted, counted)
    status = RegistrationStatus(registration["status"])
    position = booked.session["waitlisted_count"] if status is RegistrationStatus.WAITLISTED else None
    queue_registration_email(booking_email_template(status), registration_id, values["to_address"], position,
                             queued_at=created_at)
    audit_entry = entry(values["action"], values["actor_id"], created_at, registration_id=registration_id,
                        session_id=session_id, account_id=values["user_id"],
                        after=registration_state(status.value, session_id, position))
    statements.sqlite_audit_insert.execute(connection, _row_of(audit_entry, statements.AUDIT_COLUMNS))
    return booked


def _row_of(row: dict, columns: tuple[str, ...]) -> dict:
    """A builder's row for a statement of these columns, which must be exactly its columns (a
    builder that gained one, or an entry with another subject, would otherwise lose it without a word)."""
    if set(row) != set(columns):
        raise ValueError(f"row of {sorted(row)} for a statement of {sorted(columns)}")
    return row


def _outcome(booked: statements.Booked) -> BookingOutcome:
    """A new booking's outcome from the values its statements returned, with no read back. The
    objects are detached: reading a value that was not returned fails loudly instead of loading."""
    course = _as_loaded(Course, booked.course)
    camp = _as_loaded(CampSession, booked.session)
    registration = _as_loaded(Registration, {**booked.registration, "cancelled_at": None,
                                             "status": RegistrationStatus(booked.registration["status"])})
    set_committed_value(camp, "course", course)
    set_committed_value(registration, "session", camp)
    waiting = registration.status is RegistrationStatus.WAITLISTED
    # Waitlisted: the newest in the queue, so its place is the queue's length after it.
    return BookingOutcome(registration, created=True, waitlist_position=camp.waitlisted_count if waiting else None)


def _as_loaded(model: type, values: dict):
    """A detached `model` object of these column values, as a query would have loaded it (the
    ORM's own loading puts a row's values in the new object's dict the same way), the other
    columns expired. The constructor would record each value as a change first, then
    make_transient_to_detached forget them: half of what building a booking's answer cost."""
    loaded = model.__mapper__.class_manager.new_instance()
    instance_dict(loaded).update(values)
    make_transient_to_detached(loaded)
    return loaded


@write_transaction
def cancel_registration(
    registration_id: int, actor: User, by_staff: bool = False, now: datetime | None = None
) -> CancellationOutcome:
    """Cancel a registration; a freed seat goes to the head of the waitlist in the same transaction.

    Students may cancel only their own registrations (and a group's booker, its attendees'), until
    the session's cancellation deadline; someone else's registration is "not found" to them.
    Staff (`by_staff`) may cancel any, any time.
    """
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None or not (by_staff or registration.user_id == actor.id or registration.is_booked_by(actor)):
        raise RegistrationNotFound()
    camp = catalog.lock_session(registration.session_id)
    db.session.refresh(registration)  # re-read under the lock
    if registration.session_id != camp.id:
        # Moved to another session while we waited for the lock: the lock held is the wrong
        # session's, and releasing a seat there would undercount it.
        raise RegistrationChanged()
    if registration.status is RegistrationStatus.PENDING_REVIEW:
        # An application holds nothing: withdrawn (撤回申请) at any time while it waits for review.
        registration.status = RegistrationStatus.WITHDRAWN
        registration.cancelled_at = now
        db.session.flush()
        audit_change(AuditAction.APPLICATION_WITHDRAW, actor, registration, registration_state(
            RegistrationStatus.PENDING_REVIEW.value, registration.session_id))
        return CancellationOutcome(registration)
    if not registration.is_active:  # cancelled, or an expired hold: nothing left to cancel
        raise AlreadyCancelled()
    if not by_staff and not camp.can_student_cancel(now):
        raise CancellationClosed()

    held_seat = registration.status.holds_seat
    before = audit_state(registration)
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlist_number = None
    registration.cancelled_at = now
    db.session.flush()
    audit_change(AuditAction.REGISTRATION_CANCEL, actor, registration, before)
    # Money was paid for it: what the refund policy gives back is decided in this transaction.
    paid = registration.amount_paid > registration.amount_refunded
    if paid and not paid_registration_cancelled.send(registration, now=now):
        raise RuntimeError("no receiver for paid_registration_cancelled: app.payments.refunds is not imported")
    promoted = _leave(camp, held_seat, now, PROMOTED_BY_CANCELLATION)
    queue_registration_email("booking_cancelled", registration.id, registration.user.email)
    return CancellationOutcome(registration, promoted)


@write_transaction
def change_capacity(session_id: int, new_capacity: int, now: datetime | None = None,
                    actor: User | None = None) -> list[Registration]:
    """Set a session's capacity; refuse to go below the confirmed count; fill new seats from the waitlist."""
    camp = catalog.lock_session(session_id)
    return apply_capacity(camp, new_capacity, now or utcnow(), actor)


def apply_capacity(camp: CampSession, new_capacity: int, now: datetime,
                   actor: User | None = None) -> list[Registration]:
    """The capacity rule, for a caller that already holds the session's lock in its transaction
    (the admin form saves capacity together with the session's other fields)."""
    if new_capacity < camp.seats_taken:
        raise CapacityBelowConfirmed(camp.seats_taken)
    if new_capacity != camp.capacity:
        record(AuditAction.SESSION_CAPACITY, actor, session_id=camp.id, before={"capacity": camp.capacity},
               after={"capacity": new_capacity})
    camp.capacity = new_capacity
    db.session.flush()
    return _promote_waiting(camp, now, PROMOTED_BY_CAPACITY)


@catalog.capacity_requested.connect
def _apply_requested_capacity(camp: CampSession, *, capacity: int, actor: User | None,
                              now: datetime) -> list[Registration]:
    """The catalogue's session editor saves a capacity with the session's other fields, in its
    transaction and under the session's lock: the capacity rule applies, as above."""
    return apply_capacity(camp, capacity, now, actor)



# --- what staff do --------------------------------------------------------------------------

def staff_add(session_id: int, user: User, actor: User, now: datetime | None = None) -> Registration:
    """Staff put a person on a session (walk-in, phone booking): a seat if one is free, else the
    waitlist, by the same statements as a student's booking. The registration window does not
    apply; the capacity does. The registration, attached to the database session (the roster's
    page reads its person)."""
    now = now or utcnow()
    if not (user.name and user.phone):
        _refuse_staff_add(user.id, session_id)
        raise ProfileIncomplete()
    release_if_due(db.session.get(CampSession, session_id), now)  # the statements book no such session
    booked = _write_booking(_booking_values(user, session_id, "staff", now, actor=actor))
    if booked is None:
        _refuse_staff_add(user.id, session_id)
        # The person's registration was there when the statements ran and gone when asked (a
        # cancellation in between): rare, and worth another press of the button.
        raise SessionChanging()
    return db.session.get(Registration, booked.registration.id)


def _refuse_staff_add(user_id: int, session_id: int) -> None:
    if active_registration(user_id, session_id) is not None:
        raise AlreadyRegistered()
    if db.session.get(CampSession, session_id) is None:
        raise SessionNotFound()


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
    camp = catalog.lock_session(registration.session_id)
    release_if_due(camp, now)  # a lapsed hold's seat goes down the queue first, in order
    db.session.refresh(camp)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.WAITLISTED:
        raise NotWaitlisted()
    note = "工作人员手动转正"
    if take_seat(camp, for_waiting_person=True) is None:
        if not add_seat_if_full:
            raise SessionFull()
        # One more seat, for this person: not through apply_capacity, which would give it to
        # the head of the waitlist. The lock means nobody else can take it meanwhile.
        db.session.refresh(camp, ["capacity"])
        record(AuditAction.SESSION_CAPACITY, actor, session_id=camp.id, before={"capacity": camp.capacity},
               after={"capacity": camp.capacity + 1}, note="手动转正增加名额")
        camp.capacity += 1
        db.session.flush()
        if take_seat(camp, for_waiting_person=True) is None:
            raise SessionFull()
        note = "工作人员手动转正（名额 +1）"
    before = audit_state(registration)
    if camp.is_paid:  # the seat is theirs to pay for, as any offer: never confirmed unpaid
        offer(camp, registration, now)
        audit_change(AuditAction.REGISTRATION_OFFER, actor, registration, before, note=note + "，待支付")
        queue_registration_email("booking_offered", registration.id, registration.user.email)
        return registration
    confirm(registration, now)
    audit_change(AuditAction.REGISTRATION_PROMOTE, actor, registration, before, note=note)
    queue_registration_email("booking_promoted", registration.id, registration.user.email,
                             promotion_reason=PROMOTED_BY_STAFF)
    return registration


@write_transaction
def move_registration(registration_id: int, target_session_id: int, actor: User,
                      now: datetime | None = None) -> MoveOutcome:
    """Move a person to another session of the same course, only into a free seat. A seat freed
    in the old session goes to the head of its waitlist, in the same transaction. What they had
    comes with them: what they paid counts there; a seat in a paid session that it does not pay for
    is held for payment (a hold keeps its time, anyone else is offered it), otherwise confirmed."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    source_id = registration.session_id
    if target_session_id == source_id:
        raise MoveToSameSession()
    # Lock both rows, lower id first, so two opposite moves cannot deadlock.
    locked = {sid: catalog.lock_session(sid) for sid in sorted((source_id, target_session_id))}
    for camp in locked.values():
        release_if_due(camp, now)
        db.session.refresh(camp)
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
    if take_seat(target) is None:
        raise SessionFull()
    held_seat = registration.status.holds_seat
    before = audit_state(registration)
    registration.session_id = target.id
    registration.reminded_at = None  # a reminder told of the old session; the new one gets its own
    if target.is_paid and registration.amount_kept < target.price:
        # Not paid for there (yet): a hold keeps its time and now owes the target's price; anyone
        # else (waiting, or confirmed in a free or cheaper session) is offered the seat to pay for.
        if registration.status.is_hold:
            registration.amount_due = target.price
            note_hold(target, registration.hold_expires_at)
        else:
            offer(target, registration, now)
    else:
        confirm(registration, now)
    db.session.flush()
    audit_change(AuditAction.REGISTRATION_MOVE, actor, registration, before)
    promoted = _leave(source, held_seat, now, PROMOTED_BY_MOVE)
    queue_registration_email("booking_moved", registration.id, registration.user.email)
    return MoveOutcome(registration, promoted)


# --- paid seats -----------------------------------------------------------------------------
# The payments service (app/payments/service.py) writes the money; these are the registration's
# side of it, as steps of its transactions, with the session's row locked (lock_for_payment).

def lock_for_payment(registration_id: int) -> tuple[Registration, CampSession]:
    """The registration and its session, the session's row locked and the registration read
    again under it: a payment, an expiry and a booking of the session happen one after another."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    camp = catalog.lock_session(registration.session_id)
    db.session.refresh(registration)
    if registration.session_id != camp.id:  # moved while we waited for the lock
        raise RegistrationChanged()
    return registration, camp


def confirm_paid_hold(registration: Registration, amount: Decimal, now: datetime) -> bool:
    """A payment of `amount` has been added to this registration's amount_paid (the caller holds
    the lock, lock_for_payment): its held or offered seat is confirmed if the money it keeps now
    (paid less refunded) is exactly what is due (the rule of Registration.amount_outstanding, what
    an order asks for), with the ticket email. False when it holds no seat to pay for (expired,
    cancelled, already paid) or the amount does not make what is due: the caller gives that
    payment back. A hold whose time ran out but which was not released yet is still this person's
    seat (nobody else has it), so its payment confirms it."""
    if not registration.status.is_hold or registration.amount_kept != registration.amount_due:
        return False
    before = audit_state(registration)
    confirm(registration, now)
    registration.paid_at = now
    db.session.flush()
    audit_change(AuditAction.REGISTRATION_PAY, None, registration, before)
    queue_registration_email("booking_paid", registration.id, registration.user.email)
    return True


def extend_hold(registration: Registration, camp: CampSession, seconds: int) -> bool:
    """Hold the seat `seconds` from now at least (a bank transfer takes days); False when the
    registration holds no seat for a payment. Never shortens a hold."""
    if not registration.status.is_hold:
        return False
    until = utcnow() + timedelta(seconds=seconds)
    if registration.hold_expires_at < until:
        registration.hold_expires_at = until
        db.session.flush()
    return True
