"""Paid seats: a booking holds the seat while its person pays; a hold that runs out goes down the
waiting list as an offer; payments confirm, come back when late, and are recorded once.

Through the services the pages and the notification handlers call, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.payments import refunds
from app.payments import service as payments
from app.payments.errors import HoldExpired, NothingToPay, RefundTooLarge
from app.payments.models import Payment, PaymentProvider, RefundRequest
from tests.factories import make_students, new_session
from tests.helpers import outbox_messages, run_together

PRICE = Decimal("3980.00")
PENDING, OFFERED, EXPIRED = (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.OFFERED,
                             RegistrationStatus.EXPIRED)
CONFIRMED, WAITLISTED, CANCELLED = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED,
                                    RegistrationStatus.CANCELLED)


def paid_session(app, capacity: int = 2, **fields) -> int:
    return new_session(app, capacity=capacity, price=str(PRICE), **fields)


def book_at(app, user_id: int, session_id: int, at=None) -> int:
    with app.test_request_context():
        outcome = booking.book_seat(db.session.get(User, user_id), session_id, now=at)
        return outcome.registration.id


def state(app, registration_id: int) -> Registration:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def counts(app, session_id: int) -> tuple[int, int, int]:
    """(seats_taken, registrations holding a seat, waitlisted_count) in one snapshot."""
    with app.app_context():
        holding = (select(func.count()).where(
            Registration.session_id == session_id,
            Registration.status.in_([CONFIRMED, PENDING, OFFERED])).scalar_subquery())
        return tuple(db.session.execute(select(CampSession.seats_taken, holding, CampSession.waitlisted_count)
                                        .where(CampSession.id == session_id)).one())


def pay(app, registration_id: int, transaction_id: str, amount: Decimal = PRICE, at=None,
        provider: PaymentProvider = PaymentProvider.WECHAT) -> payments.PaymentOutcome:
    """The student opens an order and the provider tells us it was paid."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        user = db.session.get(User, registration.user_id)
        order = payments.open_order(registration_id, user, provider, "native", now=at)
        out_trade_no = order.out_trade_no
    return notify(app, provider, out_trade_no, transaction_id, amount, at)


def notify(app, provider, out_trade_no, transaction_id, amount=PRICE, at=None) -> payments.PaymentOutcome:
    with app.test_request_context():
        outcome = payments.record_payment(provider, out_trade_no, transaction_id, amount, at or utcnow(), now=at)
        outcome.refund_id = outcome.refund.id if outcome.refund else None
        outcome.out_trade_no = out_trade_no
        return outcome


def templates_sent(app) -> list[str]:
    return [message.template for message in outbox_messages(app)]


def test_booking_a_paid_session_holds_the_seat_for_the_configured_time(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    before = utcnow()

    registration = state(app, book_at(app, student, session_id))

    assert registration.status is PENDING
    assert registration.amount_due == PRICE and registration.amount_paid == 0
    hold = app.config["PAYMENT_HOLD_SECONDS"]
    assert before + timedelta(seconds=hold - 5) <= registration.hold_expires_at <= utcnow() + timedelta(seconds=hold)
    assert registration.confirmed_at is None
    assert counts(app, session_id) == (1, 1, 0)
    assert templates_sent(app) == ["booking_held"]
    held = outbox_messages(app)[0]
    assert "¥3,980.00" in held.body_text and f"/registrations/{registration.id}/pay" in held.body_text


def test_a_session_may_hold_its_seats_for_longer_than_the_site(app):
    session_id = paid_session(app, payment_hold_seconds=3600)
    [student] = make_students(app, 1)

    registration = state(app, book_at(app, student, session_id))

    assert registration.hold_expires_at - registration.created_at == timedelta(seconds=3600)


def test_a_free_session_still_confirms_at_once(app):
    session_id = new_session(app, capacity=2, price="0.00")
    [student] = make_students(app, 1)

    registration = state(app, book_at(app, student, session_id))

    assert registration.status is CONFIRMED and registration.amount_due is None
    assert registration.hold_expires_at is None


def test_holds_racing_for_the_last_seats_never_overbook(app):
    session_id = paid_session(app, capacity=3)
    students = make_students(app, 12)

    results, observed = run_together(
        app, [lambda s=s: book_at(app, s, session_id) for s in students],
        observe=lambda: counts(app, session_id))

    statuses = [state(app, registration_id).status for registration_id in results]
    assert statuses.count(PENDING) == 3 and statuses.count(WAITLISTED) == 9
    assert counts(app, session_id) == (3, 3, 9)
    assert all(taken <= 3 and taken == holding for taken, holding, _waiting in observed)


def test_a_lapsed_hold_no_longer_blocks_the_seat_even_without_the_worker(app):
    session_id = paid_session(app, capacity=1)
    first, second = make_students(app, 2)
    held = book_at(app, first, session_id)
    later = utcnow() + timedelta(seconds=app.config["PAYMENT_HOLD_SECONDS"] + 1)

    newcomer = book_at(app, second, session_id, at=later)  # no worker has run

    assert state(app, held).status is EXPIRED
    assert state(app, newcomer).status is PENDING
    assert counts(app, session_id) == (1, 1, 0)
    assert templates_sent(app) == ["booking_held", "booking_expired", "booking_held"]


def test_offers_go_down_the_waiting_list_in_order_never_skipping_anyone(app):
    session_id = paid_session(app, capacity=1)
    holder, first_waiting, second_waiting = make_students(app, 3)
    held = book_at(app, holder, session_id)
    waiting = [book_at(app, student, session_id) for student in (first_waiting, second_waiting)]
    hold_ends = state(app, held).hold_expires_at

    with app.app_context():
        booking.release_lapsed_holds(session_id, now=hold_ends)
    offer = state(app, waiting[0])
    assert state(app, held).status is EXPIRED
    assert offer.status is OFFERED and offer.amount_due == PRICE and offer.waitlist_number is None
    assert offer.hold_expires_at == hold_ends + timedelta(seconds=app.config["WAITLIST_OFFER_SECONDS"])
    assert state(app, waiting[1]).status is WAITLISTED
    assert counts(app, session_id) == (1, 1, 1)

    # The offer runs out too: the next in line gets it.
    with app.app_context():
        booking.release_lapsed_holds(session_id, now=offer.hold_expires_at)
    assert state(app, waiting[0]).status is EXPIRED
    assert state(app, waiting[1]).status is OFFERED
    assert counts(app, session_id) == (1, 1, 0)
    assert templates_sent(app)[-4:] == ["booking_expired", "booking_offered", "booking_expired", "booking_offered"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-4:] == ["registration.expire", "registration.offer", "registration.expire", "registration.offer"]


def test_a_second_release_finds_nothing_to_do(app):
    session_id = paid_session(app, capacity=1)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    ends = state(app, held).hold_expires_at
    with app.app_context():
        assert [r.id for r in booking.release_lapsed_holds(session_id, now=ends)] == [held]
        assert booking.release_lapsed_holds(session_id, now=ends) == []
    assert counts(app, session_id) == (0, 0, 0)


def test_paying_confirms_the_held_seat_with_the_ticket(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)

    outcome = pay(app, held, "4200000001")

    assert outcome.confirmed and not outcome.replayed and outcome.refund is None
    registration = state(app, held)
    assert registration.status is CONFIRMED and registration.amount_paid == PRICE
    assert registration.paid_at is not None and registration.confirmed_at is not None
    assert counts(app, session_id) == (1, 1, 0)
    assert templates_sent(app) == ["booking_held", "booking_paid"]
    paid = outbox_messages(app)[-1]
    assert "¥3,980.00" in paid.body_text and len(paid.attachments) == 2  # calendar and door QR code


def test_a_replayed_notification_changes_nothing(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    first = pay(app, held, "4200000002")

    again = notify(app, PaymentProvider.WECHAT, first.out_trade_no, "4200000002")

    assert again.replayed and not again.confirmed and again.refund is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert state(app, held).amount_paid == PRICE
    assert templates_sent(app) == ["booking_held", "booking_paid"]


def test_the_same_notification_twice_at_once_is_recorded_once(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    with app.test_request_context():
        order = payments.open_order(held, db.session.get(User, student), PaymentProvider.ALIPAY, "wap")
        out_trade_no = order.out_trade_no

    results, _ = run_together(app, [lambda: notify(app, PaymentProvider.ALIPAY, out_trade_no, "2026120522001")] * 4)

    assert sorted(result.replayed for result in results) == [False, True, True, True]
    assert state(app, held).amount_paid == PRICE and state(app, held).status is CONFIRMED


def test_a_payment_after_the_seat_went_to_someone_else_is_given_back(app):
    app.config["PAYMENTS_STAFF_EMAIL"] = "finance@example.com"
    try:
        session_id = paid_session(app, capacity=1)
        late, waiting = make_students(app, 2)
        held = book_at(app, late, session_id)
        with app.test_request_context():
            order = payments.open_order(held, db.session.get(User, late), PaymentProvider.WECHAT, "jsapi")
            out_trade_no = order.out_trade_no
        offer = book_at(app, waiting, session_id)
        ends = state(app, held).hold_expires_at
        with app.app_context():
            booking.release_lapsed_holds(session_id, now=ends)

        outcome = notify(app, PaymentProvider.WECHAT, out_trade_no, "4200000003", at=ends + timedelta(seconds=5))
    finally:
        app.config["PAYMENTS_STAFF_EMAIL"] = None

    assert not outcome.confirmed and outcome.refund is not None
    assert state(app, held).status is EXPIRED
    assert state(app, held).amount_paid == PRICE and state(app, held).amount_refunded == PRICE
    assert state(app, offer).status is OFFERED
    assert counts(app, session_id) == (1, 1, 0)
    with app.app_context():
        request = db.session.get(RefundRequest, outcome.refund_id)
        assert request.amount == PRICE and "名额已释放" in request.reason
    staff = [m for m in outbox_messages(app) if m.to_address == "finance@example.com"]
    assert len(staff) == 1 and "4200000003" in staff[0].body_text


@pytest.mark.parametrize("round_", range(3))
def test_a_payment_and_an_expiry_at_the_same_moment_never_both_win(app, round_):
    session_id = paid_session(app, capacity=1)
    holder, waiting = make_students(app, 2)
    held = book_at(app, holder, session_id)
    book_at(app, waiting, session_id)
    with app.test_request_context():
        order = payments.open_order(held, db.session.get(User, holder), PaymentProvider.WECHAT, "native")
        out_trade_no = order.out_trade_no
    ends = state(app, held).hold_expires_at

    def expire():
        booking.release_lapsed_holds(session_id, now=ends)

    def payment():
        with app.test_request_context():
            outcome = payments.record_payment(PaymentProvider.WECHAT, out_trade_no, f"42000{round_}", PRICE, ends,
                                              now=ends)
            return outcome.confirmed

    (_, confirmed), _ = run_together(app, [expire, payment])

    registration = state(app, held)
    assert counts(app, session_id)[0] == counts(app, session_id)[1] == 1
    if confirmed:  # the payment came first: the seat is paid, nothing given back, nobody offered
        assert registration.status is CONFIRMED and registration.amount_refunded == 0
        assert counts(app, session_id) == (1, 1, 1)
    else:  # the expiry came first: the money goes back, the seat is offered to the waiting person
        assert registration.status is EXPIRED and registration.amount_refunded == PRICE
        assert counts(app, session_id) == (1, 1, 0)


def test_an_order_is_refused_when_there_is_nothing_to_pay_or_the_hold_is_over(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    ends = state(app, held).hold_expires_at
    with app.test_request_context():
        user = db.session.get(User, student)
        with pytest.raises(HoldExpired):
            payments.open_order(held, user, PaymentProvider.WECHAT, "native", now=ends)
    pay(app, held, "4200000004")
    with app.test_request_context(), pytest.raises(NothingToPay):
        payments.open_order(held, db.session.get(User, student), PaymentProvider.WECHAT, "native")


def test_a_bank_transfer_lengthens_the_hold_and_staff_record_it(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    with app.test_request_context():
        user = db.session.get(User, student)
        order = payments.open_order(held, user, PaymentProvider.BANK, "transfer")
        again = payments.open_order(held, user, PaymentProvider.BANK, "transfer")
        reference = order.out_trade_no
        assert again.out_trade_no == reference  # one reference code to write on the transfer
    hold = state(app, held).hold_expires_at - utcnow()
    assert hold > timedelta(seconds=app.config["BANK_TRANSFER_HOLD_SECONDS"] - 60)

    outcome = notify(app, PaymentProvider.BANK, reference, "ICBC20261205-0001")

    assert outcome.confirmed and state(app, held).status is CONFIRMED


@pytest.mark.parametrize(("days_before", "refunded"), [(10, PRICE), (5, Decimal("1990.00")), (1, Decimal("0"))])
def test_cancelling_a_paid_seat_refunds_what_the_policy_gives(app, days_before, refunded):
    session_id = paid_session(app, capacity=1)
    student, waiting = make_students(app, 2)
    held = book_at(app, student, session_id)
    book_at(app, waiting, session_id)
    pay(app, held, "4200000005")
    with app.app_context():
        starts_at = db.session.get(CampSession, session_id).starts_at

    with app.test_request_context():
        booking.cancel_registration(held, db.session.get(User, student),
                                    now=starts_at - timedelta(days=days_before, hours=1))

    registration = state(app, held)
    assert registration.status is CANCELLED and registration.amount_refunded == refunded
    with app.app_context():
        requests = db.session.scalars(select(RefundRequest)).all()
        assert [r.amount for r in requests] == ([refunded] if refunded else [])
    assert counts(app, session_id) == (1, 1, 0)  # the seat was offered to the waiting person


def test_staff_refund_in_part_never_beyond_what_was_paid(app):
    session_id = paid_session(app)
    student, staff = make_students(app, 2)
    held = book_at(app, student, session_id)
    pay(app, held, "4200000006")

    with app.test_request_context():
        actor = db.session.get(User, staff)
        refunds.refund(held, Decimal("980.00"), "课程调整补偿", actor)
        with pytest.raises(RefundTooLarge):
            refunds.refund(held, Decimal("3000.01"), "太多", actor)
        refunds.refund(held, Decimal("3000.00"), "余款", actor)
        with pytest.raises(RefundTooLarge):
            refunds.refund(held, Decimal("0.01"), "再退", actor)

    registration = state(app, held)
    assert registration.amount_refunded == PRICE and registration.status is CONFIRMED


def test_the_database_refuses_a_refund_beyond_what_was_paid(app):
    from sqlalchemy.exc import IntegrityError

    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    pay(app, held, "4200000007")
    with app.app_context():
        registration = db.session.get(Registration, held)
        registration.amount_refunded = PRICE + Decimal("0.01")
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_cancelling_a_hold_offers_its_seat_to_the_head_of_the_queue(app):
    session_id = paid_session(app, capacity=1)
    holder, waiting = make_students(app, 2)
    held = book_at(app, holder, session_id)
    queued = book_at(app, waiting, session_id)

    with app.test_request_context():
        outcome = booking.cancel_registration(held, db.session.get(User, holder))
        promoted = [r.id for r in outcome.promoted]

    assert promoted == [queued]
    assert state(app, queued).status is OFFERED
    assert counts(app, session_id) == (1, 1, 0)


def test_listing_a_session_releases_a_hold_past_its_time_before_showing_seats(app, client):
    session_id = paid_session(app, capacity=1)
    holder, waiting = make_students(app, 2)
    an_hour_ago = utcnow() - timedelta(hours=1)
    held = book_at(app, holder, session_id, at=an_hour_ago)  # held for 15 minutes, long over
    with app.app_context():
        assert db.session.get(CampSession, session_id).seats_taken == 1  # no worker has run

    listed = client.get(f"/api/v1/sessions/{session_id}").get_json()

    assert listed["seats_left"] == 1
    assert state(app, held).status is EXPIRED
    assert templates_sent(app) == ["booking_held", "booking_expired"]


def test_listing_offers_a_lapsed_holds_seat_to_the_person_waiting(app, client):
    session_id = paid_session(app, capacity=1)
    holder, waiting = make_students(app, 2)
    an_hour_ago = utcnow() - timedelta(hours=1)
    held = book_at(app, holder, session_id, at=an_hour_ago)
    queued = book_at(app, waiting, session_id, at=an_hour_ago + timedelta(minutes=5))  # full then: waits

    listed = client.get(f"/api/v1/sessions/{session_id}").get_json()

    assert listed["seats_left"] == 0  # the freed seat is held for the person waiting
    assert state(app, held).status is EXPIRED and state(app, queued).status is OFFERED


def test_a_wrong_amount_given_back_still_leaves_the_whole_price_to_pay(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)

    wrong = pay(app, held, "4200000008", amount=Decimal("0.01"))
    assert not wrong.confirmed and wrong.refund is not None
    assert state(app, held).status is PENDING and state(app, held).amount_outstanding == PRICE

    right = pay(app, held, "4200000009")
    assert right.confirmed and state(app, held).status is CONFIRMED


def test_a_students_own_list_shows_a_hold_past_its_time_as_expired(app):
    session_id = paid_session(app, capacity=1)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id, at=utcnow() - timedelta(hours=1))

    with app.test_request_context():
        mine = booking.registrations_of(student)
        statuses = [(r.id, r.status) for r in mine]

    assert statuses == [(held, EXPIRED)]
    assert counts(app, session_id) == (0, 0, 0)


def test_staff_giving_a_waiting_person_a_paid_seat_offers_it_for_payment(app):
    session_id = paid_session(app, capacity=1)
    holder, waiting, staff = make_students(app, 3)
    book_at(app, holder, session_id)
    queued = book_at(app, waiting, session_id)

    with app.test_request_context():
        booking.promote_by_hand(queued, db.session.get(User, staff))

    offer = state(app, queued)
    assert offer.status is OFFERED and offer.amount_due == PRICE and offer.confirmed_at is None
    assert counts(app, session_id) == (2, 2, 0)  # one seat more, for this person, to pay for


def test_a_move_keeps_what_the_person_had_and_never_confirms_an_unpaid_seat(app):
    with app.app_context():
        from tests.factories import make_course, make_session

        course_id = make_course("快速玩转小红书成长特训营", slug="xhs-move")
        full_source = make_session(course_id, capacity=1, price=str(PRICE))
        target = make_session(course_id, capacity=5, price=str(PRICE), starts_in_days=60)
        db.session.commit()
    holder, waiting, staff = make_students(app, 3)
    held = book_at(app, holder, full_source)
    queued = book_at(app, waiting, full_source)
    hold_ends = state(app, held).hold_expires_at

    with app.test_request_context():
        booking.move_registration(queued, target, db.session.get(User, staff))
        booking.move_registration(held, target, db.session.get(User, staff))

    assert state(app, queued).status is OFFERED
    moved = state(app, held)
    assert moved.status is PENDING and moved.hold_expires_at == hold_ends and moved.session_id == target
    assert counts(app, target) == (2, 2, 0)
    assert counts(app, full_source) == (0, 0, 0)


def test_an_expired_registration_cannot_be_cancelled_and_the_queue_keeps_its_count(app):
    from app.booking.errors import AlreadyCancelled

    session_id = paid_session(app, capacity=1)
    holder, waiting = make_students(app, 2)
    held = book_at(app, holder, session_id, at=utcnow() - timedelta(hours=1))
    book_at(app, waiting, session_id)  # releases the lapsed hold: the seat is this person's to pay for
    assert state(app, held).status is EXPIRED

    with app.test_request_context(), pytest.raises(AlreadyCancelled):
        booking.cancel_registration(held, db.session.get(User, holder), by_staff=True)

    assert counts(app, session_id) == (1, 1, 0)


def test_choosing_a_bank_transfer_again_never_lengthens_the_hold_again(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    with app.test_request_context():
        payments.open_order(held, db.session.get(User, student), PaymentProvider.BANK, "transfer")
    first_end = state(app, held).hold_expires_at

    with app.test_request_context():
        payments.open_order(held, db.session.get(User, student), PaymentProvider.BANK, "transfer",
                            now=utcnow() + timedelta(days=2))

    assert state(app, held).hold_expires_at == first_end


def test_a_replay_of_a_long_transaction_id_is_still_a_replay(app):
    session_id = paid_session(app)
    [student] = make_students(app, 1)
    held = book_at(app, student, session_id)
    first = pay(app, held, "9" * 80)

    again = notify(app, PaymentProvider.WECHAT, first.out_trade_no, "9" * 80)

    assert first.confirmed and again.replayed


def test_staff_add_a_person_to_a_session_with_a_lapsed_hold(app):
    session_id = paid_session(app, capacity=1)
    holder, walk_in, staff = make_students(app, 3)
    held = book_at(app, holder, session_id, at=utcnow() - timedelta(hours=1))

    with app.test_request_context():
        added = booking.staff_add(session_id, db.session.get(User, walk_in), db.session.get(User, staff)).id

    assert state(app, held).status is EXPIRED and state(app, added).status is PENDING


def test_moving_a_confirmed_free_seat_into_a_paid_session_asks_for_payment(app):
    with app.app_context():
        from tests.factories import make_course, make_session

        course_id = make_course("电商增长公开课", slug="open-move")
        free = make_session(course_id, capacity=5, price="0.00")
        paid = make_session(course_id, capacity=5, price=str(PRICE), starts_in_days=60)
        db.session.commit()
    student, staff = make_students(app, 2)
    confirmed = book_at(app, student, free)

    with app.test_request_context():
        booking.move_registration(confirmed, paid, db.session.get(User, staff))

    moved = state(app, confirmed)
    assert moved.status is OFFERED and moved.amount_due == PRICE


def test_a_policy_without_a_partial_refund_says_nothing_comes_back_after_the_full_one(app):
    from app.catalog.models import Course
    from app.payments.policy import policy_lines, refund_due

    session_id = paid_session(app)
    with app.test_request_context():
        camp = db.session.get(CampSession, session_id)
        course: Course = camp.course
        course.refund_full_days, course.refund_partial_days, course.refund_partial_percent = 7, 3, 0
        lines = policy_lines(course)
        five_days_before = refund_due(camp, PRICE, camp.starts_at - timedelta(days=5))
        db.session.rollback()

    assert lines == ["开课 7 天前取消：全额退款", "开课前 7 天内取消：不退款"]
    assert five_days_before.amount == 0
