"""What every booking leaves behind, whoever makes it and on either database: its email in the
outbox and its audit entry, built by the same builders (emails.registration_email and
audit.service.entry) as every other email and entry. On PostgreSQL the booking statement selects
them in SQL, on SQLite the service inserts them from values: this file runs on both (the suite
runs twice), so the two must agree with the builders' rows, field by field."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.audit.service import record
from app.booking import service as booking
from app.booking.emails import booking_email_template, registration_email
from app.booking.models import Registration, RegistrationStatus
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import book, make_person, make_user, new_session
from tests.helpers import API, bearer, login, submit_form, token_for

CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED


def _records(app, registration_id: int) -> tuple[Registration, list[OutboxMessage], list[AuditEntry]]:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        emails = list(db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.context["registration_id"].as_integer() == registration_id)))
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.registration_id == registration_id)))
        db.session.expunge_all()
        return registration, emails, entries


def _assert_booking_records(app, registration_id: int, *, status: RegistrationStatus, place: int | None,
                            action: AuditAction, actor_id: int, to_address: str | None) -> None:
    registration, emails, entries = _records(app, registration_id)
    assert registration.status is status
    expected = registration_email(booking_email_template(status), registration.id, to_address,
                                  registration.created_at, place)
    if to_address is None:
        assert emails == []  # a walk-in without an address gets no message
    else:
        [email] = emails
        assert (email.to_address, email.template, email.context) == (
            expected["to_address"], expected["template"], expected["context"])
        assert email.created_at == registration.created_at
    [entry] = entries
    assert (entry.action, entry.actor_id, entry.account_id, entry.session_id, entry.article_id) == (
        action, actor_id, registration.user_id, registration.session_id, None)
    assert entry.before is None
    assert entry.after == {"status": status.value, "session_id": registration.session_id, "waitlist_position": place}
    assert entry.created_at == registration.created_at


@pytest.fixture
def one_seat(app):
    """A one-seat session and three people: the first gets the seat, the others wait."""
    session_id = new_session(app, capacity=1)
    people = [make_person(app, name, phone, email) for name, phone, email in (
        ("𠮷田", "13700000001", "jitian@example.com"),
        ("欧阳堃", "13700000002", "kun@example.com"),
        ("李䶮", "13700000003", "yan@example.com"))]
    return session_id, people


def test_a_students_seat_and_waitlist_place_leave_the_builders_email_and_entry(app, one_seat):
    session_id, (first, second, third) = one_seat

    seat, waiting, waiting_too = (book(app, person, session_id) for person in (first, second, third))

    _assert_booking_records(app, seat, status=CONFIRMED, place=None, action=AuditAction.REGISTRATION_BOOK,
                            actor_id=first, to_address="jitian@example.com")
    _assert_booking_records(app, waiting, status=WAITLISTED, place=1, action=AuditAction.REGISTRATION_BOOK,
                            actor_id=second, to_address="kun@example.com")
    _assert_booking_records(app, waiting_too, status=WAITLISTED, place=2, action=AuditAction.REGISTRATION_BOOK,
                            actor_id=third, to_address="yan@example.com")


def test_staff_adding_a_person_runs_the_same_statements_and_is_audited_as_staffs(app, staff, one_seat):
    session_id, (first, second, _third) = one_seat

    with app.test_request_context():
        added = booking.staff_add(session_id, db.session.get(User, first), db.session.get(User, staff)).id
        waiting = booking.staff_add(session_id, db.session.get(User, second), db.session.get(User, staff)).id
        db.session.remove()

    _assert_booking_records(app, added, status=CONFIRMED, place=None, action=AuditAction.REGISTRATION_ADD,
                            actor_id=staff, to_address="jitian@example.com")
    _assert_booking_records(app, waiting, status=WAITLISTED, place=1, action=AuditAction.REGISTRATION_ADD,
                            actor_id=staff, to_address="kun@example.com")


def test_staff_may_add_after_registration_closed_but_never_past_the_capacity(app, staff, one_seat):
    """The registration window is the students' rule, the capacity everyone's."""
    session_id = new_session(app, capacity=1, registration_closes_at=utcnow() - timedelta(hours=1))
    _, (first, second, _third) = one_seat

    with app.test_request_context():
        staff_user = db.session.get(User, staff)
        statuses = [booking.staff_add(session_id, db.session.get(User, person), staff_user).status
                    for person in (first, second)]
        db.session.remove()

    assert statuses == [CONFIRMED, WAITLISTED]


def test_a_walk_in_without_an_email_is_booked_and_audited_with_no_message(app, staff, staff_client):
    session_id = new_session(app, capacity=5)

    response = submit_form(staff_client, f"/staff/sessions/{session_id}/add",
                           {"name": "司马堃", "phone": "13900000077", "add_new": "1"},
                           form_page=f"/staff/sessions/{session_id}/add")

    registration_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _assert_booking_records(app, registration_id, status=CONFIRMED, place=None,
                            action=AuditAction.REGISTRATION_ADD, actor_id=staff, to_address=None)


def test_booking_and_cancelling_on_the_site_and_by_the_api_are_audited_as_the_students_own(app, client):
    web_session, api_session = new_session(app, capacity=5), new_session(app, capacity=5)
    student = make_user(app, "wangzhe@example.com", name="王喆", phone="13912345678")

    login(client, "wangzhe@example.com", "secret-pass-1")
    submit_form(client, f"/sessions/{web_session}/book", {"source": "web"}, form_page=f"/sessions/{web_session}/book")
    headers = bearer(token_for(client, "wangzhe@example.com"))
    booked = client.post(f"{API}/sessions/{api_session}/registrations", headers=headers).get_json()
    with app.app_context():
        web_registration = db.session.scalar(select(Registration.id).where(Registration.session_id == web_session))
    submit_form(client, f"/me/registrations/{web_registration}/cancel", {},
                form_page=f"/me/registrations/{web_registration}")
    client.delete(f"{API}/registrations/{booked['id']}", headers=headers)

    with app.app_context():
        entries = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.account_id, AuditEntry.registration_id)
            .order_by(AuditEntry.id)).all()
    assert [tuple(entry) for entry in entries] == [
        (AuditAction.REGISTRATION_BOOK, student, student, web_registration),
        (AuditAction.REGISTRATION_BOOK, student, student, booked["id"]),
        (AuditAction.REGISTRATION_CANCEL, student, student, web_registration),
        (AuditAction.REGISTRATION_CANCEL, student, student, booked["id"]),
    ]


def test_a_refused_booking_leaves_no_email_and_no_entry(app, one_seat):
    session_id, (first, _second, _third) = one_seat
    book(app, first, session_id)

    with app.test_request_context():
        again = booking.book_seat(db.session.get(User, first), session_id)  # a double click
        db.session.remove()

    assert again.created is False
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.id > 1)) is None
        assert len(db.session.scalars(select(OutboxMessage.id)).all()) == 1


def test_every_audit_action_has_words_and_only_registered_actions_are_recorded(app):
    assert all(str(action.label).strip() for action in AuditAction)
    assert len({str(action.label) for action in AuditAction}) == len(AuditAction)
    with app.app_context(), pytest.raises(TypeError):
        record("registration.book", None)  # a loose string, not an AuditAction
