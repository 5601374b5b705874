"""Door check-in and attendance. Seats are not touched here (that is app/booking/service.py)."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts import service as accounts
from app.accounts.errors import AccountNotFound, PhoneTaken
from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.errors import RegistrationNotFound
from app.booking.models import Registration, RegistrationStatus
from app.booking.tickets import ticket_code_from_scan
from app.catalog.models import CampSession
from app.common.db import write_transaction
from app.common.errors import DomainError
from app.common.time import site_zone, utcnow
from app.extensions import db
from app.questions import service as questions
from app.questions.answers import GivenAnswer
from app.roster.errors import NotASessionDay, TicketForOtherSession, TicketNotConfirmed, TicketNotFound
from app.roster.models import Attendance


def session_days(camp: CampSession) -> list[date]:
    """Every day of the session in Shanghai time: a 3天2夜 camp has three."""
    first, last = camp.local_dates()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(site_zone()).date()


def status_label(status: RegistrationStatus) -> str:
    return status.label


@dataclass
class CheckIn:
    registration: Registration
    day: date
    checked_in_at: datetime
    already: bool  # True on a second scan the same day: nothing was written


@write_transaction
def check_in(session_id: int, scanned: str, actor: User, now: datetime | None = None) -> CheckIn:
    """Mark the ticket's holder present for today. `scanned`: the ticket link read off its QR code,
    or a code as typed. A bad ticket changes nothing and says why."""
    now = now or utcnow()
    code = ticket_code_from_scan(scanned)
    registration = db.session.scalar(select(Registration).where(Registration.ticket_code == code)) if code else None
    if registration is None:
        raise TicketNotFound()
    day = local_today(now)
    refusal = door_refusal(registration, session_id, day)
    if refusal is not None:
        raise refusal
    return _mark_present(registration, day, actor, now)


def door_refusal(registration: Registration, session_id: int, day: date) -> DomainError | None:
    """Why this ticket cannot check in to this session on this day, or None when it can. The
    rule of `check_in`, also asked by the ticket link's page before it offers its 签到 button."""
    if registration.session_id != session_id:
        return TicketForOtherSession()
    if registration.status is not RegistrationStatus.CONFIRMED:
        return TicketNotConfirmed(status_label(registration.status))
    if day not in session_days(registration.session):
        return NotASessionDay()
    return None


def _mark_present(registration: Registration, day: date, actor: User, now: datetime) -> CheckIn:
    existing = _attendance(registration.id, day)
    if existing is not None:
        return CheckIn(registration, day, existing.checked_in_at, already=True)
    try:
        with db.session.begin_nested():  # a scan at the other door at the same moment wins
            db.session.add(Attendance(registration_id=registration.id, day=day, checked_in_at=now,
                                      checked_in_by_id=actor.id))
    except IntegrityError:
        existing = _attendance(registration.id, day)
        return CheckIn(registration, day, existing.checked_in_at, already=True)
    record(AuditAction.ATTENDANCE_CHECK_IN, actor, registration_id=registration.id,
           session_id=registration.session_id, account_id=registration.user_id,
           after={"day": day.isoformat(), "present": True})
    return CheckIn(registration, day, now, already=False)


def _attendance(registration_id: int, day: date) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(Attendance.registration_id == registration_id, Attendance.day == day)
    )


@write_transaction
def set_attendance(registration_id: int, day: date, present: bool, actor: User,
                   now: datetime | None = None) -> None:
    """Staff correct the attendance grid by hand (audited)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    if day not in session_days(registration.session):
        raise NotASessionDay()
    existing = _attendance(registration_id, day)
    if present and existing is None:
        db.session.add(Attendance(registration_id=registration_id, day=day, checked_in_at=now or utcnow(),
                                  checked_in_by_id=actor.id))
    elif not present and existing is not None:
        db.session.delete(existing)
    else:
        return  # already as asked: nothing to change or record
    record(AuditAction.ATTENDANCE_SET, actor, registration_id=registration_id, session_id=registration.session_id,
           account_id=registration.user_id,
           before={"day": day.isoformat(), "present": not present}, after={"day": day.isoformat(), "present": present})


@dataclass(frozen=True)
class AddedPerson:
    registration: Registration
    existing_account: bool  # the phone typed for a new person was already someone's: they were booked


def add_person(session_id: int, actor: User, *, login: str | None = None, name: str | None = None,
               phone: str | None = None, email: str | None = None,
               answers: Mapping[object, object] | None = None) -> AddedPerson:
    """Staff add someone to a session: an existing account (by email or phone), or a walk-in or
    a phone booking from name, phone and (if they give one) email.

    A walk-in's phone number may already be someone's (they signed up once, or came before): that
    account is booked, never a second one made. A new account gets a random password, so nobody
    can log in to it until its owner sets one (忘记密码, by email; one without an email cannot log in
    at all yet, and gets no email: the outbox skips it). The account (or the name it lacked) and the
    booking are one transaction: a booking refused leaves no account made or changed for it.
    `answers`: what staff filled in of the registration questions (checked, none required: they
    may not have asked), stored with the booking in its transaction."""
    given = questions.answers_for_staff(session_id, answers)  # InvalidAnswers before anything is written
    if login:
        user = accounts.find_by_login(login)
        if user is None:
            raise AccountNotFound()
        return AddedPerson(_book_answering(session_id, user, actor, given), existing_account=True)
    # Hashed before the write transaction (scrypt is slow), unless the phone is already someone's.
    password_hash = None if phone and accounts.find_by_login(phone) else accounts.hash_password(
        secrets.token_urlsafe(24))
    try:
        return _add_walk_in(session_id, actor, name, phone, email, password_hash, given)
    except PhoneTaken:
        # Made by a parallel request a moment ago (everything of this one was rolled back): book that one.
        return _add_walk_in(session_id, actor, name, phone, email, password_hash, given)


@write_transaction
def _book_answering(session_id: int, user: User, actor: User, given: list[GivenAnswer]) -> Registration:
    """staff_add, and the answers staff filled in, in one transaction."""
    registration = booking.staff_add(session_id, user, actor)
    if given:
        questions.record_answers(registration.id, given)
    return registration


@write_transaction
def _add_walk_in(session_id: int, actor: User, name: str | None, phone: str | None, email: str | None,
                 password_hash: str | None, given: list[GivenAnswer]) -> AddedPerson:
    user = accounts.find_by_login(phone) if phone else None
    if user is None:
        # (No hash made only if the account seen a moment ago has gone since: rare enough to hash here.)
        password_hash = password_hash or accounts.hash_password(secrets.token_urlsafe(24))
        user = accounts.insert_account(email or None, password_hash, name, phone)
        return AddedPerson(_book_answering(session_id, user, actor, given), existing_account=False)
    if not user.name and name:
        accounts.complete_profile(user, name=name)  # an account an operator made without a name
    return AddedPerson(_book_answering(session_id, user, actor, given), existing_account=True)
