"""团体报名 paid once: the booker opens one order for the group's held seats, and one payment of it
confirms every attendee (one ledger row each, sharing the provider's transaction id); a replay
changes nothing; money that pays for no held seat goes back, and the provider is sent the
transaction's real total when part of it does.

Through the services the pages and the notification handlers call, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.booking import groups
from app.booking import service as booking
from app.booking.groups import AttendeeInput
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.payments import group_orders, worker
from app.payments import service as payments
from app.payments.errors import GroupNotFound, HoldExpired, NothingToPay
from app.payments.models import Payment, PaymentOrder, PaymentProvider, RefundRequest
from app.payments.providers import RefundResult
from tests.factories import make_person, make_students, new_session
from tests.helpers import outbox_messages

PRICE = Decimal("3980.00")
S = RegistrationStatus
TEAM = [AttendeeInput("王喆", "13800138001", "wangzhe@example.com"),
        AttendeeInput("李堃", "13800138002", "likun@example.com"),
        AttendeeInput("𠮷田䶮", "13800138003", "jitian@example.com")]


def booked_group(app, capacity: int = 5, at=None) -> tuple[int, int, int, list[int]]:
    """(session, booker, group, its registrations): a paid session, three attendees held."""
    session_id = new_session(app, capacity=capacity, price=str(PRICE))
    booker_id = make_person(app, "赵经理", "13600000001", "manager@example.com")
    with app.test_request_context():
        outcome = groups.book_group(db.session.get(User, booker_id), session_id, TEAM, now=at)
        return session_id, booker_id, outcome.group.id, [r.id for r in outcome.registrations]


def open_order(app, group_id: int, user_id: int, provider=PaymentProvider.WECHAT, channel="native", at=None):
    with app.test_request_context():
        order = group_orders.open_group_order(group_id, db.session.get(User, user_id), provider, channel, now=at)
        return order.out_trade_no, order.amount, [(line.registration_id, line.amount) for line in order.lines]


def notify(app, out_trade_no, transaction_id, amount, provider=PaymentProvider.WECHAT, at=None):
    with app.test_request_context():
        outcome = payments.record_payment(provider, out_trade_no, transaction_id, amount, at or utcnow(), now=at)
        return outcome.confirmed, outcome.replayed, [r.amount for r in outcome.refunds]


def statuses(app, registration_ids: list[int]) -> list[RegistrationStatus]:
    with app.app_context():
        return [db.session.get(Registration, rid).status for rid in registration_ids]


def money(app, registration_id: int) -> tuple[Decimal, Decimal]:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        return registration.amount_paid, registration.amount_refunded


def ledger(app) -> list[tuple[int, str, Decimal]]:
    with app.app_context():
        return [(p.registration_id, p.transaction_id, p.amount)
                for p in db.session.scalars(select(Payment).order_by(Payment.registration_id))]


def test_one_payment_of_the_groups_order_confirms_every_attendee(app):
    session_id, booker_id, group_id, members = booked_group(app)

    out_trade_no, amount, lines = open_order(app, group_id, booker_id)
    assert amount == 3 * PRICE and lines == [(rid, PRICE) for rid in members]
    confirmed, replayed, given_back = notify(app, out_trade_no, "4200000001", 3 * PRICE)

    assert confirmed and not replayed and given_back == []
    assert statuses(app, members) == [S.CONFIRMED] * 3
    assert ledger(app) == [(rid, "4200000001", PRICE) for rid in members]
    assert all(money(app, rid) == (PRICE, 0) for rid in members)
    sent = [(m.template, m.to_address) for m in outbox_messages(app) if m.template == "booking_paid"]
    assert sorted(to for _t, to in sent) == ["jitian@example.com", "likun@example.com", "wangzhe@example.com"]


def test_a_replayed_notification_of_a_groups_payment_changes_nothing(app):
    _session_id, booker_id, group_id, members = booked_group(app)
    out_trade_no, _amount, _lines = open_order(app, group_id, booker_id)
    notify(app, out_trade_no, "4200000002", 3 * PRICE)
    mails = len(outbox_messages(app))

    confirmed, replayed, given_back = notify(app, out_trade_no, "4200000002", 3 * PRICE)

    assert replayed and not confirmed and given_back == []
    assert len(ledger(app)) == 3 and len(outbox_messages(app)) == mails
    assert all(money(app, rid) == (PRICE, 0) for rid in members)


def test_a_wrong_amount_for_a_group_is_given_back_whole_and_every_seat_stays_held(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENTS_STAFF_EMAIL", "finance@example.com")
    _session_id, booker_id, group_id, members = booked_group(app)
    out_trade_no, _amount, _lines = open_order(app, group_id, booker_id)

    confirmed, _replayed, given_back = notify(app, out_trade_no, "4200000003", PRICE)  # one seat's worth

    assert not confirmed and given_back == [PRICE]
    assert statuses(app, members) == [S.PENDING_PAYMENT] * 3
    with app.app_context():
        assert sum(r.amount_kept for r in db.session.scalars(select(Registration))) == 0
        assert db.session.scalar(select(func.sum(RefundRequest.amount))) == PRICE
    told = [m.subject for m in outbox_messages(app) if m.to_address == "finance@example.com"]
    assert told == ["需要处理的团体付款：付款金额与团体订单金额不符"]


def test_a_lapsed_attendees_share_is_given_back_while_the_others_are_confirmed(app):
    _session_id, booker_id, group_id, members = booked_group(app)
    out_trade_no, _amount, _lines = open_order(app, group_id, booker_id)
    with app.app_context():  # one attendee's hold ran out and was released before the money came
        db.session.get(Registration, members[1]).hold_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    with app.test_request_context():
        assert [r.id for r in booking.release_lapsed_holds(_session_id)] == [members[1]]

    confirmed, _replayed, given_back = notify(app, out_trade_no, "4200000004", 3 * PRICE)

    assert not confirmed and given_back == [PRICE]
    assert statuses(app, members) == [S.CONFIRMED, S.EXPIRED, S.CONFIRMED]
    assert money(app, members[1]) == (PRICE, PRICE)
    assert money(app, members[0]) == (PRICE, 0)


def test_an_order_pays_only_for_the_seats_still_held(app):
    session_id, booker_id, group_id, members = booked_group(app)
    with app.test_request_context():
        booking.cancel_registration(members[2], db.session.get(User, booker_id))

    _no, amount, lines = open_order(app, group_id, booker_id)

    assert amount == 2 * PRICE and [rid for rid, _a in lines] == members[:2]


def test_a_later_cancellation_refunds_that_attendees_share_with_the_transactions_total(app, monkeypatch):
    session_id, booker_id, group_id, members = booked_group(app)
    out_trade_no, _amount, _lines = open_order(app, group_id, booker_id)
    notify(app, out_trade_no, "4200000005", 3 * PRICE)
    with app.app_context():
        starts_at = db.session.get(CampSession, session_id).starts_at

    with app.test_request_context():  # ten days before: the course's policy gives it all back
        booking.cancel_registration(members[0], db.session.get(User, booker_id),
                                    now=starts_at - timedelta(days=10))

    assert money(app, members[0]) == (PRICE, PRICE) and money(app, members[1]) == (PRICE, 0)
    assert statuses(app, members) == [S.CANCELLED, S.CONFIRMED, S.CONFIRMED]
    sent = []

    class WechatStandIn:
        def refund(self, out_trade_no, out_refund_no, refund_fen, total_fen, reason):
            sent.append((out_trade_no, refund_fen, total_fen))
            return RefundResult(out_refund_no=out_refund_no, refund_id="50300000001", status="PROCESSING",
                                amount_fen=refund_fen)

    monkeypatch.setattr(worker.checkout, "wechat_provider", WechatStandIn)
    with app.test_request_context():
        worker.send_refunds()
    assert sent == [(out_trade_no, 398000, 3 * 398000)]  # the whole transaction, not one row of it


def test_choosing_a_bank_transfer_lengthens_every_held_seat_once(app):
    _session_id, booker_id, group_id, members = booked_group(app)

    first, amount, _lines = open_order(app, group_id, booker_id, PaymentProvider.BANK, "transfer")
    with app.app_context():
        lengthened = [db.session.get(Registration, rid).hold_expires_at for rid in members]
    again, _amount, _lines = open_order(app, group_id, booker_id, PaymentProvider.BANK, "transfer")

    assert again == first and amount == 3 * PRICE
    assert all(until - utcnow() > timedelta(seconds=app.config["BANK_TRANSFER_HOLD_SECONDS"] - 60)
               for until in lengthened)
    with app.app_context():
        assert [db.session.get(Registration, rid).hold_expires_at for rid in members] == lengthened

    confirmed, _replayed, _given = notify(app, first, "ICBC20261208-0001", 3 * PRICE, PaymentProvider.BANK)
    assert confirmed and statuses(app, members) == [S.CONFIRMED] * 3


def test_staff_record_a_groups_transfer_against_its_reference(app):
    _session_id, _booker_id, group_id, members = booked_group(app)
    [staff_id] = make_students(app, 1, first_number=70)

    with app.test_request_context():
        outcome = group_orders.record_group_transfer(group_id, "ICBC20261208-0002", 3 * PRICE, utcnow(),
                                                     db.session.get(User, staff_id))
        assert outcome.confirmed and len(outcome.payments) == 3

    assert statuses(app, members) == [S.CONFIRMED] * 3


def test_someone_else_cannot_open_the_groups_order(app):
    _session_id, booker_id, group_id, members = booked_group(app)
    with app.app_context():
        attendee_id = db.session.get(Registration, members[0]).user_id

    for someone in (attendee_id, make_students(app, 1)[0]):
        with app.test_request_context(), pytest.raises(GroupNotFound):
            group_orders.open_group_order(group_id, db.session.get(User, someone), PaymentProvider.WECHAT, "native")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 0


def test_nothing_to_pay_once_paid_and_the_hold_over_when_it_ran_out(app):
    _session_id, booker_id, group_id, _members = booked_group(app)
    out_trade_no, _amount, _lines = open_order(app, group_id, booker_id)
    notify(app, out_trade_no, "4200000006", 3 * PRICE)
    with pytest.raises(NothingToPay):
        open_order(app, group_id, booker_id)

    _s, other_booker, other_group, _m = booked_group_for(app, "13600000002")
    with pytest.raises(HoldExpired):
        open_order(app, other_group, other_booker, at=utcnow() + timedelta(days=30))


def booked_group_for(app, booker_phone: str):
    session_id = new_session(app, capacity=5, price=str(PRICE))
    booker_id = make_person(app, "钱经理", booker_phone)
    team = [AttendeeInput("孙悟", "13900139001"), AttendeeInput("周瑜", "13900139002")]
    with app.test_request_context():
        outcome = groups.book_group(db.session.get(User, booker_id), session_id, team)
        return session_id, booker_id, outcome.group.id, [r.id for r in outcome.registrations]
