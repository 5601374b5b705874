"""The email to a student promoted from the waiting list says what actually gave them the seat:
a cancellation, a move to another session, more seats, or a staff member. The reason travels in
the queued outbox row's context and the sender composes the email from it, later."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.emails import queue_registration_email
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.extensions import db
from app.mail.models import OutboxMessage
from app.mail.sender import deliver_due
from tests.factories import make_session, make_user
from tests.helpers import submit_form

STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
NOW = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)

CANCELLED = "有学员取消了报名"
MOVED = "有学员调整到了其他场次"
MORE_SEATS = "本场次增加了名额"
BY_STAFF = "工作人员已为您安排了正式名额"
SENTENCES = (CANCELLED, MOVED, MORE_SEATS, BY_STAFF)


@pytest.fixture
def full_session(app, ctx, staff):
    """A one-seat session: 𠮷田 holds the seat, 欧阳堃 waits first, 王喆 second."""
    session_id = make_session(capacity=1, starts_at=STARTS, ends_at=ENDS, label="第12期")
    people = {}
    for email, name, phone in (("seat@example.com", "𠮷田", "13900000001"),
                               ("kun@example.com", "欧阳堃", "13900000002"),
                               ("zhe@example.com", "王喆", "13900000003")):
        people[name] = make_user(app, email, Role.STUDENT, name, phone)
    registrations = {name: booking.book_seat(db.session.get(User, user_id), session_id, now=NOW).registration.id
                     for name, user_id in people.items()}
    return session_id, people, registrations


def promoted_emails(smtp_server) -> dict[str, str]:
    """The promoted emails the sender delivered: recipient -> plain text."""
    smtp_server.messages.clear()
    deliver_due()
    return {message["To"]: message.get_body(preferencelist=("plain",)).get_content()
            for message in smtp_server.messages if message["Subject"] == "候补成功：您已获得正式名额"}


def says_only(text: str, sentence: str) -> None:
    assert sentence in text
    assert [other for other in SENTENCES if other != sentence and other in text] == []


def test_a_seat_freed_by_a_cancellation(ctx, smtp_server, full_session):
    _session_id, people, registrations = full_session
    booking.cancel_registration(registrations["𠮷田"], db.session.get(User, people["𠮷田"]), now=NOW)
    emails = promoted_emails(smtp_server)
    assert list(emails) == ["kun@example.com"]
    says_only(emails["kun@example.com"], CANCELLED)
    assert "欧阳堃，您好" in emails["kun@example.com"]


def test_a_seat_freed_by_a_move_to_another_session(ctx, smtp_server, staff, full_session):
    session_id, _people, registrations = full_session
    other = make_session(db.session.get(CampSession, session_id).course_id, capacity=5, label="第13期")
    booking.move_registration(registrations["𠮷田"], other, db.session.get(User, staff), now=NOW)
    emails = promoted_emails(smtp_server)
    assert list(emails) == ["kun@example.com"]
    says_only(emails["kun@example.com"], MOVED)


@pytest.mark.parametrize("raise_capacity", [
    lambda session_id, staff: booking.change_capacity(session_id, 3, now=NOW, actor=db.session.get(User, staff)),
    lambda session_id, staff: catalog.update_session(session_id, capacity=3),  # the admin session editor
], ids=["roster", "session editor"])
def test_more_seats(ctx, smtp_server, staff, full_session, raise_capacity):
    session_id, _people, _registrations = full_session
    raise_capacity(session_id, staff)
    emails = promoted_emails(smtp_server)
    assert sorted(emails) == ["kun@example.com", "zhe@example.com"]
    for text in emails.values():
        says_only(text, MORE_SEATS)


def test_staff_promote_by_hand_over_the_roster_page(app, staff_client, smtp_server, full_session):
    _session_id, _people, registrations = full_session
    response = submit_form(staff_client, f"/staff/registrations/{registrations['王喆']}/promote", {},
                           form_page=f"/staff/registrations/{registrations['王喆']}")
    assert response.status_code == 302
    emails = promoted_emails(smtp_server)
    assert list(emails) == ["zhe@example.com"]  # out of turn: not the head of the queue
    says_only(emails["zhe@example.com"], BY_STAFF)


def test_the_reason_is_in_the_queued_row_not_guessed_when_sending(ctx, full_session):
    """Queued as template + registration id + reason: the sender composes later, when nothing in
    the database says any more why the seat came free."""
    _session_id, people, registrations = full_session
    booking.cancel_registration(registrations["𠮷田"], db.session.get(User, people["𠮷田"]), now=NOW)
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "booking_promoted"))
    assert row.body_text is None  # not composed yet
    assert row.context == {"registration_id": registrations["欧阳堃"], "waitlist_position": None,
                           "promotion_reason": "cancellation"}


def test_a_message_queued_without_a_reason_claims_none(app, ctx, smtp_server, full_session):
    """A row queued before reasons were carried (or by an older worker) is neutral, not wrong."""
    _session_id, _people, registrations = full_session
    booking.promote_by_hand(registrations["王喆"], db.session.get(User, make_user(
        app, "staff2@example.com", Role.STAFF, "赵六", "13900000009")), now=NOW)
    db.session.execute(OutboxMessage.__table__.update()
                       .where(OutboxMessage.template == "booking_promoted")
                       .values(context={"registration_id": registrations["王喆"]}))
    db.session.commit()
    emails = promoted_emails(smtp_server)
    assert "您已从候补转为正式名额" in emails["zhe@example.com"]
    assert [sentence for sentence in SENTENCES if sentence in emails["zhe@example.com"]] == []


@pytest.mark.parametrize("template, reason", [
    ("booking_promoted", None), ("booking_promoted", "luck"), ("booking_confirmed", "staff"),
])
def test_a_promoted_email_needs_a_known_reason_and_only_it_has_one(ctx, full_session, template, reason):
    _session_id, _people, registrations = full_session
    with pytest.raises(ValueError):
        queue_registration_email(template, registrations["王喆"], "zhe@example.com", promotion_reason=reason)
