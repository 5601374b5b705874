"""API accounts: sign-up with the web form's rules, tokens by email or phone, and the bearer check."""
from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.extensions import db
from tests.factories import PASSWORD, make_user
from tests.helpers import (
    API,
    API_SIGNUP,
    api_signup,
    assert_error,
    bearer,
    find_user,
    get_user,
    set_active,
    token_for,
    user_count,
)

MY_REGISTRATIONS = f"{API}/me/registrations"  # any endpoint that needs a token


# --- sign-up -------------------------------------------------------------------------------


def test_signup_creates_a_student_and_normalises_like_the_web_form(app, client):
    response = api_signup(client, email=" WangZhe@Example.COM ", phone="+86 139-1234-5678", name="  王喆 ")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {"id": body["id"], "email": "wangzhe@example.com", "name": "王喆", "phone": "13912345678"}
    user = find_user(app, "wangzhe@example.com")
    assert (user.id, user.role, user.phone) == (body["id"], Role.STUDENT, "13912345678")
    # The password given at sign-up is the one that works.
    assert token_for(client, "13912345678", API_SIGNUP["password"])


@pytest.mark.parametrize("name", ["买买提·艾力", "𠮷野家", "Anna Müller"])
def test_signup_accepts_the_names_people_have(client, name):
    assert api_signup(client, name=name).status_code == 201


def test_signup_with_a_registered_email_is_409_email_taken(client):
    assert api_signup(client).status_code == 201

    body = assert_error(api_signup(client, email="WANGZHE@example.com", phone="13900000000"), 409, "email_taken")
    assert set(body["fields"]) == {"email"}


def test_signup_with_a_used_phone_is_409_phone_taken(client):
    assert api_signup(client).status_code == 201

    body = assert_error(api_signup(client, email="other@example.com", phone="139 1234 5678"), 409, "phone_taken")
    assert set(body["fields"]) == {"phone"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "1391234567", "请输入 11 位中国大陆手机号，例如 13800138000"),
        ("phone", "23912345678", "请输入 11 位中国大陆手机号，例如 13800138000"),
        ("email", "not-an-email", "邮箱格式不正确，例如 name@example.com"),
        ("email", "", "请填写邮箱"),
        ("name", "王2", "姓名只能包含文字和间隔号「·」，请检查是否有数字或符号"),
        ("name", "王", "姓名长度应为 2–30 个字"),
        ("password", "short1", "密码长度应为 8–128 位"),
        ("password", "x" * 129, "密码长度应为 8–128 位"),
    ],
)
def test_signup_refuses_what_the_web_form_refuses_with_its_message(app, client, field, value, message):
    body = assert_error(api_signup(client, **{field: value}), 400, "invalid_request")

    assert body["fields"] == {field: message}
    assert user_count(app) == 0


def test_signup_lists_every_missing_field(app, client):
    body = assert_error(client.post(f"{API}/auth/signup", json={"email": "a@example.com"}), 400, "invalid_request")

    assert body["fields"] == {"password": "请填写密码", "name": "请填写姓名", "phone": "请填写手机号"}
    assert user_count(app) == 0


def test_signup_refuses_wrong_types_instead_of_coercing_them(app, client):
    # A phone number sent as a JSON number is the classic client mistake: refused, not guessed at.
    body = assert_error(
        api_signup(client, phone=13912345678, password=12345678, name=None, email=["a@example.com"]),
        400, "invalid_request",
    )

    assert body["fields"] == {
        "phone": "手机号应为字符串", "password": "密码应为字符串", "name": "姓名应为字符串", "email": "邮箱应为字符串",
    }
    assert user_count(app) == 0


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"data": API_SIGNUP}, id="form-encoded"),
        pytest.param({"data": '{"email": ', "content_type": "application/json"}, id="malformed-json"),
        pytest.param({"data": b'{"email": "\xff"}', "content_type": "application/json"}, id="not-utf8"),
        pytest.param({"data": "[" * 100_000, "content_type": "application/json"}, id="absurdly-deep"),
        pytest.param({"json": [API_SIGNUP]}, id="json-array"),
        pytest.param({"json": "wangzhe@example.com"}, id="json-string"),
        pytest.param({"data": "null", "content_type": "application/json"}, id="json-null"),
        pytest.param({}, id="no-body"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(app, client, request_kwargs):
    body = assert_error(client.post(f"{API}/auth/signup", **request_kwargs), 400, "invalid_request")

    assert "fields" not in body
    assert user_count(app) == 0


def test_signup_needs_no_csrf_token(app, client):
    # CSRF protection is on in the tests (the web forms need their token); the API is exempt.
    assert app.config.get("WTF_CSRF_ENABLED", True)
    assert api_signup(client).status_code == 201


def test_signup_is_rate_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per minute")
    assert api_signup(client).status_code == 201
    assert api_signup(client).status_code == 409

    assert_error(api_signup(client, email="third@example.com", phone="13900000009"), 429, "rate_limited")
    assert user_count(app) == 1


# --- tokens --------------------------------------------------------------------------------


@pytest.fixture
def student_id(app):
    return make_user(app, "student@example.com", name="张喆", phone="13800000003")


@pytest.mark.parametrize("login", ["student@example.com", " Student@Example.COM", "13800000003", "+86 138-0000-0003"])
def test_token_by_email_or_phone(client, student_id, login):
    response = client.post(f"{API}/auth/token", json={"login": login, "password": PASSWORD})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert isinstance(body["token"], str) and body["token"]
    assert body["expires_in"] == 30 * 24 * 3600
    assert client.get(MY_REGISTRATIONS, headers=bearer(body["token"])).status_code == 200


@pytest.mark.parametrize("login", ["student@example.com", "nobody@example.com", "13999999999"])
def test_wrong_password_or_unknown_account_is_the_same_401(client, student_id, login):
    response = client.post(f"{API}/auth/token", json={"login": login, "password": "wrong-password"})

    assert_error(response, 401, "invalid_credentials")


def test_token_refused_to_a_disabled_account(app, client, student_id):
    set_active(app, student_id, False)

    response = client.post(f"{API}/auth/token", json={"login": "student@example.com", "password": PASSWORD})

    assert_error(response, 403, "account_disabled")


def test_token_request_with_missing_and_mistyped_fields_is_400(client, student_id):
    body = assert_error(client.post(f"{API}/auth/token", json={"login": 13800000003}), 400, "invalid_request")

    assert body["fields"] == {"login": "邮箱或手机号应为字符串", "password": "请填写密码"}


def test_token_requests_are_rate_limited(app, client, student_id, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    for _ in range(2):
        client.post(f"{API}/auth/token", json={"login": "student@example.com", "password": "guess"})

    response = client.post(f"{API}/auth/token", json={"login": "student@example.com", "password": PASSWORD})

    assert_error(response, 429, "rate_limited")


# --- the bearer check ---------------------------------------------------------------------


def test_a_token_is_required(client):
    response = client.get(MY_REGISTRATIONS)

    assert_error(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer not-a-token", "Bearer eyJ1aWQiOjF9.AAAAAA.BBBBBBBB", "Basic c3R1ZGVudDpwYXNz", "garbage"],
)
def test_a_missing_or_garbage_token_is_401(client, student_id, authorization):
    response = client.get(MY_REGISTRATIONS, headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.get_json()["code"] in {"authentication_required", "invalid_token"}


def test_a_password_reset_token_is_not_a_bearer_token(app, client, student_id):
    # Same secret key, different salt: one kind of signed token must never pass as the other.
    with app.test_request_context():
        reset_token = accounts.make_reset_token(get_user(app, student_id))

    assert_error(client.get(MY_REGISTRATIONS, headers=bearer(reset_token)), 401, "invalid_token")


@pytest.mark.parametrize(("age_days", "status"), [(29, 200), (31, 401)])
def test_a_token_expires_after_30_days(client, student_id, monkeypatch, age_days, status):
    headers = bearer(token_for(client, "student@example.com"))
    # Move itsdangerous' clock, and only its clock, forward.
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + age_days * 86400)

    response = client.get(MY_REGISTRATIONS, headers=headers)

    assert response.status_code == status
    if status == 401:
        assert_error(response, 401, "invalid_token")


def test_a_password_change_revokes_earlier_tokens(app, client, student_id):
    old_headers = bearer(token_for(client, "student@example.com"))
    assert client.get(MY_REGISTRATIONS, headers=old_headers).status_code == 200

    with app.app_context():
        accounts.change_password(db.session.get(User, student_id), PASSWORD, "a-new-password-2")
        db.session.remove()

    assert_error(client.get(MY_REGISTRATIONS, headers=old_headers), 401, "invalid_token")
    new_headers = bearer(token_for(client, "student@example.com", "a-new-password-2"))
    assert client.get(MY_REGISTRATIONS, headers=new_headers).status_code == 200


def test_a_disabled_accounts_token_stops_working(app, client, student_id):
    headers = bearer(token_for(client, "student@example.com"))

    set_active(app, student_id, False)

    assert_error(client.get(MY_REGISTRATIONS, headers=headers), 401, "invalid_token")
