"""团体报名: one logged-in person (the booker) books several seats of a session for named attendees.

The rules, all here:
- **All or nothing.** Under the session's lock, either every attendee gets a seat (confirmed, or for
  a paid session held for payment until the hold's end), by one conditional UPDATE
  `seats_taken = seats_taken + N WHERE seats_taken + N <= capacity`, or none does: the booker is
  told how many seats are left (NotEnoughSeats) and may book fewer, or join the waiting list as a
  group (`join_waitlist`): N consecutive places, promoted together (service._promote_waiting seats a
  waiting group only when all its waiting members fit).
- **Each attendee is a person with their own registration and ticket**, linked to the group. An
  attendee is found by mobile number, or gets an account as a walk-in staff add would (a random
  password, so nobody logs in to it until its owner sets one). A person already registered for the
  session cannot be booked twice (the partial unique index has the last word).
- **The booker acts for the group**: pays once for it (app/payments), cancels an attendee, and
  replaces one (换人) until the cancellation deadline: the same seat and registration, a new person,
  a new ticket code (the old one stops working at the door), audited, both people emailed.
- A session that reviews applications (报名审核) takes no group bookings: each person applies.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts import service as accounts
from app.accounts.errors import PhoneTaken
from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking.emails import booking_email_template, queue_registration_email
from app.booking.errors import (
    AlreadyCancelled,
    GroupBookingNotOffered,
    GroupNeedsApproval,
    GroupSizeInvalid,
    InvalidAttendees,
    NotEnoughSeats,
    RegistrationChanged,
    RegistrationNotFound,
    ReplacementClosed,
)
from app.booking.models import OPEN_STATUSES, GroupBooking, Registration, RegistrationStatus
from app.booking.seats import audit_change, audit_state, check_bookable, move_counts, note_hold, waitlist_position
from app.booking.service import registration_of, release_if_due, release_lapsed_holds_of
from app.booking.tickets import new_ticket_code
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.db import write_transaction
from app.common.time import utcnow
from app.common.validators import is_mobile_number, is_person_name, normalise_name, normalise_phone
from app.extensions import db
from app.questions import queries as question_queries
from app.questions import service as questions
from app.questions.answers import GivenAnswer, InvalidAnswers, check_answers

NAME_LENGTH = (2, 30)  # characters, the sign-up form's rule (common/validators.PersonName)
EMAIL_MAX = 254


@dataclass(frozen=True)
class AttendeeInput:
    """One attendee as the booker typed them: 姓名, 手机号, optionally an email, and their answers to
    the session's registration questions ({question id: value})."""

    name: str
    phone: str
    email: str | None = None
    answers: Mapping[object, object] | None = None


@dataclass(frozen=True)
class Attendee:
    """An attendee checked: name and phone as stored, email lower-cased or None, answers checked."""

    name: str
    phone: str
    email: str | None
    answers: list[GivenAnswer] = field(default_factory=list)


@dataclass
class GroupOutcome:
    group: GroupBooking
    registrations: list[Registration]  # in the order the attendees were given

    @property
    def waitlisted(self) -> bool:
        return all(r.status is RegistrationStatus.WAITLISTED for r in self.registrations)


# --- reading ------------------------------------------------------------------------------------

def groups_of(booker_id: int) -> list[GroupBooking]:
    """The groups a person booked, the latest session first, with sessions, courses, attendees; a
    hold past its time shown as what it is (released first, as booking.registrations_of does)."""
    query = (select(GroupBooking).join(GroupBooking.session)
             .where(GroupBooking.booker_id == booker_id)
             .order_by(CampSession.starts_at.desc(), GroupBooking.id.desc())
             .options(selectinload(GroupBooking.session).selectinload(CampSession.course),
                      selectinload(GroupBooking.registrations).selectinload(Registration.user)))
    found = list(db.session.scalars(query))
    if release_lapsed_holds_of([r for group in found for r in group.registrations]):
        return list(db.session.scalars(query.execution_options(populate_existing=True)))
    return found


def group_of(booker_id: int, group_id: int) -> GroupBooking | None:
    """One of this person's groups; None when there is none or it is someone else's (a 404 to them).
    Holds past their time are released first, so the page never shows one as 待支付."""
    group = db.session.get(GroupBooking, group_id)
    if group is None or group.booker_id != booker_id:
        return None
    if release_lapsed_holds_of(group.registrations):
        db.session.expire_all()
        group = db.session.get(GroupBooking, group_id)
    return group


def ticket_for(viewer_id: int, registration_id: int) -> Registration | None:
    """A registration whose ticket this person may open: their own, or an attendee's of a group
    they booked (the booker forwards tickets to attendees without email); None otherwise."""
    own = registration_of(viewer_id, registration_id)
    if own is not None:
        return own
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.group_id is None or registration.group.booker_id != viewer_id:
        return None
    return registration_of(registration.user_id, registration_id)


def group_refusal(camp: CampSession) -> GroupBookingNotOffered | GroupNeedsApproval | None:
    """Why this session takes no group bookings at all (whenever it is asked), or None: the rule is
    CampSession.takes_group_bookings, named here as the error the page and the API show. Booking's
    own refusals (closed, started ...) come first; a full session still takes a waiting group."""
    if camp.takes_group_bookings:
        return None
    return GroupNeedsApproval() if camp.requires_approval else GroupBookingNotOffered()


# --- checking what was typed ---------------------------------------------------------------------

def check_attendees(session_id: int, attendees: Sequence[AttendeeInput]) -> list[Attendee]:
    """The attendees as they will be stored, or InvalidAttendees with a Chinese message per field
    ("<index>.name", "<index>.phone", "<index>.email", "<index>.answers.<question id>"). Before the
    write transaction: one read, the session's questions."""
    asked = question_queries.questions_for_session(session_id)
    errors: dict[str, str] = {}
    checked: list[Attendee] = []
    first_with_phone: dict[str, int] = {}
    first_with_email: dict[str, int] = {}
    for index, given in enumerate(attendees):
        name = normalise_name(given.name)
        if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1]:
            errors[f"{index}.name"] = _("姓名长度应为 %(min)s–%(max)s 个字", min=NAME_LENGTH[0], max=NAME_LENGTH[1])
        elif not is_person_name(name):
            errors[f"{index}.name"] = _("姓名只能包含文字和间隔号「·」，请检查是否有数字或符号")
        phone = normalise_phone(given.phone)
        if not is_mobile_number(phone):
            errors[f"{index}.phone"] = _("请输入 11 位中国大陆手机号，例如 13800138000")
        elif phone in first_with_phone:
            errors[f"{index}.phone"] = _("与第 %(n)s 位参会人的手机号相同：每位参会人各占一个名额",
                                         n=first_with_phone[phone] + 1)
        else:
            first_with_phone[phone] = index
        email = _email(given.email, index, errors)
        if email and email in first_with_email and f"{index}.email" not in errors:
            # One address per account: a manager typing their own for everyone is refused here, by field.
            errors[f"{index}.email"] = _("与第 %(n)s 位参会人的邮箱相同：每位参会人的邮箱须不同，没有可留空",
                                         n=first_with_email[email] + 1)
        elif email:
            first_with_email.setdefault(email, index)
        try:
            answers = check_answers(asked, given.answers or {})
        except InvalidAnswers as refused:
            errors.update({f"{index}.answers.{key}": message for key, message in refused.errors.items()})
            answers = []
        checked.append(Attendee(name, phone, email, answers))
    if errors:
        raise InvalidAttendees(errors)
    return checked


def _email(raw: str | None, index: int, errors: dict[str, str]) -> str | None:
    email = (raw or "").strip().lower()
    if not email:
        return None
    try:
        if len(email) > EMAIL_MAX:
            raise EmailNotValidError
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors[f"{index}.email"] = _("邮箱格式不正确，例如 name@example.com")
    return email


# --- booking ------------------------------------------------------------------------------------

def book_group(booker: User, session_id: int, attendees: Sequence[AttendeeInput], *, join_waitlist: bool = False,
               source: str = "web", now: datetime | None = None) -> GroupOutcome:
    """Book a seat for every attendee, or none (NotEnoughSeats, saying how many are left); with
    `join_waitlist`, the group waits together when the seats are not there. One write transaction:
    the accounts it makes, the group, the registrations, their answers, audit entries and emails."""
    now = now or utcnow()
    checked = check_attendees(session_id, attendees)
    # scrypt is slow: new accounts' password hashes are made before the write transaction.
    hashes = {a.phone: accounts.hash_password(secrets.token_urlsafe(24)) for a in checked
              if accounts.find_by_login(a.phone) is None}
    try:
        return _book_group(booker, session_id, checked, join_waitlist, source, now, hashes)
    except PhoneTaken:
        # An attendee's account was made by a parallel request a moment ago (all of this one was
        # rolled back): book that account.
        return _book_group(booker, session_id, checked, join_waitlist, source, now, hashes)


@write_transaction
def _book_group(booker: User, session_id: int, attendees: list[Attendee], join_waitlist: bool, source: str,
                now: datetime, hashes: dict[str, str]) -> GroupOutcome:
    camp = _locked_for_group(session_id, now)
    if not 2 <= len(attendees) <= camp.max_group_size:
        raise GroupSizeInvalid(camp.max_group_size)
    people = [_account_for(attendee, index, hashes) for index, attendee in enumerate(attendees)]
    _refuse_registered(camp.id, {person.id: index for index, person in enumerate(people)})
    size = len(people)
    sessions = CampSession.__table__
    first_place = camp.waitlisted_count + 1
    first_number = camp.waitlist_issued + 1
    if move_counts(camp, sessions.c.seats_taken + size <= sessions.c.capacity,
                    seats_taken=sessions.c.seats_taken + size) is not None:
        status = RegistrationStatus.PENDING_PAYMENT if camp.is_paid else RegistrationStatus.CONFIRMED
    elif join_waitlist:
        move_counts(camp, waitlist_issued=sessions.c.waitlist_issued + size,
                     waitlisted_count=sessions.c.waitlisted_count + size)
        status = RegistrationStatus.WAITLISTED
    else:
        raise NotEnoughSeats(max(camp.capacity - camp.seats_taken, 0), size)

    group = GroupBooking(session_id=camp.id, booker_id=booker.id, size=size, source=source[:40], created_at=now)
    hold_until = now + timedelta(seconds=camp.payment_hold_seconds or current_app.config["PAYMENT_HOLD_SECONDS"])
    registrations = [
        Registration(session_id=camp.id, user=person, group=group, status=status, ticket_code=new_ticket_code(),
                     attendee_name=attendee.name, source=source[:40], created_at=now,
                     waitlist_number=first_number + n if status is RegistrationStatus.WAITLISTED else None,
                     confirmed_at=now if status is RegistrationStatus.CONFIRMED else None,
                     amount_due=camp.price if status.is_hold else None,
                     hold_expires_at=hold_until if status.is_hold else None)
        for n, (person, attendee) in enumerate(zip(people, attendees, strict=True))]
    db.session.add(group)
    db.session.add_all(registrations)
    db.session.flush()
    if status.is_hold:
        note_hold(camp, hold_until)
    note = f"团体报名 #{group.id}（{size} 人），由 {booker.display_name} 代报"
    for n, (registration, attendee) in enumerate(zip(registrations, attendees, strict=True)):
        if attendee.answers:
            questions.record_answers(registration.id, attendee.answers)
        audit_change(AuditAction.GROUP_BOOK, booker, registration, None, note=note)
        place = first_place + n if status is RegistrationStatus.WAITLISTED else None
        queue_registration_email(booking_email_template(status), registration.id, registration.user.email,
                                 waitlist_position=place)
    queue_registration_email("group_booked", registrations[0].id, booker.email, addressee=booker.display_name)
    return GroupOutcome(group, registrations)


def _locked_for_group(session_id: int, now: datetime) -> CampSession:
    """The session, locked, its lapsed holds released (their seats count as free), if it takes
    group bookings now; else the reason it does not, raised."""
    camp = catalog.lock_session(session_id)
    release_if_due(camp, now)
    db.session.refresh(camp)
    check_bookable(camp, now)
    refusal = group_refusal(camp)
    if refusal is not None:
        raise refusal
    return camp


def _account_for(attendee: Attendee, index: int, hashes: dict[str, str]) -> User:
    """The attendee's account: the one with their mobile number (its missing name filled in), or a
    new one (a random password: nobody logs in to it until its owner sets one by 忘记密码)."""
    person = accounts.find_by_login(attendee.phone)
    if person is not None:
        if not person.name:
            accounts.complete_profile(person, name=attendee.name)
        return person
    email = attendee.email
    if email and accounts.find_by_login(email) is not None:
        # The address is someone else's account (another phone number): a new account cannot have it.
        raise InvalidAttendees({f"{index}.email": _("该邮箱已被另一个手机号的账号使用，请核对，或留空")})
    password_hash = hashes.get(attendee.phone) or accounts.hash_password(secrets.token_urlsafe(24))
    return accounts.insert_account(email, password_hash, attendee.name, attendee.phone)


def _refuse_registered(session_id: int, index_of: dict[int, int]) -> None:
    """InvalidAttendees naming each attendee who already has a registration (or application) for
    the session: read under the session's lock, so nobody books them meanwhile."""
    already = db.session.scalars(select(Registration.user_id).where(
        Registration.session_id == session_id, Registration.user_id.in_(index_of),
        Registration.status.in_(OPEN_STATUSES))).all()
    if already:
        raise InvalidAttendees({f"{index_of[user_id]}.phone": _("此人已经报名了这个场次") for user_id in already})


# --- 换人 ----------------------------------------------------------------------------------------

# What the new attendee is told, by what the seat is: theirs (with the ticket), held for the
# group's payment, offered from the queue, or a place in the queue.
_REPLACEMENT_EMAILS = {RegistrationStatus.CONFIRMED: "booking_confirmed",
                       RegistrationStatus.PENDING_PAYMENT: "booking_held",
                       RegistrationStatus.OFFERED: "booking_offered",
                       RegistrationStatus.WAITLISTED: "booking_waitlisted"}

def replace_attendee(registration_id: int, actor: User, replacement: AttendeeInput, *, by_staff: bool = False,
                     now: datetime | None = None) -> Registration:
    """The group's booker (or staff, `by_staff`, at any time) gives an attendee's seat to another
    person until the session's cancellation deadline: the same registration (its seat, hold, place
    in the queue and money stay), a new person, new answers and a new ticket code, so the old
    ticket no longer opens the door. Audited; the new attendee gets their email, the old one is told."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.group_id is None or (not by_staff and not registration.is_booked_by(actor)):
        raise RegistrationNotFound()
    attendee = check_attendees(registration.session_id, [replacement])[0]
    hashes = {} if accounts.find_by_login(attendee.phone) else {
        attendee.phone: accounts.hash_password(secrets.token_urlsafe(24))}
    return _replace(registration_id, actor, attendee, by_staff, now, hashes)


@write_transaction
def _replace(registration_id: int, actor: User, attendee: Attendee, by_staff: bool, now: datetime,
             hashes: dict[str, str]) -> Registration:
    registration = db.session.get(Registration, registration_id)
    camp = catalog.lock_session(registration.session_id)
    db.session.refresh(registration)  # read again under the lock
    if registration.session_id != camp.id:
        raise RegistrationChanged()
    if not registration.is_active:
        raise AlreadyCancelled()
    if not by_staff and not camp.can_student_cancel(now):
        raise ReplacementClosed()
    person = _account_for(attendee, 0, hashes)
    if person.id == registration.user_id:
        raise InvalidAttendees({"0.phone": _("这位就是现在的参会人")})
    _refuse_registered(camp.id, {person.id: 0})
    former, former_name = registration.user, registration.name_for_booker
    before = {**audit_state(registration), "account_id": former.id}
    registration.user = person
    registration.attendee_name = attendee.name
    registration.ticket_code = new_ticket_code()  # the old one stops working at the door
    registration.reminded_at = None  # the reminder went to the person who no longer comes
    questions.replace_answers(registration.id, attendee.answers)
    db.session.flush()
    record(AuditAction.GROUP_REPLACE, actor, registration_id=registration.id, session_id=camp.id,
           account_id=person.id, before=before, after={**audit_state(registration), "account_id": person.id},
           note=f"换人：{former_name} → {attendee.name}")
    queue_registration_email(_REPLACEMENT_EMAILS[registration.status], registration.id, person.email,
                             waitlist_position=waitlist_position(registration))
    queue_registration_email("attendee_replaced", registration.id, former.email, addressee=former.display_name)
    return registration

