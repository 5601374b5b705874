"""Staff actions keep the seat rules under concurrency: two staff members moving people into the
last free seat, opposite moves between two sessions at once (no deadlock), hand promotions racing
for one seat. Real threads, own connections, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import User
from app.booking import service as booking
from app.booking.errors import SessionFull
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.extensions import db
from tests.factories import make_course, make_session, make_students
from tests.helpers import run_together

CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED


def _staff(app) -> int:
    return make_students(app, 1, first_number=900)[0]


def _sessions(app, capacities: list[int]) -> list[int]:
    with app.app_context():
        course_id = make_course(slug="xhs")
        ids = [make_session(course_id, capacity=c) for c in capacities]
        db.session.remove()
    return ids


def _book(app, user_ids: list[int], session_id: int) -> list[int]:
    with app.app_context():
        ids = [booking.book_seat(db.session.get(User, uid), session_id).registration.id for uid in user_ids]
        db.session.remove()
    return ids


def _try(call):
    """The call's result, or the domain error it raised (a refusal is an answer here, not a failure)."""
    try:
        return call()
    except SessionFull as error:
        return error


def _counts(app, session_id: int) -> tuple[int, int, int]:
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        confirmed = db.session.scalar(select(func.count()).where(
            Registration.session_id == session_id, Registration.status == CONFIRMED))
        result = (camp.seats_taken, camp.capacity, confirmed)
        db.session.remove()
    return result


def test_two_staff_moving_people_into_the_last_seat_fill_it_once(app):
    source, target = _sessions(app, [5, 2])
    people = make_students(app, 3)
    actor = _staff(app)
    _book(app, people[:1], target)  # one seat of two taken
    movers = _book(app, people[1:], source)

    def move(registration_id):
        return lambda: _try(lambda: booking.move_registration(
            registration_id, target, db.session.get(User, actor)).registration.id)

    results, _ = run_together(app, [move(movers[0]), move(movers[1])])

    assert sum(isinstance(r, SessionFull) for r in results) == 1
    assert _counts(app, target) == (2, 2, 2)
    assert _counts(app, source) == (1, 5, 1)  # the one who moved freed their seat


def test_opposite_moves_at_the_same_time_do_not_deadlock(app):
    first, second = _sessions(app, [5, 5])  # room for everyone: only the locking is under test
    people = make_students(app, 4)
    actor = _staff(app)
    in_first = _book(app, people[:2], first)
    in_second = _book(app, people[2:], second)

    def move(registration_id, to):
        return lambda: booking.move_registration(registration_id, to, db.session.get(User, actor)).registration.id

    calls = [move(in_first[0], second), move(in_second[0], first), move(in_first[1], second), move(in_second[1], first)]
    run_together(app, calls)  # fails the test if a thread raised (a deadlock error) or hung

    assert _counts(app, first) == (2, 5, 2)
    assert _counts(app, second) == (2, 5, 2)


def test_two_hand_promotions_at_once_each_add_exactly_one_seat(app):
    [session_id] = _sessions(app, [1])
    people = make_students(app, 4)
    actor = _staff(app)
    _seated, *waiting = _book(app, people, session_id)

    def promote(registration_id):
        return lambda: booking.promote_by_hand(registration_id, db.session.get(User, actor)).status

    results, _ = run_together(app, [promote(waiting[2]), promote(waiting[0])])

    assert results == [CONFIRMED, CONFIRMED]
    assert _counts(app, session_id) == (3, 3, 3)  # capacity grew by two, one seat each
    with app.app_context():
        still_waiting = db.session.scalars(select(Registration.id).where(
            Registration.session_id == session_id, Registration.status == WAITLISTED)).all()
        db.session.remove()
    assert still_waiting == [waiting[1]]  # out of turn: the middle one still waits


def test_hand_promotion_without_adding_a_seat_is_refused_when_full(app):
    [session_id] = _sessions(app, [1])
    people = make_students(app, 2)
    actor = _staff(app)
    _seated, waiting = _book(app, people, session_id)
    with app.app_context():
        result = _try(lambda: booking.promote_by_hand(waiting, db.session.get(User, actor), add_seat_if_full=False))
        db.session.remove()
    assert isinstance(result, SessionFull)
    assert _counts(app, session_id) == (1, 1, 1)


def test_staff_add_never_exceeds_capacity_under_a_rush(app):
    [session_id] = _sessions(app, [3])
    people = make_students(app, 12)
    actor = _staff(app)

    def add(user_id):
        return lambda: booking.staff_add(session_id, db.session.get(User, user_id),
                                         db.session.get(User, actor)).status

    results, _ = run_together(app, [add(uid) for uid in people])

    assert results.count(CONFIRMED) == 3
    assert results.count(WAITLISTED) == 9
    assert _counts(app, session_id) == (3, 3, 3)
    with app.app_context():
        codes = db.session.scalars(select(Registration.ticket_code)).all()
        db.session.remove()
    assert len(set(codes)) == 12 and all(len(code) == 12 for code in codes)
