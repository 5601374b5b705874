"""团体报名 over the API: a booker books seats for named attendees (all or none, or the group waits
together), sees their groups, replaces (换人) or cancels an attendee; someone else's group is a 404,
a missing token a 401, and a hostile body a 400 with Chinese messages, never a 500."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from tests.factories import make_user, new_course, new_session, xhs_questions
from tests.helpers import (
    API,
    api_book,
    assert_error,
    bearer,
    registration_statuses,
    seats_taken,
    student_headers,
    token_for,
)

# Attendees as bookers paste them: rare characters, phone numbers in their several spellings.
TEAM = [{"name": "王喆", "phone": "138 0013 8001", "email": "wangzhe@example.com"},
        {"name": "𠮷田䶮", "phone": "+86 138-0013-8002"},
        {"name": "李䶮", "phone": "１３８００１３８００３", "email": None}]
GROUP_KEYS = {"id", "session_id", "size", "created_at", "session", "registrations"}
ATTENDEE_REGISTRATION_KEYS = {"id", "status", "waitlist_position", "ticket_code", "amount_due", "pay_by", "attendee"}


@pytest.fixture
def headers(app, client):
    """The booker: a student (a team's manager, who need not attend)."""
    return student_headers(app, client, "manager@example.com", "13600000001", name="赵经理")


def _book(client, session_id: int, headers: dict, attendees=TEAM, **body):
    return client.post(f"{API}/sessions/{session_id}/groups", headers=headers, json={"attendees": attendees, **body})


def _raw(client, url: str, raw: str, headers: dict):
    """POST a body as it is (a lone surrogate too, which json.dumps would escape)."""
    return client.post(url, headers=headers, data=raw.encode("utf-8", "surrogatepass"), content_type="application/json")


def _replace(client, group_id: int, registration_id: int, headers: dict, attendee: dict):
    return client.post(f"{API}/groups/{group_id}/registrations/{registration_id}/replace", headers=headers,
                       json=attendee)


def _set_session(app, session_id: int, **values) -> None:
    """Change a session's columns directly (staff's forms do not set these yet)."""
    with app.app_context():
        db.session.execute(update(CampSession).where(CampSession.id == session_id).values(**values))
        db.session.commit()
        db.session.remove()


def _counts(app) -> tuple[int, int, int]:
    """Groups, registrations and accounts in the database."""
    with app.app_context():
        counted = tuple(db.session.scalar(select(func.count()).select_from(model))
                        for model in (GroupBooking, Registration, User))
        db.session.remove()
    return counted


# --- booking ---------------------------------------------------------------------------------


def test_a_group_of_three_is_201_with_a_seat_and_a_ticket_each(app, client, headers):
    session_id = new_session(app, capacity=5)

    response = _book(client, session_id, headers)

    assert response.status_code == 201, response.get_json()
    group = response.get_json()
    assert set(group) == GROUP_KEYS
    assert (group["session_id"], group["size"], group["session"]["seats_left"]) == (session_id, 3, 2)
    booked = group["registrations"]
    assert all(set(r) == ATTENDEE_REGISTRATION_KEYS for r in booked)
    # Names as typed (rare characters intact), phones as stored: 11 digits however they were pasted.
    assert [r["attendee"] for r in booked] == [{"name": "王喆", "phone": "13800138001"},
                                              {"name": "𠮷田䶮", "phone": "13800138002"},
                                              {"name": "李䶮", "phone": "13800138003"}]
    assert [r["status"] for r in booked] == ["confirmed"] * 3
    assert len({r["ticket_code"] for r in booked}) == 3 and all(r["ticket_code"] for r in booked)
    assert all((r["waitlist_position"], r["amount_due"], r["pay_by"]) == (None, None, None) for r in booked)
    assert registration_statuses(app, session_id) == {r["id"]: "confirmed" for r in booked}
    with app.app_context():
        stored = db.session.get(GroupBooking, group["id"])
        assert stored.source == "api" and {r.source for r in stored.registrations} == {"api"}
    # The booker sees the group again, alone and in their list.
    assert client.get(f"{API}/groups/{group['id']}", headers=headers).get_json() == group
    assert client.get(f"{API}/me/groups", headers=headers).get_json() == {"items": [group]}


def test_an_attendee_with_an_account_sees_the_registration_with_its_group(app, client, headers):
    session_id = new_session(app, capacity=5)
    attendee = student_headers(app, client, "wangzhe@example.com", "13800138001", name="王喆")
    own_session = new_session(app, capacity=5, starts_in_days=40)
    assert api_book(client, own_session, attendee).status_code == 201

    group = _book(client, session_id, headers).get_json()

    mine = client.get(f"{API}/me/registrations", headers=attendee).get_json()["items"]
    assert {(r["session_id"], r["group_id"]) for r in mine} == {(session_id, group["id"]), (own_session, None)}
    assert group["registrations"][0]["attendee"] == {"name": "王喆", "phone": "13800138001"}
    # The group is the booker's: the attendee does not see it as theirs.
    assert_error(client.get(f"{API}/groups/{group['id']}", headers=attendee), 404, "group_not_found")
    assert client.get(f"{API}/me/groups", headers=attendee).get_json() == {"items": []}


def test_the_booker_sees_the_name_they_typed_never_the_accounts(app, client, headers):
    """A phone typed that is an account's under another name books that account, but the answer
    names the attendee as typed: typing numbers must not reveal who owns them."""
    session_id = new_session(app, capacity=5)
    student_headers(app, client, "sima.guang@example.com", "13800138001", name="司马光")

    group = _book(client, session_id, headers).get_json()

    assert group["registrations"][0]["attendee"] == {"name": "王喆", "phone": "13800138001"}
    shown = client.get(f"{API}/groups/{group['id']}", headers=headers).get_data(as_text=True)
    assert "司马光" not in shown and "sima.guang" not in shown


def test_each_attendee_answers_the_questions_and_a_missing_one_names_the_attendee(app, client, headers):
    course_id = new_course(app)
    asked = xhs_questions(app, course_id)
    session_id = new_session(app, course_id, capacity=5)
    answers = {str(asked["店铺类型"]): "抖音", str(asked["主营类目"]): "美妆个护", str(asked["年营业额"]): "100万以下",
               str(asked["是否已开通小红书店铺"]): False, str(asked["想解决的问题"]): "起号慢"}
    team = [{**a, "answers": {**answers, str(asked["公司名称"]): f"{a['name']}的店"}} for a in TEAM]
    del team[0]["answers"][str(asked["公司名称"])]
    team[2]["answers"][str(asked["店铺类型"])] = "不存在的平台"

    body = assert_error(_book(client, session_id, headers, team), 400, "invalid_attendees")

    assert set(body["fields"]) == {f"attendees.0.answers.{asked['公司名称']}",
                                   f"attendees.2.answers.{asked['店铺类型']}"}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in message) for message in body["fields"].values())
    assert _counts(app)[:2] == (0, 0) and seats_taken(app, session_id) == 0

    team[0]["answers"][str(asked["公司名称"])] = "王喆的店"
    team[2]["answers"][str(asked["店铺类型"])] = "抖音"
    assert _book(client, session_id, headers, team).status_code == 201


def test_attendees_typed_wrong_are_named_field_by_field(app, client, headers):
    session_id = new_session(app, capacity=5)
    team = [{"name": "王", "phone": "12345"}, {"name": "李堃", "phone": "138-0013-8002", "email": "not-an-email"},
            {"name": "张三", "phone": "13800138002"}]

    body = assert_error(_book(client, session_id, headers, team), 400, "invalid_attendees")

    assert set(body["fields"]) == {"attendees.0.name", "attendees.0.phone", "attendees.1.email", "attendees.2.phone"}
    assert "手机号" in body["fields"]["attendees.2.phone"]  # the same number as attendee 2's


def test_not_enough_seats_is_409_with_the_seats_left_and_books_nobody(app, client, headers):
    session_id = new_session(app, capacity=4)
    for other in ("13900000001", "13900000002"):
        assert api_book(client, session_id, student_headers(app, client, f"{other}@example.com", other)).status_code \
            == 201
    before = _counts(app)

    body = assert_error(_book(client, session_id, headers), 409, "not_enough_seats")

    assert body["seats_left"] == 2 and "2" in body["message"]
    assert _counts(app) == before  # no group, no registration, no account for the attendees
    assert seats_taken(app, session_id) == 2
    # Fewer fit.
    fewer = _book(client, session_id, headers, TEAM[:2])
    assert fewer.status_code == 201 and [r["status"] for r in fewer.get_json()["registrations"]] == ["confirmed"] * 2


def test_a_full_session_says_no_seats_left_or_takes_the_group_on_the_waitlist(app, client, headers):
    session_id = new_session(app, capacity=1)
    assert api_book(client, session_id, student_headers(app, client, "one@example.com", "13900000001")).status_code \
        == 201

    assert assert_error(_book(client, session_id, headers), 409, "not_enough_seats")["seats_left"] == 0
    response = _book(client, session_id, headers, join_waitlist=True)

    assert response.status_code == 201, response.get_json()
    booked = response.get_json()["registrations"]
    assert [(r["status"], r["waitlist_position"], r["ticket_code"]) for r in booked] == [
        ("waitlisted", 1, None), ("waitlisted", 2, None), ("waitlisted", 3, None)]
    assert response.get_json()["session"]["waitlist_length"] == 3


def test_a_paid_group_is_held_for_payment(app, client, headers):
    session_id = new_session(app, capacity=5, price="3980.00")

    booked = _book(client, session_id, headers).get_json()["registrations"]

    assert {(r["status"], r["amount_due"], r["ticket_code"]) for r in booked} == {("pending_payment", "3980.00", None)}
    assert len({r["pay_by"] for r in booked}) == 1 and booked[0]["pay_by"].endswith("+08:00")


def test_group_size_and_sessions_that_take_no_groups(app, client, headers):
    small, reviewed, single = (new_session(app, capacity=20, starts_in_days=days) for days in (30, 31, 32))
    _set_session(app, small, max_group_size=2)
    _set_session(app, reviewed, requires_approval=True)
    _set_session(app, single, max_group_size=1)

    body = assert_error(_book(client, small, headers), 400, "group_size_invalid")
    assert "2" in body["fields"]["attendees"]
    assert_error(_book(client, reviewed, headers), 409, "group_booking_not_offered")
    assert_error(_book(client, single, headers), 409, "group_booking_not_offered")
    assert_error(_book(client, 999999, headers), 404, "session_not_found")
    shown = {s: client.get(f"{API}/sessions/{s}").get_json() for s in (small, reviewed, single)}
    assert [(shown[s]["max_group_size"], shown[s]["group_booking_open"]) for s in (small, reviewed, single)] == [
        (2, True), (5, False), (1, False)]
    assert _counts(app)[:2] == (0, 0)


def test_group_bookings_are_rate_limited_per_account(app, client, headers, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_BOOKING", "1 per minute")
    session_id = new_session(app, capacity=1)

    assert _book(client, session_id, headers).status_code == 409  # counted, like any booking attempt
    assert_error(_book(client, session_id, headers, join_waitlist=True), 429, "rate_limited")


# --- the booker acts for the group -------------------------------------------------------------


def test_the_booker_replaces_an_attendee_with_a_new_ticket(app, client, headers):
    session_id = new_session(app, capacity=3)
    group = _book(client, session_id, headers).get_json()
    first = group["registrations"][0]

    response = _replace(client, group["id"], first["id"], headers,
                        {"name": "欧阳娜娜", "phone": "+86 139 0000 0009", "email": "nana@example.com"})

    assert response.status_code == 200, response.get_json()
    now = response.get_json()["registrations"][0]
    assert (now["id"], now["status"], now["attendee"]) == (first["id"], "confirmed",
                                                           {"name": "欧阳娜娜", "phone": "13900000009"})
    assert now["ticket_code"] and now["ticket_code"] != first["ticket_code"]
    assert response.get_json()["registrations"][1:] == group["registrations"][1:]
    assert seats_taken(app, session_id) == 3


@pytest.mark.parametrize(("attendee", "field"), [
    ({"name": "欧阳娜娜", "phone": "123"}, "phone"),
    ({"name": "欧", "phone": "13900000009"}, "name"),
    ({"name": "李䶮", "phone": "13800138003"}, "phone"),  # already in the session (the third attendee)
    ({"name": "王喆", "phone": "13800138001"}, "phone"),  # the attendee it would replace
])
def test_a_replacement_typed_wrong_is_400_naming_the_bodys_own_field(app, client, headers, attendee, field):
    group = _book(client, new_session(app, capacity=3), headers).get_json()

    body = assert_error(_replace(client, group["id"], group["registrations"][0]["id"], headers, attendee), 400,
                        "invalid_attendees")

    assert list(body["fields"]) == [field]


def test_replacing_after_the_cancellation_deadline_is_409(app, client, headers):
    session_id = new_session(app, capacity=3)
    group = _book(client, session_id, headers).get_json()
    _set_session(app, session_id, cancellation_deadline=utcnow() - timedelta(hours=1))

    response = _replace(client, group["id"], group["registrations"][0]["id"], headers,
                        {"name": "欧阳娜娜", "phone": "13900000009"})

    assert "截止" in assert_error(response, 409, "replacement_closed")["message"]


def test_the_booker_cancels_an_attendee_through_the_registrations_delete(app, client, headers):
    session_id = new_session(app, capacity=3)
    group = _book(client, session_id, headers).get_json()
    waiting = student_headers(app, client, "waiting@example.com", "13900000001")
    assert api_book(client, session_id, waiting).get_json()["status"] == "waitlisted"
    second = group["registrations"][1]["id"]

    response = client.delete(f"{API}/registrations/{second}", headers=headers)

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], response.get_json()["group_id"]) == ("cancelled", group["id"])
    shown = client.get(f"{API}/groups/{group['id']}", headers=headers).get_json()
    assert [r["status"] for r in shown["registrations"]] == ["confirmed", "cancelled", "confirmed"]
    assert shown["registrations"][1]["ticket_code"] is None
    # The freed seat went down the queue.
    assert client.get(f"{API}/me/registrations", headers=waiting).get_json()["items"][0]["status"] == "confirmed"
    assert_error(client.delete(f"{API}/registrations/{second}", headers=headers), 409, "already_cancelled")
    assert_error(_replace(client, group["id"], second, headers, {"name": "欧阳娜娜", "phone": "13900000009"}), 409,
                 "already_cancelled")


# --- whose group --------------------------------------------------------------------------------


def test_someone_elses_group_is_404_to_read_replace_or_cancel(app, client, headers):
    session_id = new_session(app, capacity=5)
    group = _book(client, session_id, headers).get_json()
    first = group["registrations"][0]["id"]
    stranger = student_headers(app, client, "stranger@example.com", "13900000001")
    nana = {"name": "欧阳娜娜", "phone": "13900000009"}

    assert_error(client.get(f"{API}/groups/{group['id']}", headers=stranger), 404, "group_not_found")
    assert_error(client.get(f"{API}/groups/999999", headers=headers), 404, "group_not_found")
    assert client.get(f"{API}/me/groups", headers=stranger).get_json() == {"items": []}
    assert_error(_replace(client, group["id"], first, stranger, nana), 404, "group_not_found")
    assert_error(client.delete(f"{API}/registrations/{first}", headers=stranger), 404, "registration_not_found")
    # A registration of another group (or none) under this group's URL is not found either.
    other = _book(client, new_session(app, capacity=5, starts_in_days=40), headers).get_json()
    assert_error(_replace(client, group["id"], other["registrations"][0]["id"], headers, nana), 404,
                 "registration_not_found")
    assert set(registration_statuses(app, session_id).values()) == {"confirmed"}


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/sessions/1/groups"), ("GET", "/me/groups"), ("GET", "/groups/1"),
    ("POST", "/groups/1/registrations/1/replace"),
])
def test_every_group_endpoint_needs_a_token(client, method, path):
    assert_error(client.open(f"{API}{path}", method=method, json={"attendees": TEAM}), 401, "authentication_required")
    assert_error(client.open(f"{API}{path}", method=method, headers=bearer("forged"), json={}), 401, "invalid_token")


# --- hostile bodies -----------------------------------------------------------------------------

_OK = '{"name": "王喆", "phone": "13800138001"}'
_OK2 = '{"name": "李堃", "phone": "13800138002"}'
HUGE = "长" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8


@pytest.mark.parametrize(("raw", "field"), [
    ("[]", None), ('"attendees"', None), ("null", None), ('{"attendees": [' + _OK, None), ("{}", "attendees"),
    ('{"attendees": null}', "attendees"), ('{"attendees": "王喆"}', "attendees"), ('{"attendees": {}}', "attendees"),
    ('{"attendees": [' + _OK + "]}", "attendees"),  # one attendee: book for oneself instead
    ('{"attendees": [' + ", ".join([_OK] * 51) + "]}", "attendees"),
    ('{"attendees": [' + ", ".join(["{}"] * 300_000) + "]}", "attendees"),  # counted before read
    ('{"attendees": [' + _OK + ", 1]}", "attendees.1"),
    ('{"attendees": [' + _OK + ', {"name": 12, "phone": "13800138002"}]}', "attendees.1.name"),
    ('{"attendees": [' + _OK + ', {"name": "李堃"}]}', "attendees.1.phone"),
    ('{"attendees": [' + _OK + ', {"name": "李\\u0000堃", "phone": "13800138002"}]}', "attendees.1.name"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "\\ud800"}]}', "attendees.1.phone"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "\ud800"}]}', None),  # not even UTF-8
    ('{"attendees": [' + _OK + ', {"name": "' + HUGE + '", "phone": "13800138002"}]}', "attendees.1.name"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "1", "email": "' + "a" * 300 + '"}]}', "attendees.1.email"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "1", "email": 1}]}', "attendees.1.email"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "1", "answers": {"abc": "x"}}]}',
     "attendees.1.answers.abc.[key]"),
    ('{"attendees": [' + _OK + ', {"name": "李堃", "phone": "1", "answers": []}]}', "attendees.1.answers"),
    ('{"attendees": [' + _OK + ", " + _OK2 + '], "join_waitlist": "yes"}', "join_waitlist"),
    ('{"attendees": [' + _OK + ", " + _OK2 + '], "join_waitlist": 1}', "join_waitlist"),
    ('{"attendees": ' + "[" * 100_000 + "]" * 100_000 + "}", None),
])
def test_hostile_bodies_are_400_with_chinese_messages_and_book_nobody(app, client, headers, raw, field):
    session_id = new_session(app, capacity=5)
    before = _counts(app)

    body = assert_error(_raw(client, f"{API}/sessions/{session_id}/groups", raw, headers), 400, "invalid_request")

    if field is not None:
        assert field in body["fields"], body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["fields"][field])
    assert _counts(app) == before


def test_a_nul_in_a_name_says_why_next_to_the_attendees_field(client, headers):
    session_id = new_session(client.application)
    team = [TEAM[0], {"name": "李\x00堃", "phone": "13800138002"}]

    body = assert_error(_book(client, session_id, headers, team), 400, "invalid_request")

    assert "控制字符" in body["fields"]["attendees.1.name"]


def test_a_ten_megabyte_name_says_how_long_a_name_may_be(client, headers):
    session_id = new_session(client.application)
    team = [TEAM[0], {"name": HUGE, "phone": "13800138002"}]

    body = assert_error(_book(client, session_id, headers, team), 400, "invalid_request")

    assert body["fields"] == {"attendees.1.name": "姓名长度应为 2–30 个字"}


@pytest.mark.parametrize("raw", [
    "[]", '{"name": "欧阳娜娜"}', '{"name": "\\u0000", "phone": "13900000009"}',
    '{"name": "' + HUGE + '", "phone": "1"}', '{"name": "欧阳娜娜", "phone": 13900000009}'])
def test_hostile_replacements_are_400(app, client, headers, raw):
    group = _book(client, new_session(app, capacity=3), headers).get_json()
    first = group["registrations"][0]

    assert_error(_raw(client, f"{API}/groups/{group['id']}/registrations/{first['id']}/replace", raw, headers), 400,
                 "invalid_request")

    assert client.get(f"{API}/groups/{group['id']}", headers=headers).get_json() == group


# --- the document ------------------------------------------------------------------------------


def test_the_document_describes_the_group_endpoints(client):
    document = client.get(f"{API}/openapi.json").get_json()
    paths, schemas = document["paths"], document["components"]["schemas"]

    book = paths["/sessions/{session_id}/groups"]["post"]
    assert book["security"] == [{"bearerAuth": []}]
    assert set(book["responses"]) >= {"201", "400", "401", "404", "409", "429"}
    assert book["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GroupBookingRequest"}
    request = schemas["GroupBookingRequest"]["properties"]["attendees"]
    assert (request["minItems"], request["maxItems"]) == (2, 50)
    assert set(schemas["AttendeeIn"]["required"]) == {"name", "phone"}
    assert "seats_left" in schemas["ErrorOut"]["properties"]
    assert "group_id" in schemas["RegistrationOut"]["required"]
    assert {"max_group_size", "group_booking_open"} <= set(schemas["SessionDetailOut"]["required"])
    for path, method in (("/me/groups", "get"), ("/groups/{group_id}", "get"),
                         ("/groups/{group_id}/registrations/{registration_id}/replace", "post")):
        assert paths[path][method]["security"] == [{"bearerAuth": []}]
        assert "401" in paths[path][method]["responses"]
    assert json.dumps(document, ensure_ascii=False).count("group_not_found") >= 2


def test_an_attendees_account_is_made_by_phone_and_left_for_its_owner(app, client, headers):
    """A new attendee gets an account with their phone number (no one can log in to it until its
    owner sets a password); an attendee who has one is booked on it."""
    make_user(app, "old@example.com", name="王喆", phone="13800138001")

    _book(client, new_session(app, capacity=5), headers)

    with app.app_context():
        people = {u.phone: u for u in db.session.scalars(select(User).where(User.phone.like("138001380%")))}
        assert people["13800138001"].email == "old@example.com"
        assert people["13800138002"].email is None and people["13800138002"].name == "𠮷田䶮"
        db.session.remove()
    assert token_for(client, "old@example.com")  # the existing account still logs in as before
