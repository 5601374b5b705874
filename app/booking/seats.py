"""The steps every seat change is made of: for the booking service (service.py), 报名审核 (review.py)
and 团体报名 (groups.py). Each is a step of a write transaction that holds the session's lock
(catalog.lock_session): the counters move only by conditional UPDATEs whose WHERE clause is the
rule (a seat only if seats_taken < capacity), a registration's status with them, and each change
is audited with the registration's state before and after. Nothing here commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking.errors import (
    RegistrationEnded,
    RegistrationNotOpenYet,
    SessionAlreadyStarted,
    SessionNotPublished,
)
from app.booking.models import HOLD_STATUSES, Registration, RegistrationStatus, registration_state
from app.catalog.availability import BookingRefusal, booking_refusal
from app.catalog.models import CampSession
from app.common.errors import DomainError
from app.extensions import db

# --- the queue ----------------------------------------------------------------------------------


def waitlist_position(registration: Registration) -> int | None:
    """1 for the head of the queue; None when not waitlisted."""
    return waitlist_positions([registration]).get(registration.id)


def waitlist_positions(registrations: Iterable[Registration]) -> dict[int, int]:
    """Registration id -> place in its session's queue (1 = next to get a seat), for the waitlisted
    ones among these registrations, of any sessions, in one statement (a page of them is one query)."""
    waiting = [r.id for r in registrations if r.status is RegistrationStatus.WAITLISTED]
    if not waiting:
        return {}
    ahead = aliased(Registration)
    place = (
        select(func.count())
        .where(ahead.session_id == Registration.session_id, ahead.status == RegistrationStatus.WAITLISTED,
               ahead.waitlist_number <= Registration.waitlist_number)
        .correlate(Registration)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Registration.id, place).where(Registration.id.in_(waiting)))
    return {registration_id: position for registration_id, position in rows}


# --- the counters and the registration's status ----------------------------------------------------

# Each reason a session cannot be booked (catalog's one rule) as the booking's domain error,
# whose code the API answers with.
_REFUSAL_ERRORS: dict[BookingRefusal, type[DomainError]] = {
    BookingRefusal.NOT_PUBLISHED: SessionNotPublished,
    BookingRefusal.ENDED: SessionAlreadyStarted,
    BookingRefusal.STARTED: SessionAlreadyStarted,
    BookingRefusal.NOT_OPEN_YET: RegistrationNotOpenYet,
    BookingRefusal.CLOSED: RegistrationEnded,
}


def check_bookable(camp: CampSession, now: datetime) -> None:
    """Raise the domain error of the reason `camp` cannot be booked at `now`, if any. The booking
    statement applies the same rule in SQL (availability.bookable_clause)."""
    refusal = booking_refusal(camp, now)
    if refusal is not None:
        raise _REFUSAL_ERRORS[refusal]()


def move_counts(camp: CampSession, *conditions, **changes) -> Row | None:
    """UPDATE the locked session's counters (`changes`: column=expression) where `conditions`
    hold; the new (seats_taken, capacity), or None if the conditions did not hold."""
    sessions = CampSession.__table__
    counts = db.session.connection().execute(
        update(sessions).where(sessions.c.id == camp.id, *conditions).values(**changes)
        .returning(sessions.c.seats_taken, sessions.c.capacity)
    ).first()
    # Changed in SQL: a loaded object must read them again when next asked.
    db.session.expire(camp, ["seats_taken", "waitlist_issued", "waitlisted_count"])
    return counts


def take_seat(camp: CampSession, for_waiting_person: bool = False) -> Row | None:
    """Take one confirmed seat if one is free (the WHERE clause is the capacity rule); for a
    waiting person, who then leaves the waitlist, in the same UPDATE."""
    sessions = CampSession.__table__
    changes = {"seats_taken": sessions.c.seats_taken + 1}
    if for_waiting_person:
        changes["waitlisted_count"] = sessions.c.waitlisted_count - 1
    return move_counts(camp, sessions.c.seats_taken < sessions.c.capacity, **changes)


def release_seats(camp: CampSession, count: int = 1) -> None:
    """Seats given back (cancelled, moved away, a hold run out). The CHECK seats_taken >= 0
    refuses a count below zero: that would be a bug, not a state to hide."""
    sessions = CampSession.__table__
    move_counts(camp, seats_taken=sessions.c.seats_taken - count)


def recount_holds_lapse(camp: CampSession) -> None:
    """holds_lapse_at: the earliest end of the session's holds and offers now (None: none)."""
    sessions = CampSession.__table__
    earliest = (select(func.min(Registration.hold_expires_at))
                .where(Registration.session_id == camp.id, Registration.status.in_(HOLD_STATUSES))
                .scalar_subquery())
    db.session.connection().execute(update(sessions).where(sessions.c.id == camp.id).values(holds_lapse_at=earliest))
    db.session.expire(camp, ["holds_lapse_at"])


def note_hold(camp: CampSession, ends_at: datetime) -> None:
    """A new hold or offer of the session ends at `ends_at`: no hold may lapse unnoticed, so
    holds_lapse_at moves back to it if it is earlier."""
    sessions = CampSession.__table__
    lapse = sessions.c.holds_lapse_at
    db.session.connection().execute(
        update(sessions).where(sessions.c.id == camp.id, (lapse.is_(None)) | (lapse > ends_at))
        .values(holds_lapse_at=ends_at))
    db.session.expire(camp, ["holds_lapse_at"])


def leave_waitlist(camp: CampSession) -> None:
    """One person fewer waiting (moved or cancelled). The CHECK waitlisted_count >= 0
    refuses a count that would go below zero: it would mean a bug, not a state to hide."""
    sessions = CampSession.__table__
    move_counts(camp, waitlisted_count=sessions.c.waitlisted_count - 1)


def confirm(registration: Registration, now: datetime) -> None:
    registration.status = RegistrationStatus.CONFIRMED
    registration.waitlist_number = None
    registration.confirmed_at = now


def offer(camp: CampSession, registration: Registration, now: datetime, seconds: int | None = None) -> None:
    """Hold a paid session's seat for a waiting person (status offered) for `seconds` (default
    WAITLIST_OFFER_SECONDS), at the session's price now."""
    ends_at = now + timedelta(seconds=seconds or current_app.config["WAITLIST_OFFER_SECONDS"])
    registration.status = RegistrationStatus.OFFERED
    registration.waitlist_number = None
    registration.hold_expires_at = ends_at
    registration.amount_due = camp.price
    note_hold(camp, ends_at)


# --- the audit entry of a change ---------------------------------------------------------------------


def audit_state(registration: Registration) -> dict:
    """A registration's state as an audit entry keeps it (models.registration_state), with a
    waiting one's place in the queue now."""
    position = None
    if registration.status is RegistrationStatus.WAITLISTED:
        db.session.flush()  # a new registration's row, for the count
        position = waitlist_position(registration)
    return registration_state(registration.status.value, registration.session_id, position)


def audit_change(action: AuditAction, actor: User | None, registration: Registration, before: dict | None,
                 note: str = "") -> None:
    """The audit entry of a change of this registration (its state now is the entry's after)."""
    record(action, actor, registration_id=registration.id, session_id=registration.session_id,
           account_id=registration.user_id, before=before, after=audit_state(registration), note=note)
