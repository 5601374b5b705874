"""报名审核: a session that requires approval turns a booking into an application, which takes no
seat; staff approve (a seat, a hold, or the waitlist: never overbooked) or reject it, with a
message emailed; its applicant may withdraw it while pending; every step is audited.

Through the services the pages and the API call, on SQLite and PostgreSQL; the races with real
threads and their own connections.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.booking import review
from app.booking import service as booking
from app.booking.errors import NotPendingReview, ReviewMessageInvalid
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.extensions import db
from tests.factories import make_students, new_session
from tests.helpers import outbox_messages, run_together

S = RegistrationStatus


def review_session(app, capacity: int = 2, price: str = "0.00") -> int:
    return new_session(app, capacity=capacity, price=price, requires_approval=True)


@dataclass
class Applied:
    id: int
    status: RegistrationStatus
    created: bool


def apply(app, user_id: int, session_id: int) -> Applied:
    with app.test_request_context():
        outcome = booking.book_seat(db.session.get(User, user_id), session_id)
        return Applied(outcome.registration.id, outcome.registration.status, outcome.created)


def staff_member(app) -> int:
    return make_students(app, 1, first_number=900)[0]  # the service trusts its caller's role (pages check it)


def approve(app, registration_id: int, staff_id: int, message: str | None = None) -> Registration:
    with app.test_request_context():
        review.approve_application(registration_id, db.session.get(User, staff_id), message)
    return stored(app, registration_id)


def decide(app, ids: list[int], staff_id: int, approve: bool, message: str | None = None) -> list[review.Decision]:
    with app.test_request_context():
        return review.decide_applications(ids, db.session.get(User, staff_id), approve, message)


def stored(app, registration_id: int) -> Registration:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def counters(app, session_id: int) -> tuple[int, int, int]:
    """(seats_taken, registrations holding a seat, waitlisted_count)."""
    with app.app_context():
        holding = select(func.count()).where(
            Registration.session_id == session_id,
            Registration.status.in_([S.CONFIRMED, S.PENDING_PAYMENT, S.OFFERED])).scalar_subquery()
        return tuple(db.session.execute(select(CampSession.seats_taken, holding, CampSession.waitlisted_count)
                                        .where(CampSession.id == session_id)).one())


def actions_of(app, registration_id: int) -> list[tuple[str, int | None, str]]:
    with app.app_context():
        return [(e.action, e.actor_id, e.note) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.registration_id == registration_id).order_by(AuditEntry.id))]


def test_a_booking_of_a_session_requiring_approval_is_an_application_that_takes_no_seat(app):
    session_id = review_session(app, capacity=1)
    first, second = make_students(app, 2)

    outcome = apply(app, first, session_id)
    again = apply(app, first, session_id)
    other = apply(app, second, session_id)

    assert outcome.created and outcome.status is S.PENDING_REVIEW
    assert not again.created and again.id == outcome.id  # a double tap gets it back
    assert other.status is S.PENDING_REVIEW  # capacity 1, yet nobody took a seat
    assert counters(app, session_id) == (0, 0, 0)
    assert actions_of(app, outcome.id) == [(AuditAction.APPLICATION_SUBMIT.value, first, "")]
    received = [m for m in outbox_messages(app) if m.template == "application_received"]
    assert [m.to_address for m in received] == ["racer0@example.com", "racer1@example.com"]
    assert "已收到报名申请" in received[0].subject


def test_approval_gives_a_seat_then_the_waitlist_when_full(app):
    session_id = review_session(app, capacity=1)
    staff_id = staff_member(app)
    first, second = (apply(app, user, session_id).id for user in make_students(app, 2))

    seated = approve(app, first, staff_id, "欢迎加入")
    waiting = approve(app, second, staff_id)

    assert seated.status is S.CONFIRMED and seated.confirmed_at is not None
    assert (seated.reviewed_by_id, seated.review_message) == (staff_id, "欢迎加入")
    assert waiting.status is S.WAITLISTED and waiting.waitlist_number == 1
    assert counters(app, session_id) == (1, 1, 1)
    assert actions_of(app, first)[-1] == (AuditAction.APPLICATION_APPROVE.value, staff_id, "欢迎加入")
    approved = [m for m in outbox_messages(app) if m.template == "application_approved"]
    assert "欢迎加入" in approved[0].body_text and "票码" in approved[0].body_text
    assert "候补" in approved[1].body_text


def test_approval_of_a_paid_session_holds_the_seat_until_the_payment_deadline(app):
    session_id = review_session(app, capacity=1, price="3980.00")
    staff_id = staff_member(app)
    application = apply(app, make_students(app, 1)[0], session_id).id

    held = approve(app, application, staff_id)

    assert held.status is S.PENDING_PAYMENT and held.amount_due == Decimal("3980.00")
    assert held.hold_expires_at > held.reviewed_at
    with app.app_context():
        assert db.session.get(CampSession, session_id).holds_lapse_at == held.hold_expires_at
    assert counters(app, session_id) == (1, 1, 0)
    body = [m for m in outbox_messages(app) if m.template == "application_approved"][0].body_text
    assert "去支付" in body and "3,980.00" in body


def test_bulk_approval_with_fewer_seats_than_applications_seats_the_earliest_applicants(app):
    session_id = review_session(app, capacity=2)
    staff_id = staff_member(app)
    applications = [apply(app, user, session_id).id for user in make_students(app, 4)]

    decisions = decide(app, list(reversed(applications)), staff_id, approve=True, message="已审核")

    assert [d.registration_id for d in decisions] == applications  # in the order they applied
    assert [stored(app, r).status for r in applications] == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED, S.WAITLISTED]
    assert [stored(app, r).waitlist_number for r in applications[2:]] == [1, 2]
    assert counters(app, session_id) == (2, 2, 2)


def test_reject_with_a_message_is_emailed_and_an_application_is_decided_once(app):
    session_id = review_session(app)
    staff_id = staff_member(app)
    first, second = (apply(app, user, session_id).id for user in make_students(app, 2))

    decisions = decide(app, [first, second], staff_id, approve=False, message="年营业额未达要求\n欢迎下次申请")
    again = decide(app, [first], staff_id, approve=True)

    assert [stored(app, r).status for r in (first, second)] == [S.REJECTED, S.REJECTED]
    assert all(d.refusal is None for d in decisions)
    assert isinstance(again[0].refusal, NotPendingReview) and stored(app, first).status is S.REJECTED
    assert counters(app, session_id) == (0, 0, 0)
    assert actions_of(app, first)[-1] == (AuditAction.APPLICATION_REJECT.value, staff_id,
                                          "年营业额未达要求\n欢迎下次申请")
    rejected = [m for m in outbox_messages(app) if m.template == "application_rejected"]
    assert len(rejected) == 2 and "年营业额未达要求" in rejected[0].body_text and "未通过" in rejected[0].subject


def test_the_applicant_may_withdraw_while_pending_and_then_apply_again(app):
    session_id = review_session(app)
    staff_id = staff_member(app)
    user_id = make_students(app, 1)[0]
    application = apply(app, user_id, session_id).id

    with app.test_request_context():
        booking.cancel_registration(application, db.session.get(User, user_id))
    again = apply(app, user_id, session_id)
    late = decide(app, [application], staff_id, approve=True)

    assert stored(app, application).status is S.WITHDRAWN
    assert isinstance(late[0].refusal, NotPendingReview)  # staff cannot approve what was withdrawn
    assert again.created and again.id != application
    assert actions_of(app, application)[-1] == (AuditAction.APPLICATION_WITHDRAW.value, user_id, "")
    assert counters(app, session_id) == (0, 0, 0)


@pytest.mark.parametrize("message", ["坏\x00消息", "长" * 501, "x" * 10_000_000])
def test_a_message_no_database_stores_is_refused_and_decides_nothing(app, message):
    session_id = review_session(app)
    staff_id = staff_member(app)
    application = apply(app, make_students(app, 1)[0], session_id).id

    with pytest.raises(ReviewMessageInvalid):
        decide(app, [application], staff_id, approve=False, message=message)

    assert stored(app, application).status is S.PENDING_REVIEW


def test_staff_adding_a_person_to_a_session_requiring_approval_gives_a_seat(app):
    session_id = review_session(app, capacity=1)
    staff_id, person = staff_member(app), make_students(app, 1)[0]

    with app.test_request_context():
        added = booking.staff_add(session_id, db.session.get(User, person), db.session.get(User, staff_id))
        assert added.status is S.CONFIRMED  # staff's own decision: no application to review


def test_an_approval_racing_bookings_for_the_last_seats_never_overbooks(app):
    """Two seats left of a session whose approval was turned off meanwhile (so students book it
    directly): three approvals and three bookings at once fill exactly the capacity."""
    session_id = review_session(app, capacity=3)
    staff_id = staff_member(app)
    applicants, bookers = make_students(app, 4), make_students(app, 3, first_number=100)
    applications = [apply(app, user, session_id).id for user in applicants]
    approve(app, applications[0], staff_id)  # one seat taken; two left
    with app.app_context():
        db.session.get(CampSession, session_id).requires_approval = False
        db.session.commit()

    def approval(registration_id):
        return lambda: review.approve_application(registration_id, db.session.get(User, staff_id)).status

    def booking_of(user_id):
        return lambda: booking.book_seat(db.session.get(User, user_id), session_id).registration.status

    results, _ = run_together(app, [approval(r) for r in applications[1:]] + [booking_of(u) for u in bookers])

    assert results.count(S.CONFIRMED) == 2 and results.count(S.WAITLISTED) == 4
    assert counters(app, session_id) == (3, 3, 4)
