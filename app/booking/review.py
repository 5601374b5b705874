"""报名审核: staff decide the applications (pending_review) of a session that requires approval.

An application takes no seat and no place in the queue (service._submit_application writes it).
Approving it is a booking made then, by staff: under the session's lock, a seat if one is free
(the conditional UPDATE `seats_taken < capacity`, as every seat the booking service gives after the
first booking), held for payment until the session's hold length for a paid session, else the next
place on the waiting list. So an approval racing bookings for the last seats waits for the same
lock as they do, and the CHECK seats_taken <= capacity has the last word. The application's row
becomes the booking (same id), so what belongs to it (its answers) stays with it.

Each decision is its own transaction (one application, its audit entry, its email): a bulk decision
(`decide_applications`) takes them one after another, oldest application first, whatever order the
page showed them in — the first to apply gets the first seat — and one already decided by someone
else is skipped, not a reason to undo the others.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.booking.emails import queue_registration_email
from app.booking.errors import NotPendingReview, RegistrationChanged, RegistrationNotFound, ReviewMessageInvalid
from app.booking.models import Registration, RegistrationStatus
from app.booking.seats import audit_change, audit_state, confirm, note_hold, take_seat
from app.booking.service import release_if_due
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.db import write_transaction
from app.common.errors import DomainError
from app.common.time import utcnow
from app.common.validators import normalise_newlines, unstorable_text_reason
from app.extensions import db

REVIEW_MESSAGE_MAX = 500  # characters: a note to the applicant, not a letter


@dataclass
class Decision:
    """One application of a bulk decision: the registration as it is after it, or the reason it
    was not decided (already decided by someone else, gone)."""

    registration_id: int
    registration: Registration | None = None
    refusal: DomainError | None = None


def review_message(raw: str | None) -> str | None:
    """The message as stored (None when empty), or ReviewMessageInvalid: too long, or characters
    no database stores (a NUL). The form refuses them first; this is the rule's home."""
    text = normalise_newlines(raw or "").strip()
    if len(text) > REVIEW_MESSAGE_MAX or unstorable_text_reason(text):
        raise ReviewMessageInvalid()
    return text or None


def _lock_application(registration_id: int) -> tuple[Registration, CampSession]:
    """The application and its session, the session's row locked and the application read again
    under it: two staff deciding it at once, or its applicant withdrawing it, happen one after the
    other, and the second finds it decided."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    camp = catalog.lock_session(registration.session_id)
    db.session.refresh(registration)
    if registration.session_id != camp.id:
        raise RegistrationChanged()
    if registration.status is not RegistrationStatus.PENDING_REVIEW:
        raise NotPendingReview()
    return registration, camp


def _decided(registration: Registration, actor: User, message: str | None, now: datetime) -> None:
    registration.reviewed_at = now
    registration.reviewed_by_id = actor.id
    registration.review_message = message


def _join_waitlist(camp: CampSession) -> int:
    """The next waitlist number of the locked session, counted as one more person waiting."""
    sessions = CampSession.__table__
    number = db.session.connection().execute(
        update(sessions).where(sessions.c.id == camp.id)
        .values(waitlist_issued=sessions.c.waitlist_issued + 1, waitlisted_count=sessions.c.waitlisted_count + 1)
        .returning(sessions.c.waitlist_issued)
    ).scalar_one()
    db.session.expire(camp, ["waitlist_issued", "waitlisted_count"])
    return number


@write_transaction
def approve_application(registration_id: int, actor: User, message: str | None = None,
                        now: datetime | None = None) -> Registration:
    """Approve one application: a seat (confirmed; a paid session's held for payment until its
    hold length from now, as a booking's), or the next place on the waiting list when the session
    filled meanwhile. Audited (审核通过) and emailed, with staff's message."""
    now = now or utcnow()
    message = review_message(message)
    registration, camp = _lock_application(registration_id)
    release_if_due(camp, now)  # a lapsed hold's seat goes down the queue first, in order
    db.session.refresh(camp)
    before = audit_state(registration)
    if take_seat(camp) is not None:
        if camp.is_paid:
            seconds = camp.payment_hold_seconds or current_app.config["PAYMENT_HOLD_SECONDS"]
            registration.status = RegistrationStatus.PENDING_PAYMENT
            registration.hold_expires_at = now + timedelta(seconds=seconds)
            registration.amount_due = camp.price
            note_hold(camp, registration.hold_expires_at)
        else:
            confirm(registration, now)
    else:
        registration.status = RegistrationStatus.WAITLISTED
        registration.waitlist_number = _join_waitlist(camp)
    _decided(registration, actor, message, now)
    db.session.flush()
    audit_change(AuditAction.APPLICATION_APPROVE, actor, registration, before, note=message or "")
    queue_registration_email("application_approved", registration.id, registration.user.email)
    return registration


@write_transaction
def reject_application(registration_id: int, actor: User, message: str | None = None,
                       now: datetime | None = None) -> Registration:
    """Reject one application (未通过), with an optional message to its applicant: audited, emailed.
    It held nothing, so nothing else moves."""
    now = now or utcnow()
    message = review_message(message)
    registration, _camp = _lock_application(registration_id)
    before = audit_state(registration)
    registration.status = RegistrationStatus.REJECTED
    _decided(registration, actor, message, now)
    db.session.flush()
    audit_change(AuditAction.APPLICATION_REJECT, actor, registration, before, note=message or "")
    queue_registration_email("application_rejected", registration.id, registration.user.email)
    return registration


def decide_applications(registration_ids: Iterable[int], actor: User, approve: bool, message: str | None = None,
                        now: datetime | None = None) -> list[Decision]:
    """Approve (or reject) many applications, each in its own transaction, oldest application
    first: with two seats left and five approved, the two who applied first get the seats and
    the others the waiting list, in the order they applied. The message is checked once, before
    anything is decided (a refused message decides nothing)."""
    message = review_message(message)
    ids = set(registration_ids)
    ordered = list(db.session.scalars(
        select(Registration.id).where(Registration.id.in_(ids)).order_by(Registration.created_at, Registration.id)))
    decide = approve_application if approve else reject_application
    decisions = []
    for registration_id in ordered:
        try:
            decisions.append(Decision(registration_id, decide(registration_id, actor, message, now)))
        except DomainError as refusal:
            decisions.append(Decision(registration_id, refusal=refusal))
    decisions += [Decision(missing, refusal=RegistrationNotFound()) for missing in sorted(ids - set(ordered))]
    return decisions
