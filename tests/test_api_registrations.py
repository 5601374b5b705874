"""API registrations: book (or join the waitlist), see mine, cancel; the booking rules' codes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.booking.models import Registration
from app.common.time import utcnow
from app.extensions import db
from tests.factories import make_user, new_session
from tests.helpers import (
    API,
    api_book,
    assert_error,
    bearer,
    outbox_messages,
    recorded_statements,
    registration_statuses,
    seats_taken,
    student_headers,
    token_for,
)

REGISTRATION_KEYS = {
    "id", "session_id", "status", "waitlist_position", "created_at", "confirmed_at", "cancelled_at", "session",
    "amount", "pay_by", "amount_due", "amount_paid", "amount_refunded", "paid_at", "review_message", "answers",
    "group_id",
}
# A free session's registration: nothing to pay, nothing paid (tests/test_api_payments.py: paid ones).
NO_MONEY = {"amount": None, "pay_by": None, "amount_due": None, "amount_paid": "0.00", "amount_refunded": "0.00",
            "paid_at": None}


@pytest.fixture
def headers(app, client):
    return student_headers(app, client, "student@example.com", "13800000003", name="张喆")


def _others(app, client, count: int, first: int = 0) -> list[dict]:
    return [student_headers(app, client, f"other{n}@example.com", f"1390000{n:04d}")
            for n in range(first, first + count)]


def _mine(client, headers) -> list[dict]:
    response = client.get(f"{API}/me/registrations", headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def _session_now(client, session_id: int) -> dict:
    """The session as GET /sessions/<id> says now, without its questions and group booking (a
    registration's session has none)."""
    session = client.get(f"{API}/sessions/{session_id}").get_json()
    for detail in ("questions", "max_group_size", "group_booking_open"):
        del session[detail]
    return session


# --- booking ---------------------------------------------------------------------------------


def test_booking_a_free_seat_is_201_confirmed(app, client, headers):
    session_id = new_session(app, capacity=10)

    response = api_book(client, session_id, headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == REGISTRATION_KEYS
    assert (body["session_id"], body["status"], body["waitlist_position"]) == (session_id, "confirmed", None)
    assert body["confirmed_at"].endswith("+08:00") and body["cancelled_at"] is None
    assert body["session"]["id"] == session_id and body["session"]["seats_left"] == 9
    assert {key: body[key] for key in NO_MONEY} == NO_MONEY
    assert registration_statuses(app, session_id) == {body["id"]: "confirmed"}
    with app.app_context():
        assert db.session.get(Registration, body["id"]).source == "api"


def test_booking_again_is_200_with_the_same_registration(app, client, headers):
    session_id = new_session(app, capacity=10)
    first = api_book(client, session_id, headers).get_json()

    again = api_book(client, session_id, headers)

    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert again.get_json()["status"] == "confirmed"
    assert seats_taken(app, session_id) == 1


def test_a_full_session_puts_people_on_the_waitlist_in_order(app, client, headers):
    session_id = new_session(app, capacity=1)
    seated, first_waiting = _others(app, client, 2)
    assert api_book(client, session_id, seated).get_json()["status"] == "confirmed"

    first = api_book(client, session_id, first_waiting)
    second = api_book(client, session_id, headers)

    assert first.status_code == second.status_code == 201
    assert (first.get_json()["status"], first.get_json()["waitlist_position"]) == ("waitlisted", 1)
    assert (second.get_json()["status"], second.get_json()["waitlist_position"]) == ("waitlisted", 2)
    assert second.get_json()["confirmed_at"] is None
    assert seats_taken(app, session_id) == 1
    # Asking again does not queue twice.
    again = api_book(client, session_id, headers)
    assert (again.status_code, again.get_json()["waitlist_position"]) == (200, 2)


def test_a_bookings_answer_agrees_with_what_is_read_afterwards(app, client, headers):
    """A booking answers from what its own statements returned, without reading back: its session
    figures and queue place must be what a fresh read says, also after someone ahead left the queue."""
    session_id = new_session(app, capacity=1)
    seated, leaves_the_queue, stays_in_the_queue = _others(app, client, 3)
    confirmed = api_book(client, session_id, seated).get_json()
    assert confirmed["session"] == _session_now(client, session_id)
    leaving = api_book(client, session_id, leaves_the_queue).get_json()
    api_book(client, session_id, stays_in_the_queue)
    assert client.delete(f"{API}/registrations/{leaving['id']}", headers=leaves_the_queue).status_code == 200

    mine = api_book(client, session_id, headers).get_json()

    session_now = _session_now(client, session_id)
    assert mine["session"] == session_now
    assert (mine["waitlist_position"], session_now["waitlist_length"], session_now["seats_left"]) == (2, 2, 0)
    assert _mine(client, headers)[0]["waitlist_position"] == 2
    [waitlisted_email] = [m for m in outbox_messages(app) if m.to_address == "student@example.com"]
    assert "第 2 位" in waitlisted_email.body_text


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        pytest.param(
            {"registration_closes_at": utcnow() - timedelta(hours=1)}, 409, "registration_closed", id="closed"
        ),
        pytest.param(
            {"registration_opens_at": utcnow() + timedelta(days=1)}, 409, "registration_not_open_yet", id="not-open"
        ),
        pytest.param(
            {"starts_at": utcnow() - timedelta(hours=2), "ends_at": utcnow() + timedelta(days=1)},
            409, "session_started", id="started",
        ),
        pytest.param({"published": False}, 404, "session_not_published", id="unpublished"),
    ],
)
def test_sessions_that_cannot_be_booked_answer_a_stable_code(app, client, headers, fields, status, code):
    session_id = new_session(app, **fields)

    assert_error(api_book(client, session_id, headers), status, code)
    assert registration_statuses(app, session_id) == {}
    assert seats_taken(app, session_id) == 0


def test_booking_an_unknown_session_is_404(client, headers):
    assert_error(api_book(client, 424242, headers), 404, "session_not_found")


def test_booking_without_name_and_phone_is_422_profile_incomplete(app, client):
    session_id = new_session(app)
    make_user(app, "nameless@example.com", name=None, phone=None)
    headers = bearer(token_for(client, "nameless@example.com"))

    assert_error(api_book(client, session_id, headers), 422, "profile_incomplete")
    assert registration_statuses(app, session_id) == {}


def test_booking_needs_a_token(app, client):
    session_id = new_session(app)

    assert_error(client.post(f"{API}/sessions/{session_id}/registrations"), 401, "authentication_required")
    assert registration_statuses(app, session_id) == {}


def test_booking_is_rate_limited_per_account_not_per_address(app, client, headers, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_BOOKING", "2 per minute")
    first_session, second_session, third_session = (new_session(app) for _ in range(3))
    assert api_book(client, first_session, headers).status_code == 201
    assert api_book(client, first_session, headers).status_code == 200

    assert_error(api_book(client, second_session, headers), 429, "rate_limited")
    assert registration_statuses(app, second_session) == {}
    # Everyone in the tests shares 127.0.0.1, like students behind one carrier NAT: others still book.
    (neighbour,) = _others(app, client, 1)
    assert api_book(client, third_session, neighbour).status_code == 201


# --- my registrations -----------------------------------------------------------------------


def test_my_registrations_include_cancelled_ones_and_only_mine(app, client, headers):
    kept, dropped, not_mine = new_session(app, starts_in_days=20), new_session(app, starts_in_days=10), new_session(app)
    kept_id = api_book(client, kept, headers).get_json()["id"]
    dropped_id = api_book(client, dropped, headers).get_json()["id"]
    assert client.delete(f"{API}/registrations/{dropped_id}", headers=headers).status_code == 200
    (other,) = _others(app, client, 1)
    api_book(client, not_mine, other)

    items = _mine(client, headers)

    assert {item["id"]: item["status"] for item in items} == {kept_id: "confirmed", dropped_id: "cancelled"}
    assert all(set(item) == REGISTRATION_KEYS for item in items)
    assert all({key: item[key] for key in NO_MONEY} == NO_MONEY for item in items)
    cancelled = next(item for item in items if item["id"] == dropped_id)
    assert cancelled["cancelled_at"].endswith("+08:00")
    assert cancelled["session"]["id"] == dropped


def test_my_registrations_are_empty_for_a_new_student(client, headers):
    assert _mine(client, headers) == []


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_frees_the_seat_for_the_head_of_the_waitlist(app, client, headers):
    session_id = new_session(app, capacity=1)
    first_waiting, second_waiting = _others(app, client, 2)
    mine = api_book(client, session_id, headers).get_json()
    api_book(client, session_id, first_waiting)
    api_book(client, session_id, second_waiting)

    response = client.delete(f"{API}/registrations/{mine['id']}", headers=headers)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == REGISTRATION_KEYS | {"refund_amount"}
    assert (body["id"], body["status"], body["waitlist_position"]) == (mine["id"], "cancelled", None)
    assert body["refund_amount"] == "0.00"  # nothing was paid for a free seat
    assert body["cancelled_at"].endswith("+08:00")
    assert seats_taken(app, session_id) == 1
    assert [(item["status"], item["waitlist_position"]) for item in _mine(client, first_waiting)] == [
        ("confirmed", None)
    ]
    assert [(item["status"], item["waitlist_position"]) for item in _mine(client, second_waiting)] == [
        ("waitlisted", 1)
    ]


def test_cancelling_someone_elses_registration_is_404(app, client, headers):
    session_id = new_session(app)
    (other,) = _others(app, client, 1)
    theirs = api_book(client, session_id, other).get_json()

    assert_error(client.delete(f"{API}/registrations/{theirs['id']}", headers=headers), 404, "registration_not_found")
    assert registration_statuses(app, session_id) == {theirs["id"]: "confirmed"}
    assert_error(client.delete(f"{API}/registrations/777777", headers=headers), 404, "registration_not_found")


def test_cancelling_twice_is_409_already_cancelled(app, client, headers):
    registration_id = api_book(client, new_session(app), headers).get_json()["id"]
    assert client.delete(f"{API}/registrations/{registration_id}", headers=headers).status_code == 200

    assert_error(client.delete(f"{API}/registrations/{registration_id}", headers=headers), 409, "already_cancelled")


def test_cancelling_after_the_deadline_is_409(app, client, headers):
    # Booking is open until the start; students may cancel only until the (earlier) deadline.
    session_id = new_session(app, cancellation_deadline=utcnow() - timedelta(hours=1))
    registration_id = api_book(client, session_id, headers).get_json()["id"]

    assert_error(client.delete(f"{API}/registrations/{registration_id}", headers=headers), 409, "cancellation_closed")
    assert registration_statuses(app, session_id) == {registration_id: "confirmed"}


def test_cancelling_needs_a_token(app, client, headers):
    registration_id = api_book(client, new_session(app), headers).get_json()["id"]

    assert_error(client.delete(f"{API}/registrations/{registration_id}"), 401, "authentication_required")


def test_my_registrations_runs_the_same_statements_however_many_registrations(app, client, headers):
    def waitlisted_and_confirmed(sessions: range) -> None:
        """Full sessions where the student waits second in the queue, and as many with a seat."""
        for n in sessions:
            full = new_session(app, capacity=1, starts_in_days=20 + n)
            for other in _others(app, client, 2, first=2 * n):
                assert api_book(client, full, other).status_code == 201
            assert api_book(client, full, headers).get_json()["waitlist_position"] == 2
            assert api_book(client, new_session(app, capacity=5, starts_in_days=40 + n), headers).status_code == 201

    def statements() -> int:
        with recorded_statements(app) as seen:
            assert client.get(f"{API}/me/registrations", headers=headers).status_code == 200
        return len(seen)

    waitlisted_and_confirmed(range(1))
    few = statements()
    waitlisted_and_confirmed(range(1, 5))

    assert statements() == few
    assert sorted(r["waitlist_position"] or 0 for r in _mine(client, headers)) == [0] * 5 + [2] * 5
