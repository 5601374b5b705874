"""API sessions: the upcoming list and one session, with exact money and Beijing times."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.common.time import utcnow
from tests.factories import make_course, new_session
from tests.helpers import API, api_book, assert_error, student_headers

SHANGHAI = ZoneInfo("Asia/Shanghai")
SESSION_KEYS = {
    "id", "course_title", "course_slug", "label", "starts_at", "ends_at", "start_date", "end_date", "city",
    "venue", "address", "price", "currency", "capacity", "seats_left", "waitlist_length", "registration_open",
    "refusal_reason",
}


def _listed_ids(client) -> list[int]:
    response = client.get(f"{API}/sessions")
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["items"]]


def test_a_session_item_has_every_field_with_its_type(app, client):
    # 17:30 UTC is 01:30 the next day in Shanghai: the dates must be the local ones.
    starts_at = (utcnow() + timedelta(days=20)).replace(hour=17, minute=30, second=0, microsecond=0)
    session_id = new_session(
        app, starts_at=starts_at, ends_at=starts_at + timedelta(days=2, hours=8), capacity=30,
        price="3980.00", label="第12期", address="余杭区文一西路 1 号",
    )

    item = client.get(f"{API}/sessions").get_json()["items"][0]

    assert set(item) == SESSION_KEYS
    assert item["id"] == session_id
    assert item["course_title"] == "快速玩转小红书成长特训营"
    assert item["course_slug"] == "kuai-su-wan-zhuan-xiao-hong-shu-cheng-zhang-te-xun-ying"
    assert (item["label"], item["city"], item["venue"], item["address"]) == (
        "第12期", "杭州", "玺承集团培训中心", "余杭区文一西路 1 号",
    )
    assert item["price"] == "3980.00" and item["currency"] == "CNY"
    assert item["starts_at"].endswith("+08:00") and item["ends_at"].endswith("+08:00")
    assert datetime.fromisoformat(item["starts_at"]) == starts_at
    assert item["starts_at"][11:16] == "01:30"
    assert item["start_date"] == starts_at.astimezone(SHANGHAI).date().isoformat() != starts_at.date().isoformat()
    assert date.fromisoformat(item["end_date"]) == (starts_at + timedelta(days=2, hours=8)).astimezone(SHANGHAI).date()
    assert (item["capacity"], item["seats_left"], item["waitlist_length"]) == (30, 30, 0)
    assert item["registration_open"] is True and item["refusal_reason"] is None


@pytest.mark.parametrize(("price", "shown"), [("1999.5", "1999.50"), ("0", "0.00"), ("12800.99", "12800.99")])
def test_price_is_an_exact_string_with_two_decimals(app, client, price, shown):
    new_session(app, price=price)

    item = client.get(f"{API}/sessions").get_json()["items"][0]

    assert item["price"] == shown


def test_the_list_holds_upcoming_published_sessions_soonest_first(app, client):
    later = new_session(app, starts_in_days=40)
    sooner = new_session(app, starts_in_days=10)
    running = new_session(app, starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() + timedelta(days=1))
    new_session(app, starts_at=utcnow() - timedelta(days=10), ends_at=utcnow() - timedelta(days=8))  # ended
    new_session(app, published=False)  # a draft
    with app.app_context():
        draft_course = make_course("抖音直播带货实战营", published=False)
    new_session(app, course_id=draft_course)  # published, but its course is not

    assert _listed_ids(client) == [running, sooner, later]


def test_a_session_that_cannot_be_booked_says_why(app, client):
    session_id = new_session(app, registration_opens_at=utcnow() + timedelta(days=3))

    item = client.get(f"{API}/sessions/{session_id}").get_json()

    assert item["registration_open"] is False
    assert item["refusal_reason"] == "报名尚未开始，请稍后再来"


def test_one_session_is_the_same_item_as_in_the_list_with_its_questions(app, client):
    session_id = new_session(app)

    response = client.get(f"{API}/sessions/{session_id}")

    assert response.status_code == 200
    one = response.get_json()
    assert one.pop("questions") == []  # a session without registration questions (tests/test_questions_api.py)
    # and group booking, offered by default (tests/test_api_groups.py)
    assert (one.pop("max_group_size"), one.pop("group_booking_open")) == (5, True)
    assert one == client.get(f"{API}/sessions").get_json()["items"][0]


def test_an_ended_session_can_still_be_read(app, client):
    # A student's registration points at it long after the camp.
    session_id = new_session(app, starts_at=utcnow() - timedelta(days=10), ends_at=utcnow() - timedelta(days=8))

    item = client.get(f"{API}/sessions/{session_id}").get_json()

    assert item["registration_open"] is False
    assert item["refusal_reason"] == "该场次已开课或已结束，无法报名"


def test_unpublished_and_unknown_sessions_are_404(app, client):
    draft = new_session(app, published=False)
    with app.app_context():
        draft_course = make_course("抖音直播带货实战营", published=False)
    in_draft_course = new_session(app, course_id=draft_course)

    for session_id in (draft, in_draft_course, 999_999):
        assert_error(client.get(f"{API}/sessions/{session_id}"), 404, "session_not_found")


def test_an_id_beyond_the_id_columns_is_404_not_a_database_error(client):
    assert_error(client.get(f"{API}/sessions/99999999999999999999"), 404, "not_found")


def test_seats_left_and_waitlist_length_follow_bookings(app, client):
    session_id = new_session(app, capacity=1)
    first = student_headers(app, client, "first@example.com", "13900000001")
    second = student_headers(app, client, "second@example.com", "13900000002")

    assert api_book(client, session_id, first).status_code == 201
    item = client.get(f"{API}/sessions/{session_id}").get_json()
    assert (item["seats_left"], item["waitlist_length"]) == (0, 0)

    assert api_book(client, session_id, second).status_code == 201
    item = client.get(f"{API}/sessions/{session_id}").get_json()
    assert (item["seats_left"], item["waitlist_length"]) == (0, 1)
    # Full is not closed: a full session still takes waitlist bookings.
    assert item["registration_open"] is True


def test_times_are_aware_utc_instants_whatever_the_database(app, client):
    starts_at = datetime(2031, 3, 1, 1, 0, tzinfo=UTC)
    session_id = new_session(app, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8))

    item = client.get(f"{API}/sessions/{session_id}").get_json()

    assert item["starts_at"] == "2031-03-01T09:00:00+08:00"
    assert item["ends_at"] == "2031-03-01T17:00:00+08:00"
    assert (item["start_date"], item["end_date"]) == ("2031-03-01", "2031-03-01")
