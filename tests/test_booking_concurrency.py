"""The booking rules hold under a rush, on SQLite and on PostgreSQL.

Every booking or cancellation runs in a real thread with its own application context, so its own
database session and connection; a barrier releases them all at once. Nothing is mocked: the
database's locks and constraints are what keep the seat count right.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.booking import service as booking
from app.booking.errors import AlreadyCancelled
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.db import begin_write
from app.extensions import db
from tests.factories import make_students, new_session
from tests.helpers import outbox_emails, run_together

TITLE = "快速玩转小红书成长特训营"
CONFIRMED, WAITLISTED, CANCELLED = (
    RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED, RegistrationStatus.CANCELLED
)






@dataclass(frozen=True)
class Booked:
    registration_id: int
    status: RegistrationStatus
    created: bool


def book_as(user_id: int, session_id: int) -> Booked:
    outcome = booking.book_seat(db.session.get(User, user_id), session_id)
    return Booked(outcome.registration.id, outcome.registration.status, outcome.created)


def cancel_as(user_id: int, registration_id: int) -> list[int]:
    """Cancel as the owner; the ids of the registrations promoted by it."""
    outcome = booking.cancel_registration(registration_id, db.session.get(User, user_id))
    return [registration.id for registration in outcome.promoted]




def seat_count_snapshot(session_id: int) -> tuple[int, int, int]:
    """(seats_taken, capacity, confirmed registrations) read in one statement, so one snapshot."""
    confirmed = (
        select(func.count())
        .where(Registration.session_id == session_id, Registration.status == CONFIRMED)
        .scalar_subquery()
    )
    return tuple(db.session.execute(
        select(CampSession.seats_taken, CampSession.capacity, confirmed).where(CampSession.id == session_id)
    ).one())


def session_state(app, session_id: int) -> dict:
    """The session as the database has it now, read in a fresh context."""
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        registrations = list(db.session.scalars(select(Registration).where(Registration.session_id == session_id)))
        state = {
            "capacity": camp.capacity,
            "seats_taken": camp.seats_taken,
            "status": {r.id: r.status for r in registrations},
            "user": {r.id: r.user_id for r in registrations},
            "waitlist_number": {r.id: r.waitlist_number for r in registrations if r.status is WAITLISTED},
            "position": {r.id: booking.waitlist_position(r) for r in registrations if r.status is WAITLISTED},
            "emails": [(m.to_address, m.subject, m.body_text, len(m.attachments)) for m in outbox_emails()],
            "email_of": dict(db.session.execute(select(User.id, User.email)).all()),
        }
        # Whatever the test did, the session's waitlist count is its waiting registrations.
        assert camp.waitlisted_count == len(state["waitlist_number"])
        db.session.remove()
    return state


def ids_with(state: dict, status: RegistrationStatus) -> set[int]:
    return {rid for rid, s in state["status"].items() if s is status}


def test_fifty_students_racing_for_ten_seats_get_ten_seats_and_an_orderly_waitlist(app):
    session_id = new_session(app, capacity=10)
    students = make_students(app, 50)

    results, _ = run_together(app, [lambda s=s: book_as(s, session_id) for s in students])

    assert all(result.created for result in results)
    assert Counter(result.status for result in results) == {CONFIRMED: 10, WAITLISTED: 40}
    assert len({result.registration_id for result in results}) == 50
    state = session_state(app, session_id)
    assert len(ids_with(state, CONFIRMED)) == 10 == state["seats_taken"]
    assert len(ids_with(state, WAITLISTED)) == 40
    assert sorted(state["position"].values()) == list(range(1, 41))
    assert len(set(state["waitlist_number"].values())) == 40
    # Positions follow the waitlist tickets, i.e. the order in which the database took the bookings.
    by_ticket = sorted(state["position"], key=state["waitlist_number"].get)
    assert [state["position"][rid] for rid in by_ticket] == list(range(1, 41))

    # Everyone got exactly one email, and each waiting student was told the place they still have.
    emails = state["emails"]
    assert sorted(to for to, *_ in emails) == sorted(state["email_of"][s] for s in students)
    for rid, status in state["status"].items():
        [(_, subject, body, attachments)] = [e for e in emails if e[0] == state["email_of"][state["user"][rid]]]
        if status is CONFIRMED:
            assert (subject, attachments) == (f"报名成功：{TITLE}", 2)  # the calendar entry and the QR code
        else:
            assert subject == f"已加入候补：{TITLE}"
            assert f"目前是候补第 {state['position'][rid]} 位" in body


def test_the_same_student_booking_twenty_times_at_once_gets_one_registration(app):
    session_id = new_session(app, capacity=10)
    [student] = make_students(app, 1)

    results, _ = run_together(app, [lambda: book_as(student, session_id)] * 20)

    assert len({result.registration_id for result in results}) == 1
    assert sum(result.created for result in results) == 1
    state = session_state(app, session_id)
    assert list(state["status"].values()) == [CONFIRMED]
    assert state["seats_taken"] == 1
    assert [(to, subject) for to, subject, *_ in state["emails"]] == [("racer0@example.com", f"报名成功：{TITLE}")]


def test_cancellations_during_a_rush_hand_seats_to_the_waitlist_in_order(app):
    session_id = new_session(app, capacity=10)
    seated_students, waiting_students, newcomers = (
        make_students(app, 10, 0), make_students(app, 10, 10), make_students(app, 5, 20)
    )
    with app.app_context():
        seats = [book_as(s, session_id).registration_id for s in seated_students]
        waiting = [book_as(s, session_id).registration_id for s in waiting_students]  # tickets 1..10
        db.session.remove()
    emails_before = len(session_state(app, session_id)["emails"])
    leaving = list(zip(seated_students[:5], seats[:5], strict=True))

    calls = [lambda u=u, r=r: cancel_as(u, r) for u, r in leaving]
    calls += [lambda s=s: book_as(s, session_id) for s in newcomers]
    results, snapshots = run_together(app, calls, observe=lambda: seat_count_snapshot(session_id))

    promotions, bookings = results[:5], results[5:]
    # Each cancellation handed its seat straight on, and only the first five in the queue moved up.
    assert all(len(promoted) == 1 for promoted in promotions)
    assert sorted(r for promoted in promotions for r in promoted) == sorted(waiting[:5])
    # The session never had a free seat between transactions, so nobody jumped the queue.
    assert all(booked.status is WAITLISTED and booked.created for booked in bookings)

    assert snapshots, "the observer looked at the session at least once"
    for seats_taken, capacity, confirmed in snapshots:
        assert seats_taken == confirmed <= capacity

    state = session_state(app, session_id)
    assert state["seats_taken"] == len(ids_with(state, CONFIRMED)) == 10
    assert ids_with(state, CONFIRMED) == set(seats[5:]) | set(waiting[:5])
    assert ids_with(state, CANCELLED) == set(seats[:5])
    assert [state["position"][r] for r in waiting[5:]] == [1, 2, 3, 4, 5]
    assert sorted(state["position"][b.registration_id] for b in bookings) == [6, 7, 8, 9, 10]
    assert len(set(state["waitlist_number"].values())) == 10

    subjects = Counter(subject for _, subject, *_ in state["emails"][emails_before:])
    assert subjects == {f"报名已取消：{TITLE}": 5, "候补成功：您已获得正式名额": 5, f"已加入候补：{TITLE}": 5}
    promoted_to = {to for to, subject, *_ in state["emails"] if subject.startswith("候补成功")}
    assert promoted_to == {state["email_of"][s] for s in waiting_students[:5]}


def test_one_cancellation_clicked_ten_times_at_once_frees_one_seat_once(app):
    session_id = new_session(app, capacity=1)
    owner, first_waiting, second_waiting = make_students(app, 3)
    with app.app_context():
        seat = book_as(owner, session_id).registration_id
        head, behind = (book_as(s, session_id).registration_id for s in (first_waiting, second_waiting))
        db.session.remove()

    def click_cancel() -> list[int] | str:
        try:
            return cancel_as(owner, seat)
        except AlreadyCancelled:
            return "already cancelled"

    results, _ = run_together(app, [click_cancel] * 10)

    assert sorted(map(str, results)) == sorted([str([head])] + ["already cancelled"] * 9)
    state = session_state(app, session_id)
    assert state["status"] == {seat: CANCELLED, head: CONFIRMED, behind: WAITLISTED}
    assert state["seats_taken"] == 1
    assert state["position"] == {behind: 1}
    cancellation_emails = [to for to, subject, *_ in state["emails"] if subject.startswith("报名已取消")]
    assert cancellation_emails == [state["email_of"][owner]]


# --- the last line of defence ---------------------------------------------------------------

def second_active_registration(session_id: int, seated: int, waiting: int, newcomer: int) -> None:
    db.session.add(Registration(session_id=session_id, user_id=seated, status=WAITLISTED, waitlist_number=50))


def reused_waitlist_ticket(session_id: int, seated: int, waiting: int, newcomer: int) -> None:
    db.session.add(Registration(session_id=session_id, user_id=newcomer, status=WAITLISTED, waitlist_number=1))


def waiting_without_a_ticket(session_id: int, seated: int, waiting: int, newcomer: int) -> None:
    db.session.add(Registration(session_id=session_id, user_id=newcomer, status=WAITLISTED, waitlist_number=None))


def seat_beyond_capacity(session_id: int, seated: int, waiting: int, newcomer: int) -> None:
    db.session.execute(
        update(CampSession).where(CampSession.id == session_id).values(seats_taken=CampSession.capacity + 1)
    )


FORBIDDEN_WRITES = [second_active_registration, reused_waitlist_ticket, waiting_without_a_ticket, seat_beyond_capacity]


@pytest.mark.parametrize("write", FORBIDDEN_WRITES, ids=[w.__name__ for w in FORBIDDEN_WRITES])
def test_the_database_itself_refuses_what_the_booking_service_must_never_write(app, write):
    """If a future code path forgot the lock or the conditional update, the constraints would still hold."""
    session_id = new_session(app, capacity=1)
    seated, waiting, newcomer = make_students(app, 3)
    with app.app_context():
        book_as(seated, session_id)
        book_as(waiting, session_id)  # waitlist ticket 1
        begin_write()
        with pytest.raises(IntegrityError):
            write(session_id, seated, waiting, newcomer)
            db.session.flush()
        db.session.rollback()
        assert seat_count_snapshot(session_id) == (1, 1, 1)
        db.session.remove()
