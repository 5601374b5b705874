"""团体报名: a booker books N seats for named attendees, all or none; the group waits together and is
seated together; the booker cancels or replaces (换人) an attendee; every step is audited and emailed.

Through the service the pages and the API call, on SQLite and PostgreSQL; the race with real threads
and their own connections.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.booking import groups
from app.booking import service as booking
from app.booking.errors import (
    AlreadyCancelled,
    GroupNeedsApproval,
    GroupSizeInvalid,
    InvalidAttendees,
    NotEnoughSeats,
    RegistrationNotFound,
    ReplacementClosed,
)
from app.booking.groups import AttendeeInput
from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.questions.models import Answer, QuestionKind
from tests.factories import make_person, make_students, new_course, new_session, xhs_questions
from tests.helpers import outbox_messages, run_together

S = RegistrationStatus

# Attendees as bookers type them: rare characters, pasted phone numbers in their several spellings.
TEAM = [AttendeeInput("王喆", "138 0013 8001", "wangzhe@example.com"),
        AttendeeInput("李堃", "+86 138-0013-8002"),
        AttendeeInput("𠮷田䶮", "１３８００１３８００３", "JITIAN@Example.com")]


def booker(app) -> int:
    return make_person(app, "赵经理", "13600000001", "manager@example.com")


def book_group(app, booker_id: int, session_id: int, attendees=TEAM, **options):
    with app.test_request_context():
        outcome = groups.book_group(db.session.get(User, booker_id), session_id, attendees, **options)
        return outcome.group.id, [(r.id, r.status) for r in outcome.registrations]


def counters(app, session_id: int) -> tuple[int, int, int]:
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        return camp.seats_taken, camp.capacity, camp.waitlisted_count


def registrations(app, session_id: int) -> list[Registration]:
    with app.app_context():
        found = db.session.scalars(select(Registration).where(Registration.session_id == session_id)
                                   .order_by(Registration.id)).all()
        for registration in found:
            registration.user  # noqa: B018 (loaded while the session is open)
        db.session.expunge_all()
        return list(found)


def test_a_group_of_three_gets_three_seats_each_with_its_own_person_and_ticket(app):
    session_id = new_session(app, capacity=5)
    booker_id = booker(app)

    group_id, booked = book_group(app, booker_id, session_id)

    assert [status for _, status in booked] == [S.CONFIRMED] * 3
    assert counters(app, session_id) == (3, 5, 0)
    found = registrations(app, session_id)
    assert [(r.user.name, r.user.phone) for r in found] == [
        ("王喆", "13800138001"), ("李堃", "13800138002"), ("𠮷田䶮", "13800138003")]
    assert {r.group_id for r in found} == {group_id}
    assert len({r.ticket_code for r in found}) == 3
    assert found[2].user.email == "jitian@example.com" and found[1].user.email is None
    with app.app_context():
        group = db.session.get(GroupBooking, group_id)
        assert (group.size, group.booker_id) == (3, booker_id)
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.session_id == session_id)).all()
        assert actions == [AuditAction.GROUP_BOOK.value] * 3
    sent = {(m.to_address, m.template) for m in outbox_messages(app)}
    # Each attendee with an address gets their own email; the booker gets the group's.
    assert sent == {("wangzhe@example.com", "booking_confirmed"), ("jitian@example.com", "booking_confirmed"),
                    ("manager@example.com", "group_booked")}


def test_an_attendee_who_already_has_an_account_is_booked_on_it(app):
    session_id = new_session(app, capacity=5)
    existing = make_person(app, "王喆", "13800138001", "old@example.com")

    book_group(app, booker(app), session_id)

    assert registrations(app, session_id)[0].user_id == existing


def test_all_or_nothing_when_fewer_seats_are_left_than_attendees(app):
    session_id = new_session(app, capacity=4)
    for user in make_students(app, 2):
        booking_one(app, user, session_id)
    booker_id = booker(app)

    with pytest.raises(NotEnoughSeats) as refused, app.test_request_context():
        groups.book_group(db.session.get(User, booker_id), session_id, TEAM)

    assert refused.value.seats_left == 2
    assert "2" in str(refused.value.message)
    assert counters(app, session_id) == (2, 4, 0)
    assert len(registrations(app, session_id)) == 2
    with app.app_context():  # nothing of the refused group stays: no group, no accounts
        assert db.session.scalar(select(func.count()).select_from(GroupBooking)) == 0
        assert db.session.scalar(select(func.count()).select_from(User).where(User.phone == "13800138002")) == 0


def test_the_booker_may_book_fewer_then(app):
    session_id = new_session(app, capacity=3)
    booking_one(app, make_students(app, 1)[0], session_id)

    _, booked = book_group(app, booker(app), session_id, TEAM[:2])

    assert [status for _, status in booked] == [S.CONFIRMED, S.CONFIRMED]
    assert counters(app, session_id) == (3, 3, 0)


def test_a_group_joins_the_waitlist_together_and_is_seated_together(app):
    session_id = new_session(app, capacity=3)
    seated = make_students(app, 3)
    seat_ids = [booking_one(app, user, session_id) for user in seated]
    behind = make_students(app, 1, first_number=50)[0]

    _, booked = book_group(app, booker(app), session_id, join_waitlist=True)
    single_behind = booking_one(app, behind, session_id)

    assert [status for _, status in booked] == [S.WAITLISTED] * 3
    assert counters(app, session_id) == (3, 3, 4)
    # One seat frees: the group (3) does not fit, so it keeps its place and the next who fits gets it.
    cancel(app, seat_ids[0], seated[0])
    assert status_of(app, single_behind) is S.CONFIRMED
    assert {status_of(app, r) for r, _ in booked} == {S.WAITLISTED}
    # Three seats free at once: the whole group is seated.
    with app.test_request_context():
        booking.change_capacity(session_id, 6)
    assert {status_of(app, r) for r, _ in booked} == {S.CONFIRMED}
    assert counters(app, session_id) == (6, 6, 0)


def test_a_waiting_group_keeps_its_place_ahead_of_people_who_came_later(app):
    session_id = new_session(app, capacity=2)
    seated = make_students(app, 2)
    for user in seated:
        booking_one(app, user, session_id)
    _, booked = book_group(app, booker(app), session_id, TEAM[:2], join_waitlist=True)
    later = booking_one(app, make_students(app, 1, first_number=50)[0], session_id)

    with app.test_request_context():
        booking.change_capacity(session_id, 4)  # two seats: the group, first in line, fits

    assert {status_of(app, r) for r, _ in booked} == {S.CONFIRMED}
    assert status_of(app, later) is S.WAITLISTED


def test_a_paid_group_is_held_for_payment_and_its_holds_lapse_together(app):
    session_id = new_session(app, capacity=5, price="3980.00")

    _, booked = book_group(app, booker(app), session_id)

    found = registrations(app, session_id)
    assert {r.status for r in found} == {S.PENDING_PAYMENT}
    assert {str(r.amount_due) for r in found} == {"3980.00"}
    assert len({r.hold_expires_at for r in found}) == 1
    later = found[0].hold_expires_at + timedelta(seconds=1)
    with app.test_request_context():
        booking.release_lapsed_holds(session_id, later)
    assert {status_of(app, r) for r, _ in booked} == {S.EXPIRED}
    assert counters(app, session_id) == (0, 5, 0)


@pytest.mark.parametrize("size", [1, 6])
def test_a_group_is_two_up_to_the_sessions_maximum(app, size):
    session_id = new_session(app, capacity=20, max_group_size=5)
    team = [AttendeeInput(f"学员{chr(0x4e00 + n)}", f"1370000{n:04d}") for n in range(size)]

    with pytest.raises(GroupSizeInvalid), app.test_request_context():
        groups.book_group(db.session.get(User, booker(app)), session_id, team)


def test_a_session_that_reviews_applications_takes_no_groups(app):
    session_id = new_session(app, capacity=20, requires_approval=True)

    with pytest.raises(GroupNeedsApproval), app.test_request_context():
        groups.book_group(db.session.get(User, booker(app)), session_id, TEAM)


@pytest.mark.parametrize(("attendees", "field"), [
    ([AttendeeInput("王喆", "13800138001"), AttendeeInput("李堃", "138-0013-8001")], "1.phone"),
    ([AttendeeInput("王喆", "12345"), AttendeeInput("李堃", "13800138002")], "0.phone"),
    ([AttendeeInput("王", "13800138001"), AttendeeInput("李堃", "13800138002")], "0.name"),
    ([AttendeeInput("王喆\x00", "13800138001"), AttendeeInput("李堃", "13800138002")], "0.name"),
    ([AttendeeInput("王喆", "13800138001"), AttendeeInput("李堃", "13800138002", "not-an-email")], "1.email"),
    # A manager typing her own address for everyone: one address per account, refused by field.
    ([AttendeeInput("王喆", "13800138001", "hr@example.com"), AttendeeInput("李堃", "13800138002", "HR@example.com ")],
     "1.email"),
])
def test_attendees_typed_wrong_are_refused_field_by_field(app, attendees, field):
    session_id = new_session(app, capacity=5)

    with pytest.raises(InvalidAttendees) as refused, app.test_request_context():
        groups.book_group(db.session.get(User, booker(app)), session_id, attendees)

    assert field in refused.value.errors
    assert counters(app, session_id) == (0, 5, 0)


def test_an_attendee_already_registered_is_named_and_nothing_is_booked(app):
    session_id = new_session(app, capacity=5)
    already = make_person(app, "李堃", "13800138002")
    booking_one(app, already, session_id)

    with pytest.raises(InvalidAttendees) as refused, app.test_request_context():
        groups.book_group(db.session.get(User, booker(app)), session_id, TEAM)

    assert list(refused.value.errors) == ["1.phone"]
    assert counters(app, session_id) == (1, 5, 0)


def test_each_attendee_answers_the_registration_questions(app):
    course_id = new_course(app)
    asked = xhs_questions(app, course_id)
    session_id = new_session(app, course_id, capacity=5)
    required = _required_answers(app, session_id)
    team = [AttendeeInput(a.name, a.phone, a.email, {**required, asked["公司名称"]: f"{a.name}的店"}) for a in TEAM]

    _, booked = book_group(app, booker(app), session_id, team)

    with app.app_context():
        companies = dict(db.session.execute(select(Answer.registration_id, Answer.value)
                                            .where(Answer.question_id == asked["公司名称"])).all())
    assert [companies[r] for r, _ in booked] == ["王喆的店", "李堃的店", "𠮷田䶮的店"]


def test_a_missing_required_answer_names_the_attendee_and_question(app):
    course_id = new_course(app)
    asked = xhs_questions(app, course_id)
    session_id = new_session(app, course_id, capacity=5)

    with pytest.raises(InvalidAttendees) as refused, app.test_request_context():
        groups.book_group(db.session.get(User, booker(app)), session_id, TEAM)

    assert f"0.answers.{asked['公司名称']}" in refused.value.errors


def test_a_group_racing_single_bookings_fills_exactly_the_capacity(app):
    """Five seats: a group of three and four single students at once. Whoever wins, the session
    ends exactly full, the group all in or all out."""
    session_id = new_session(app, capacity=5)
    booker_id = booker(app)
    singles = make_students(app, 4)

    def group_call():
        try:
            outcome = groups.book_group(db.session.get(User, booker_id), session_id, TEAM)
            return [r.status for r in outcome.registrations]
        except NotEnoughSeats:
            return "refused"

    def single(user_id):
        return lambda: booking.book_seat(db.session.get(User, user_id), session_id).registration.status

    results, _ = run_together(app, [group_call] + [single(u) for u in singles])

    seats, capacity, waiting = counters(app, session_id)
    group_result, single_results = results[0], results[1:]
    if group_result == "refused":  # the four singles came first: one seat left, too few for three
        assert single_results == [S.CONFIRMED] * 4 and (seats, waiting) == (4, 0)
    else:
        assert group_result == [S.CONFIRMED] * 3
        assert sorted(single_results) == sorted([S.CONFIRMED] * 2 + [S.WAITLISTED] * 2)
        assert (seats, waiting) == (5, 2)
    with app.app_context():
        held = db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.session_id == session_id, Registration.status == S.CONFIRMED))
    assert held == seats <= capacity


# --- the booker acts for the group -----------------------------------------------------------------

def test_the_booker_replaces_an_attendee_with_a_new_ticket(app):
    session_id = new_session(app, capacity=5)
    booker_id = booker(app)
    _, booked = book_group(app, booker_id, session_id)
    replaced_id = booked[0][0]
    old_ticket = registrations(app, session_id)[0].ticket_code

    with app.test_request_context():
        groups.replace_attendee(replaced_id, db.session.get(User, booker_id),
                                AttendeeInput("欧阳娜娜", "13800138009", "nana@example.com"))

    now = registrations(app, session_id)[0]
    assert (now.id, now.status, now.user.name, now.user.phone) == (replaced_id, S.CONFIRMED, "欧阳娜娜", "13800138009")
    assert now.ticket_code != old_ticket
    assert counters(app, session_id) == (3, 5, 0)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.GROUP_REPLACE.value))
        assert entry.actor_id == booker_id and "王喆 → 欧阳娜娜" in entry.note
    sent = {(m.to_address, m.template) for m in outbox_messages(app)}
    assert ("nana@example.com", "booking_confirmed") in sent
    assert ("wangzhe@example.com", "attendee_replaced") in sent


def test_only_the_booker_may_replace_and_only_until_the_cancellation_deadline(app):
    session_id = new_session(app, capacity=5, starts_in_days=2)
    booker_id = booker(app)
    stranger = make_students(app, 1)[0]
    _, booked = book_group(app, booker_id, session_id)
    nana = AttendeeInput("欧阳娜娜", "13800138009")

    with pytest.raises(RegistrationNotFound), app.test_request_context():
        groups.replace_attendee(booked[0][0], db.session.get(User, stranger), nana)
    with pytest.raises(ReplacementClosed), app.test_request_context():
        groups.replace_attendee(booked[0][0], db.session.get(User, booker_id), nana,
                                now=utcnow() + timedelta(days=3))
    # Staff may, any time.
    with app.test_request_context():
        groups.replace_attendee(booked[0][0], db.session.get(User, stranger), nana, by_staff=True,
                                now=utcnow() + timedelta(days=3))
    assert registrations(app, session_id)[0].user.name == "欧阳娜娜"


def test_a_replacement_who_is_already_registered_is_refused(app):
    session_id = new_session(app, capacity=5)
    booker_id = booker(app)
    _, booked = book_group(app, booker_id, session_id)

    with pytest.raises(InvalidAttendees) as refused, app.test_request_context():
        groups.replace_attendee(booked[0][0], db.session.get(User, booker_id), AttendeeInput("李堃", "13800138002"))

    assert "0.phone" in refused.value.errors


def test_a_registration_outside_any_group_has_nobody_to_replace(app):
    session_id = new_session(app, capacity=5)
    own = booking_one(app, make_students(app, 1)[0], session_id)
    staff_id = make_students(app, 1, first_number=90)[0]

    with pytest.raises(RegistrationNotFound), app.test_request_context():
        groups.replace_attendee(own, db.session.get(User, staff_id), AttendeeInput("欧阳娜娜", "13800138009"),
                                by_staff=True)


def test_the_booker_cancels_one_attendee_and_the_seat_goes_down_the_queue(app):
    session_id = new_session(app, capacity=3)
    booker_id = booker(app)
    _, booked = book_group(app, booker_id, session_id)
    waiting = booking_one(app, make_students(app, 1)[0], session_id)

    with app.test_request_context():
        booking.cancel_registration(booked[1][0], db.session.get(User, booker_id))

    assert status_of(app, booked[1][0]) is S.CANCELLED
    assert status_of(app, waiting) is S.CONFIRMED
    with pytest.raises(AlreadyCancelled), app.test_request_context():
        groups.replace_attendee(booked[1][0], db.session.get(User, booker_id), AttendeeInput("欧阳娜娜", "13800138009"))


def test_groups_of_lists_a_bookers_groups_and_nobody_elses(app):
    session_id = new_session(app, capacity=5)
    booker_id = booker(app)
    group_id, _ = book_group(app, booker_id, session_id)
    stranger = make_students(app, 1)[0]

    with app.app_context():
        assert [g.id for g in groups.groups_of(booker_id)] == [group_id]
        assert groups.groups_of(stranger) == []
        assert groups.group_of(stranger, group_id) is None


# --- helpers ------------------------------------------------------------------------------------------

def booking_one(app, user_id: int, session_id: int) -> int:
    with app.test_request_context():
        return booking.book_seat(db.session.get(User, user_id), session_id).registration.id


def cancel(app, registration_id: int, user_id: int) -> None:
    with app.test_request_context():
        booking.cancel_registration(registration_id, db.session.get(User, user_id))


def status_of(app, registration_id: int) -> RegistrationStatus:
    with app.app_context():
        return db.session.get(Registration, registration_id).status


_SAMPLE = {QuestionKind.YES_NO: "是", QuestionKind.NUMBER: "3", QuestionKind.DATE: "2026-09-17",
           QuestionKind.PHONE: "13800138000", QuestionKind.EMAIL: "a@example.com"}


def _required_answers(app, session_id: int) -> dict[int, str]:
    """A valid answer to every required question of the session (choices: the first option)."""
    from app.questions.queries import questions_for_session

    with app.app_context():
        result = {}
        for question in questions_for_session(session_id):
            if question.required:
                result[question.id] = question.choices[0] if question.choices else _SAMPLE.get(question.kind, "示例")
        return result
