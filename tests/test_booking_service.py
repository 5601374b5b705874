"""The booking rules, through the service functions the views call: a seat or a place on the
waitlist, refusals with the reason the page shows, cancellation and promotion from the waitlist,
capacity changes, and the emails (with their calendar attachment) that each of these sends."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, inspect, select
from sqlalchemy.orm.exc import DetachedInstanceError

from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.errors import (
    AlreadyCancelled,
    CancellationClosed,
    CapacityBelowConfirmed,
    ProfileIncomplete,
    RegistrationEnded,
    RegistrationNotFound,
    RegistrationNotOpenYet,
    SessionAlreadyStarted,
    SessionChanging,
    SessionNotFound,
    SessionNotPublished,
)
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.availability import booking_refusal
from app.catalog.models import CampSession
from app.extensions import db
from app.mail.sender import deliver_due
from tests.factories import make_course, make_session, make_user
from tests.helpers import Email, outbox_emails

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "快速玩转小红书成长特训营"

# A session with known times: 2027-09-17 09:00 to 2027-09-19 18:00 in Shanghai (UTC+8).
STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
OPENS = datetime(2027, 7, 1, 2, 0, tzinfo=UTC)
CLOSES = datetime(2027, 9, 10, 16, 0, tzinfo=UTC)
CANCEL_DEADLINE = datetime(2027, 9, 3, 16, 0, tzinfo=UTC)
NOW = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)  # inside the registration window


def make_dated_session(capacity: int = 10, course_id: int | None = None, published: bool = True) -> int:
    return make_session(
        course_id, capacity=capacity, published=published, starts_at=STARTS, ends_at=ENDS,
        registration_opens_at=OPENS, registration_closes_at=CLOSES, cancellation_deadline=CANCEL_DEADLINE,
        label="第12期", city="杭州", venue="玺承集团培训中心", address="西湖区文三路 478 号",
    )


@pytest.fixture
def students(app) -> list[int]:
    """Four students with complete profiles, in the order they will book."""
    return [
        make_user(app, f"student{n}@example.com", Role.STUDENT, name, f"1390000000{n}")
        for n, name in enumerate(["陈一", "林二", "黄三", "周四"])
    ]


def book_seat(user_id: int, session_id: int, now: datetime = NOW, **kwargs) -> booking.BookingOutcome:
    return booking.book_seat(db.session.get(User, user_id), session_id, now=now, **kwargs)


def cancel(registration_id: int, actor_id: int, now: datetime = NOW, **kwargs) -> booking.CancellationOutcome:
    return booking.cancel_registration(registration_id, db.session.get(User, actor_id), now=now, **kwargs)


def camp(session_id: int) -> CampSession:
    db.session.expire_all()
    return db.session.get(CampSession, session_id)


def registration(registration_id: int) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration_id)


def registrations_of(session_id: int) -> list[Registration]:
    return list(db.session.scalars(
        select(Registration).where(Registration.session_id == session_id).order_by(Registration.id)
    ))


def confirmed_count(session_id: int) -> int:
    return db.session.scalar(select(func.count()).where(
        Registration.session_id == session_id, Registration.status == RegistrationStatus.CONFIRMED
    ))


def outbox() -> list[Email]:
    return outbox_emails()


def email_of(user_id: int) -> str:
    return db.session.get(User, user_id).email


def ics_of(message_attachment: dict) -> Calendar:
    assert message_attachment["filename"].endswith(".ics")
    assert message_attachment["content_type"] == "text/calendar"
    return Calendar.from_ical(base64.b64decode(message_attachment["data_b64"]))


def the_event(calendar: Calendar):
    [event] = calendar.walk("VEVENT")
    return event


def plain_body(email) -> str:
    return email.get_body(preferencelist=("plain",)).get_content()


# --- booking --------------------------------------------------------------------------------

def test_booking_confirms_a_seat_and_queues_the_confirmation_with_a_calendar_file(ctx, student):
    session_id = make_session(capacity=10)

    outcome = booking.book_seat(db.session.get(User, student), session_id)

    assert outcome.created is True
    booked = registration(outcome.registration.id)
    assert (booked.user_id, booked.session_id, booked.status) == (student, session_id, RegistrationStatus.CONFIRMED)
    assert booked.waitlist_number is None
    assert booked.confirmed_at is not None
    assert camp(session_id).seats_taken == 1
    assert booking.waitlist_position(booked) is None
    [message] = outbox()
    assert message.to_address == "student@example.com"
    assert message.subject == f"报名成功：{TITLE}"
    assert "张喆，您好" in message.body_text
    assert "您的报名已确认" in message.body_text
    attachment, qr_code = message.attachments  # the calendar entry and the door QR code
    assert qr_code["filename"] == "ticket-qr.png"
    assert the_event(ics_of(attachment))["UID"].startswith(f"registration-{booked.id}@")


def test_booking_again_returns_the_same_registration_without_a_second_seat_or_email(ctx, student):
    session_id = make_dated_session(capacity=10)
    first = book_seat(student, session_id).registration.id

    again = booking.book_seat(db.session.get(User, student), session_id)

    assert again.created is False
    assert again.registration.id == first
    assert [r.id for r in registrations_of(session_id)] == [first]
    assert camp(session_id).seats_taken == 1
    assert len(outbox()) == 1


def test_full_session_puts_students_on_the_waitlist_in_order_and_tells_them_their_place(ctx, students):
    session_id = make_dated_session(capacity=1)
    first, second, third = students[:3]
    seat = book_seat(first, session_id).registration.id

    waiting = [book_seat(student, session_id).registration.id for student in (second, third)]

    assert registration(seat).status is RegistrationStatus.CONFIRMED
    for position, registration_id in enumerate(waiting, start=1):
        waiter = registration(registration_id)
        assert waiter.status is RegistrationStatus.WAITLISTED
        assert waiter.confirmed_at is None
        assert booking.waitlist_position(waiter) == position
    assert camp(session_id).waitlisted_count == 2
    assert camp(session_id).seats_taken == 1
    # A second click of someone waiting keeps their place instead of taking a new ticket.
    again = book_seat(third, session_id)
    assert (again.created, again.registration.id) == (False, waiting[1])
    assert camp(session_id).waitlisted_count == 2

    confirmation, *waitlist_emails = outbox()
    assert confirmation.subject == f"报名成功：{TITLE}"
    assert [m.to_address for m in waitlist_emails] == [email_of(second), email_of(third)]
    for position, message in enumerate(waitlist_emails, start=1):
        assert message.subject == f"已加入候补：{TITLE}"
        assert f"目前是候补第 {position} 位" in message.body_text
        assert message.attachments == []  # no calendar entry for a seat they do not have yet


# --- refusals -------------------------------------------------------------------------------

REFUSALS = {
    "draft session": (dict(published=False), NOW, SessionNotPublished, "该场次尚未开放报名"),
    "draft course": (dict(course_published=False), NOW, SessionNotPublished, "该场次尚未开放报名"),
    "not open yet": ({}, OPENS - timedelta(seconds=1), RegistrationNotOpenYet, "报名尚未开始，请稍后再来"),
    "closed": ({}, CLOSES, RegistrationEnded, "报名已截止"),
    "closed long ago": ({}, CLOSES + timedelta(days=3), RegistrationEnded, "报名已截止"),
    "started": ({}, STARTS, SessionAlreadyStarted, "该场次已开课或已结束，无法报名"),
    "over": ({}, ENDS + timedelta(days=30), SessionAlreadyStarted, "该场次已开课或已结束，无法报名"),
}


@pytest.mark.parametrize(("setup", "now", "error", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_booking_is_refused_with_the_reason_and_leaves_nothing_behind(ctx, student, setup, now, error, message):
    course_id = make_course(published=setup.get("course_published", True))
    session_id = make_dated_session(course_id=course_id, published=setup.get("published", True))

    with pytest.raises(error) as refused:
        book_seat(student, session_id, now=now)

    assert str(refused.value.message) == message
    assert str(booking_refusal(camp(session_id), now).message) == message  # what the session page shows
    assert registrations_of(session_id) == []
    assert camp(session_id).seats_taken == 0
    assert outbox() == []


def test_booking_a_session_that_does_not_exist_is_refused(ctx, student):
    with pytest.raises(SessionNotFound) as refused:
        book_seat(student, 987654)

    assert str(refused.value.message) == "找不到这个场次"
    assert outbox() == []


@pytest.mark.parametrize("now", [OPENS, CLOSES - timedelta(seconds=1)], ids=["as it opens", "just before it closes"])
def test_booking_is_accepted_throughout_the_registration_window(ctx, student, now):
    session_id = make_dated_session()

    assert booking_refusal(camp(session_id), now) is None
    assert book_seat(student, session_id, now=now).registration.status is RegistrationStatus.CONFIRMED


@pytest.mark.parametrize(("name", "phone"), [(None, "13911112222"), ("王五", None)], ids=["no name", "no phone"])
def test_student_without_name_or_phone_is_asked_to_complete_the_profile(app, ctx, name, phone):
    user_id = make_user(app, "incomplete@example.com", Role.STUDENT, name, phone)
    session_id = make_session(capacity=10)

    with pytest.raises(ProfileIncomplete) as refused:
        booking.book_seat(db.session.get(User, user_id), session_id)

    assert str(refused.value.message) == "报名前请先填写姓名和手机号"
    assert registrations_of(session_id) == []
    assert camp(session_id).seats_taken == 0
    assert outbox() == []


# --- cancelling -----------------------------------------------------------------------------

def test_owner_cancels_frees_the_seat_gets_an_email_and_can_book_again(ctx, student):
    session_id = make_dated_session()
    seat = book_seat(student, session_id).registration.id

    outcome = cancel(seat, student)

    assert outcome.promoted == []
    cancelled = registration(seat)
    assert cancelled.status is RegistrationStatus.CANCELLED
    assert cancelled.cancelled_at == NOW
    assert camp(session_id).seats_taken == 0
    message = outbox()[-1]
    assert (message.to_address, message.subject) == ("student@example.com", f"报名已取消：{TITLE}")
    assert "您的以下报名已取消" in message.body_text

    rebooked = book_seat(student, session_id)
    assert rebooked.created is True
    assert rebooked.registration.id != seat
    assert rebooked.registration.status is RegistrationStatus.CONFIRMED
    assert camp(session_id).seats_taken == 1


def test_someone_elses_registration_cannot_be_cancelled_and_is_not_found(ctx, students):
    owner, other = students[:2]
    session_id = make_dated_session()
    seat = book_seat(owner, session_id).registration.id
    emails_before = len(outbox())

    with pytest.raises(RegistrationNotFound) as refused:
        cancel(seat, other)

    assert str(refused.value.message) == "找不到这条报名记录"
    assert registration(seat).status is RegistrationStatus.CONFIRMED
    assert camp(session_id).seats_taken == 1
    assert len(outbox()) == emails_before


def test_unknown_registration_is_not_found(ctx, student):
    with pytest.raises(RegistrationNotFound):
        cancel(987654, student)


def test_student_cannot_cancel_after_the_deadline_but_staff_can(ctx, student, staff):
    session_id = make_dated_session()
    seat = book_seat(student, session_id).registration.id
    after_deadline = CANCEL_DEADLINE + timedelta(hours=1)

    with pytest.raises(CancellationClosed) as refused:
        cancel(seat, student, now=after_deadline)

    assert str(refused.value.message) == "已过取消截止时间。如需取消，请联系工作人员"
    assert registration(seat).status is RegistrationStatus.CONFIRMED
    assert camp(session_id).seats_taken == 1

    cancel(seat, staff, now=after_deadline, by_staff=True)

    assert registration(seat).status is RegistrationStatus.CANCELLED
    assert camp(session_id).seats_taken == 0
    assert outbox()[-1].to_address == "student@example.com"  # the student is told, not the staff member


def test_student_can_cancel_until_the_moment_of_the_deadline(ctx, student):
    session_id = make_dated_session()
    seat = book_seat(student, session_id).registration.id

    with pytest.raises(CancellationClosed):
        cancel(seat, student, now=CANCEL_DEADLINE)
    cancel(seat, student, now=CANCEL_DEADLINE - timedelta(seconds=1))

    assert registration(seat).status is RegistrationStatus.CANCELLED


def test_cancelling_twice_is_refused_and_changes_nothing(ctx, students):
    owner, waiter, later = students[:3]
    session_id = make_dated_session(capacity=1)
    seat = book_seat(owner, session_id).registration.id
    promoted, still_waiting = (book_seat(student, session_id).registration.id for student in (waiter, later))
    assert [r.id for r in cancel(seat, owner).promoted] == [promoted]
    emails_before = len(outbox())

    with pytest.raises(AlreadyCancelled) as refused:
        cancel(seat, owner, now=NOW + timedelta(days=1))

    assert str(refused.value.message) == "这条报名已经取消或已过期"
    assert registration(seat).cancelled_at == NOW
    # A second cancellation must not free (and hand out) the seat a second time.
    assert registration(promoted).status is RegistrationStatus.CONFIRMED
    assert booking.waitlist_position(registration(still_waiting)) == 1
    assert camp(session_id).seats_taken == 1
    assert len(outbox()) == emails_before


def test_cancelled_seat_goes_to_the_head_of_the_waitlist_who_is_emailed(ctx, students, smtp_server):
    first, second, third = students[:3]
    session_id = make_dated_session(capacity=1)
    seat = book_seat(first, session_id).registration.id
    head, behind = (book_seat(student, session_id).registration.id for student in (second, third))
    deliver_due()
    smtp_server.messages.clear()

    outcome = cancel(seat, first)

    assert [r.id for r in outcome.promoted] == [head]
    promoted = registration(head)
    assert promoted.status is RegistrationStatus.CONFIRMED
    assert (promoted.waitlist_number, promoted.confirmed_at) == (None, NOW)
    assert booking.waitlist_position(registration(behind)) == 1
    assert camp(session_id).seats_taken == 1 == confirmed_count(session_id)

    assert deliver_due().sent == 2
    by_address = {email["To"]: email for email in smtp_server.messages}
    assert set(by_address) == {email_of(first), email_of(second)}  # the one still waiting hears nothing
    assert by_address[email_of(first)]["Subject"] == f"报名已取消：{TITLE}"
    promotion = by_address[email_of(second)]
    assert promotion["Subject"] == "候补成功：您已获得正式名额"
    assert "林二，您好" in plain_body(promotion)
    assert "已从候补转为正式名额" in plain_body(promotion)
    attachment, qr_code = promotion.iter_attachments()
    assert qr_code.get_content_type() == "image/png"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename().endswith(".ics")
    event = the_event(Calendar.from_ical(attachment.get_content()))
    assert event["UID"].startswith(f"registration-{head}@")
    assert event.decoded("dtstart") == STARTS


def test_cancelling_a_waitlist_place_frees_no_seat_and_moves_those_behind_up(ctx, students):
    first, second, third, fourth = students
    session_id = make_dated_session(capacity=1)
    seat = book_seat(first, session_id).registration.id
    leaving, next_up, last = (book_seat(student, session_id).registration.id for student in (second, third, fourth))

    outcome = cancel(leaving, second)

    assert outcome.promoted == []
    assert registration(leaving).status is RegistrationStatus.CANCELLED
    assert booking.waitlist_position(registration(leaving)) is None
    assert registration(seat).status is RegistrationStatus.CONFIRMED
    assert camp(session_id).seats_taken == 1
    assert [booking.waitlist_position(registration(r)) for r in (next_up, last)] == [1, 2]
    assert camp(session_id).waitlisted_count == 2
    assert outbox()[-1].subject == f"报名已取消：{TITLE}"

    # The next free seat goes to who is now first, not to the person who left the queue.
    assert [r.id for r in cancel(seat, first).promoted] == [next_up]


def test_waitlist_positions_of_many_registrations_agree_with_each_ones_own(ctx, students):
    """The batched count (one statement, for 我的报名 and the API) gives each waiting registration
    the place waitlist_position gives it alone, across sessions; the others have none."""
    first, second, third, fourth = students
    small, other = make_dated_session(capacity=1), make_dated_session(capacity=1)
    seat = book_seat(first, small).registration.id
    leaving, *waiting = (book_seat(student, small).registration.id for student in (second, third, fourth))
    book_seat(fourth, other)
    elsewhere = book_seat(third, other).registration.id
    cancel(leaving, second)
    ids = [seat, leaving, *waiting, elsewhere]

    rows = [registration(r) for r in ids]
    positions = booking.waitlist_positions(rows)

    assert positions == {waiting[0]: 1, waiting[1]: 2, elsewhere: 1}
    assert positions == {r.id: booking.waitlist_position(r) for r in rows if booking.waitlist_position(r)}
    assert booking.waitlist_positions([]) == {}


# --- capacity -------------------------------------------------------------------------------

def change_capacity_by_admin_form(session_id: int, capacity: int) -> list[Registration]:
    """The admin session editor: capacity saved together with the session's other fields."""
    return catalog.update_session(session_id, capacity=capacity, venue="新场地").promoted


CAPACITY_CHANGERS = {"change_capacity": booking.change_capacity, "session editor": change_capacity_by_admin_form}


@pytest.mark.parametrize("change", CAPACITY_CHANGERS.values(), ids=CAPACITY_CHANGERS.keys())
def test_capacity_below_the_confirmed_count_is_refused_and_nothing_changes(ctx, students, change):
    session_id = make_dated_session(capacity=3)
    registrations = [book_seat(student, session_id).registration.id for student in students]
    emails_before = len(outbox())

    with pytest.raises(CapacityBelowConfirmed) as refused:
        change(session_id, 2)

    assert str(refused.value.message) == "名额不能少于已占用的名额（3 个，含待支付保留的）"
    after = camp(session_id)
    assert (after.capacity, after.seats_taken, after.venue) == (3, 3, "玺承集团培训中心")
    assert [registration(r).status for r in registrations] == [RegistrationStatus.CONFIRMED] * 3 + [
        RegistrationStatus.WAITLISTED
    ]
    assert len(outbox()) == emails_before


def test_capacity_can_be_lowered_to_the_confirmed_count_and_then_the_next_student_waits(ctx, students):
    session_id = make_dated_session(capacity=5)
    for student in students[:2]:
        book_seat(student, session_id)

    assert booking.change_capacity(session_id, 2) == []

    assert (camp(session_id).capacity, camp(session_id).seats_taken) == (2, 2)
    assert book_seat(students[2], session_id).registration.status is RegistrationStatus.WAITLISTED


@pytest.mark.parametrize("change", CAPACITY_CHANGERS.values(), ids=CAPACITY_CHANGERS.keys())
def test_more_seats_go_to_the_waitlist_in_order_of_arrival_and_each_is_emailed(ctx, students, smtp_server, change):
    first, second, third, fourth = students
    session_id = make_dated_session(capacity=1)
    book_seat(first, session_id)
    waiting = [book_seat(student, session_id).registration.id for student in (second, third, fourth)]
    deliver_due()
    smtp_server.messages.clear()

    promoted = change(session_id, 3)

    assert [r.id for r in promoted] == waiting[:2]
    assert [registration(r).status for r in waiting] == [
        RegistrationStatus.CONFIRMED, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED
    ]
    assert booking.waitlist_position(registration(waiting[2])) == 1
    after = camp(session_id)
    assert (after.capacity, after.seats_taken) == (3, 3)
    assert confirmed_count(session_id) == 3

    assert deliver_due().sent == 2
    assert sorted(email["To"] for email in smtp_server.messages) == sorted([email_of(second), email_of(third)])
    for email in smtp_server.messages:
        assert email["Subject"] == "候补成功：您已获得正式名额"
        attachment, qr_code = email.iter_attachments()
        assert attachment.get_content_type() == "text/calendar"
        assert qr_code.get_content_type() == "image/png"


# --- the calendar file ----------------------------------------------------------------------

def test_calendar_file_has_the_local_shanghai_times_and_the_venue(ctx, student):
    session_id = make_dated_session()
    seat = book_seat(student, session_id).registration.id

    [message] = outbox()
    calendar = ics_of(message.attachments[0])
    event = the_event(calendar)

    starts, ends = event.decoded("dtstart"), event.decoded("dtend")
    # The same instants as stored, written as Shanghai wall-clock time with its zone.
    assert (starts, ends) == (STARTS, ENDS)
    assert starts.replace(tzinfo=None) == datetime(2027, 9, 17, 9, 0)
    assert ends.replace(tzinfo=None) == datetime(2027, 9, 19, 18, 0)
    assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "Asia/Shanghai"
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert (starts.date(), ends.date()) == camp(session_id).local_dates()
    assert "玺承集团培训中心" in str(event["LOCATION"])
    assert "杭州" in str(event["LOCATION"])
    assert str(event["SUMMARY"]) == f"{TITLE} 第12期"
    assert str(event["UID"]).startswith(f"registration-{seat}@")
    # The email body shows the same local times.
    assert "2027-09-17 09:00" in message.body_text
    assert "2027-09-19 18:00" in message.body_text


def test_a_session_that_opens_while_a_refused_booking_is_explained_is_booked(app, ctx, students, monkeypatch):
    """The statements found the session closed; by the time the booking reads why, an admin has
    opened registration: the booking is written after all, not refused with a stale reason."""
    session_id = make_dated_session(capacity=1)
    with app.app_context():
        catalog.update_session(session_id, registration_opens_at=NOW + timedelta(hours=1))
    explain = booking._existing_or_refusal
    calls = []

    def admin_opens_registration_first(*args):
        calls.append(args)
        if len(calls) == 1:
            with app.app_context():  # the admin's own request, committed in between
                catalog.update_session(session_id, registration_opens_at=None)
        return explain(*args)

    monkeypatch.setattr(booking, "_existing_or_refusal", admin_opens_registration_first)
    outcome = booking.book_seat(db.session.get(User, students[0]), session_id, now=NOW)

    assert (outcome.created, outcome.registration.status) == (True, RegistrationStatus.CONFIRMED)
    assert len(calls) == 1
    assert camp(session_id).seats_taken == 1
    assert [m.template for m in outbox()] == ["booking_confirmed"]


def test_a_session_that_keeps_changing_is_refused_with_a_reason_to_retry(app, ctx, students, monkeypatch):
    session_id = make_dated_session(capacity=1, published=False)
    monkeypatch.setattr(booking, "check_bookable", lambda *args: None)  # every explanation finds it bookable

    with pytest.raises(SessionChanging):
        booking.book_seat(db.session.get(User, students[0]), session_id, now=NOW)
    db.session.rollback()
    assert registrations_of(session_id) == [] and outbox() == []


@pytest.mark.parametrize("seats", [1, 0], ids=["confirmed", "waitlisted"])
def test_the_booking_answer_is_the_session_as_the_database_has_it(ctx, students, seats):
    """The answer is assembled from what the booking's statements returned, not read back: it
    must match the registration, session and course as the database now has them."""
    session_id = make_dated_session(capacity=1)
    if seats == 0:
        booking.book_seat(db.session.get(User, students[1]), session_id, now=NOW)

    outcome = booking.book_seat(db.session.get(User, students[0]), session_id, now=NOW)
    answer = outcome.registration
    db.session.expire_all()
    stored = registration(answer.id)

    columns = ("id", "session_id", "status", "waitlist_number", "ticket_code", "created_at", "confirmed_at",
               "cancelled_at")
    assert [getattr(answer, name) for name in columns] == [getattr(stored, name) for name in columns]
    session_columns = ("id", "capacity", "seats_taken", "waitlisted_count", "starts_at", "ends_at", "price",
                       "venue", "label", "is_published", "registration_closes_at")
    assert ([getattr(answer.session, name) for name in session_columns]
            == [getattr(stored.session, name) for name in session_columns])
    assert (answer.session.course.title, answer.session.course.slug) == (TITLE, stored.session.course.slug)
    assert outcome.waitlist_position == (None if seats else 1)


def test_the_booking_answers_objects_hold_what_the_statements_returned_and_fail_loudly_on_the_rest(ctx, students):
    """Built as a query would have loaded them, not attached to the database session: a column the
    statements did not return is not read back (nor quietly None), and nothing is flushed."""
    session_id = make_dated_session(capacity=1)

    answer = booking.book_seat(db.session.get(User, students[0]), session_id, now=NOW).registration

    assert answer.status is RegistrationStatus.CONFIRMED and answer.session.course.title == TITLE
    for detached in (answer, answer.session, answer.session.course):
        assert inspect(detached).detached and not inspect(detached).modified
    with pytest.raises(DetachedInstanceError):
        _ = answer.source  # a column the statements do not return
    with pytest.raises(DetachedInstanceError):
        _ = answer.session.cancellation_deadline


def test_the_postgresql_booking_statement_fits_psycopgs_parse_cache():
    """psycopg caches its conversion of a statement only up to 4,096 bytes (app/booking/statements.py):
    a longer booking statement would be converted again on every booking of a rush. Paid seats had
    pushed it to 4,881 characters; one-letter table aliases and short column labels brought it back."""
    from sqlalchemy.dialects import postgresql

    from app.booking import statements

    compiled = statements.postgresql_booking.compiled(postgresql.dialect()).sql
    # %(name)s placeholders here, as psycopg receives the statement.
    assert len(compiled.encode("utf-8")) <= 4096, len(compiled)
