"""Hostile input gets a 4xx with a Chinese reason, never a 500, and nothing reaches the database
that it cannot store (PostgreSQL refuses NUL; no database stores a lone surrogate).

Two walks: every POST route of the URL map (as a person of the role that may use it, with a CSRF
token, every field of every form set to each hostile value), and every operation of the OpenAPI
document (every property of its body set to each hostile value). Then the cases a person or a
client meets, with the answer they get: 400 and the Chinese message.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from wtforms.fields.core import UnboundField

from app.accounts.models import Role, User
from app.booking import groups
from app.booking.groups import AttendeeInput
from app.catalog.models import CampSession
from app.cms import service as cms
from app.cms.models import Article, ArticleRevision
from app.common.forms import AppForm
from app.extensions import db
from tests.conftest import PASSWORD, make_user
from tests.factories import make_course, make_question, new_session
from tests.helpers import API, API_SIGNUP, bearer, csrf_token_from, login, submit_form, token_for

CONTROL_MESSAGE = "含有不可见的控制字符"

# Values a fuzzer or an attacker sends. Form posts are bytes: "%ED%A0%80" is a lone surrogate
# (U+D800) encoded as UTF-8, which is how one would have to arrive in a form.
HOSTILE_FORM_VALUES = [
    "\x00", "王\x00喆", "\x1b[31m", "\r\n\x0b", "1e400", "Infinity", "-Infinity", "NaN", "sNaN", "-1",
    "99999999999999999999", "-99999999999999999999", "0001-01-01", "9999-12-31", "0001-01-01T00:00",
    "9999-12-31T23:59",
]
HOSTILE_JSON_VALUES = [
    '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff x"', '"\\u001b"', "1e400", "-1e400", "Infinity", "NaN",
    "99999999999999999999", '"0001-01-01"', '"9999-12-31T23:59:59"', "null", "[]", "{}", "true",
]
HUGE = "长" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8


def form_field_names() -> set[str]:
    """The field names of every form of the app (AppForm and its subclasses, recursively)."""
    names: set[str] = set()
    todo = [AppForm]
    while todo:
        form_class = todo.pop()
        todo.extend(form_class.__subclasses__())
        names.update(name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField))
    names.discard("csrf_token")
    return names


def test_every_form_of_the_app_is_an_app_form(app):
    from flask_wtf import FlaskForm

    stray, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        form_class = todo.pop()
        todo.extend(form_class.__subclasses__())
        if not issubclass(form_class, AppForm) and form_class.__module__.startswith("app."):
            stray.append(form_class.__qualname__)
    assert stray == []


# --- the walk of every form ----------------------------------------------------------------------


@pytest.fixture
def world(app, admin, staff, student):
    """One of each row a POST route names, and a client per role with its CSRF token."""
    victim = make_user(app, "victim@example.com", Role.STUDENT, "赵䶮", "13800000009")
    session_id = new_session(app)
    with app.test_request_context():
        camp = db.session.get(CampSession, session_id)
        article = cms.create_article(cms.ArticleInput(title="𠮷 的文章", body="正文"), actor=None)
        # A registration question of the session's course: its booking page field gets the values too.
        question_id = make_question("公司名称", course_id=camp.course_id)
        ids = {"course_id": camp.course_id, "session_id": session_id, "article_id": article.id,
               "user_id": victim, "number": 1, "token": "not-a-token", "request_id": 1,
               "question_id": question_id, "owner": "course", "owner_id": camp.course_id, "direction": "up"}
        db.session.remove()
    clients = {}
    for role, email in (("anonymous", None), ("student", "student@example.com"), ("admin", "admin@example.com")):
        client = app.test_client()
        if email:
            assert login(client, email, PASSWORD).status_code == 302
        page = client.get("/account/login" if email is None else "/account/profile")
        clients[role] = (client, csrf_token_from(page.get_data(as_text=True)))
    student_client = clients["student"][0]
    student_client.post(f"/sessions/{session_id}/book", data={"csrf_token": clients["student"][1]})
    with app.app_context():
        from app.booking.models import Registration
        registration = db.session.scalar(select(Registration))
        ids["registration_id"] = ids["certificate_id"] = registration.id
        ids["code"] = registration.ticket_code  # the ticket link /t/<code>
        # A group the student booked: its page's forms (换人, pay, 发票) get the values too.
        student_user = db.session.scalar(select(User).where(User.email == "student@example.com"))
        outcome = groups.book_group(student_user, session_id, [AttendeeInput("钱多多", "13600000021"),
                                                               AttendeeInput("孙䶮", "13600000022")])
        ids["group_id"] = outcome.group.id
        db.session.remove()
    return ids, clients


def _role_for(rule: str) -> str:
    if rule.startswith(("/admin", "/staff", "/t/")):  # /t/<code>: staff check in from a ticket link
        return "admin"
    if rule.startswith(("/account/login", "/account/signup", "/account/reset")):
        return "anonymous"
    return "student"


def test_no_form_answers_500_to_hostile_values(app, world):
    ids, clients = world
    names = form_field_names() | {f"q{ids['question_id']}"}
    rules = [rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.rule.startswith("/api/") and rule.endpoint != "accounts.logout"]
    assert len(rules) > 30
    failures = []
    for rule in rules:
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(rf"<(?:[^<>]+:)?{argument}>", str(ids[argument]), url)
        client, token = clients[_role_for(rule.rule)]
        for value in HOSTILE_FORM_VALUES:
            response = client.post(url, data={**dict.fromkeys(names, value), "csrf_token": token})
            if response.status_code >= 500:
                failures.append((url, value, response.status_code))
        # A lone surrogate as a browser would have to encode it, and the URL's own query string.
        body = "&".join(f"{name}=%ED%A0%80" for name in names) + f"&csrf_token={token}"
        response = client.post(url + "?q=%00&page=99999999999999999999", data=body,
                               content_type="application/x-www-form-urlencoded")
        if response.status_code >= 500:
            failures.append((url, "surrogate", response.status_code))
    assert failures == []


def test_a_10_mb_field_is_refused_not_a_500(app, world):
    ids, clients = world
    client, token = clients["admin"]
    for url in ("/admin/courses/new", f"/admin/courses/{ids['course_id']}/sessions/new", "/admin/articles/new"):
        response = client.post(url, data={"title": HUGE, "city": HUGE, "body": HUGE, "csrf_token": token})
        assert 400 <= response.status_code < 500, url


# --- what a person sees --------------------------------------------------------------------------


def test_a_nul_in_the_signup_form_is_400_with_the_reason_next_to_the_field(app, client):
    response = submit_form(client, "/account/signup",
                           {"email": "a@example.com", "password": "abcdefgh1", "name": "王\x00喆",
                            "phone": "13912345678"})
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "a@example.com")) is None


def _session_form(**changes) -> dict:
    return {"label": "第1期", "starts_at": "2027-03-01T09:00", "ends_at": "2027-03-03T18:00", "city": "杭州",
            "venue": "培训中心", "price": "3980.00", "capacity": "60", **changes}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("price", "Infinity", "请输入有效的数字"),
    ("price", "NaN", "请输入有效的数字"),
    ("price", "1e400", "数值太大"),
    ("price", "100000000", "数值太大"),
    ("capacity", "99999999999999999999", "数值超出范围"),
    ("starts_at", "0001-01-01T00:00", "请选择 2000 至 2100 年之间的时间"),
    ("ends_at", "9999-12-31T23:59", "请选择 2000 至 2100 年之间的时间"),
    ("venue", "培训\x00中心", CONTROL_MESSAGE),
])
def test_the_session_form_refuses_numbers_dates_and_text_no_column_can_store(app, admin_client, field, value,
                                                                             message):
    with app.app_context():
        course_id = make_course()
        db.session.commit()
    url = f"/admin/courses/{course_id}/sessions/new"
    response = submit_form(admin_client, url, _session_form(**{field: value}))
    # A NUL is no slip of the keyboard: 400. A number or date out of range is a form error like any.
    assert response.status_code == (400 if message == CONTROL_MESSAGE else 200)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(CampSession)) is None


def test_a_negative_price_is_an_ordinary_form_error(app, admin_client):
    with app.app_context():
        course_id = make_course()
        db.session.commit()
    response = submit_form(admin_client, f"/admin/courses/{course_id}/sessions/new", _session_form(price="-0.01"))
    assert response.status_code == 200
    assert "价格应在 0 到 99,999,999 元之间" in response.get_data(as_text=True)


def test_a_textarea_keeps_its_lines_with_lf_only(app, admin_client):
    response = submit_form(admin_client, "/admin/courses/new",
                           {"title": "私域运营营", "summary": "第一行\r\n第二行\r第三行\t缩进"})
    assert response.status_code == 302
    with app.app_context():
        from app.catalog.models import Course
        assert db.session.scalar(select(Course.summary)) == "第一行\n第二行\n第三行\t缩进"


@pytest.mark.parametrize("url", ["/search?q=%00", "/articles/?q=a%00", "/courses/?x=%1B", "/verify?serial=X%0D1"])
def test_a_control_character_in_the_query_string_is_400_with_the_reason(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/articles/%00", "/columns/a%1Bb/", "/tags/%00/"])
def test_a_control_character_in_the_path_is_a_page_that_does_not_exist(client, url):
    assert client.get(url).status_code == 404


def test_a_control_character_in_an_api_query_string_is_400_json(client):
    response = client.get(f"{API}/sessions?x=%00")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_request"
    assert CONTROL_MESSAGE in response.get_json()["message"]


@pytest.mark.parametrize("page", ["99999999999999999999", "-99999999999999999999", "1e400", "abc", "0", "99999"])
def test_page_numbers_out_of_range_are_a_page_not_a_500(app, admin_client, staff, page):
    session_id = new_session(app)
    for url in ("/admin/users/", "/staff/sessions/", f"/staff/sessions/{session_id}/roster", "/admin/articles/",
                "/admin/outbox/", "/articles/", "/search"):
        response = admin_client.get(f"{url}?page={page}&per_page={page}&column={page}&q=x")
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("target", [
    "/%0d%0aSet-Cookie:%20x=1", "/%0aLocation:%20https://evil.example", "//evil.example/", "/\\evil.example",
    "https://evil.example/", "javascript:alert(1)", "/\x09/evil.example",
])
def test_login_follows_next_only_to_a_plain_local_path(app, student, target):
    client = app.test_client()
    page = client.get("/account/login")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(f"/account/login?next={target}",
                           data={"login": "student@example.com", "password": PASSWORD, "csrf_token": token})
    if response.status_code == 400:  # a CR in the query string is refused before the login
        assert CONTROL_MESSAGE in response.get_data(as_text=True)
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_still_follows_a_local_next(app, student):
    client = app.test_client()
    response = login(client, "student@example.com", PASSWORD, query_string={"next": "/me/registrations?x=1"})
    assert response.headers["Location"] == "/me/registrations?x=1"


# --- the API -------------------------------------------------------------------------------------


def _raw(client, method: str, url: str, body: str, headers: dict | None = None):
    return client.open(url, method=method, data=body.encode("utf-8", "surrogatepass"),
                       content_type="application/json", headers=headers or {})


@pytest.mark.parametrize(("body", "field"), [
    ('{"login": "\\u0000", "password": "x"}', "login"),
    ('{"login": "13800000003", "password": "a\\u0000"}', "password"),
    ('{"login": "\\ud800", "password": "x"}', "login"),
])
def test_a_nul_or_lone_surrogate_in_a_token_request_is_400_with_the_reason(app, client, student, body, field):
    response = _raw(client, "POST", f"{API}/auth/token", body)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["code"] == "invalid_request"
    assert "控制字符" in answer["fields"][field] or "代理字符" in answer["fields"][field]


def test_a_nul_in_the_api_signup_creates_nobody(app, client):
    response = client.post(f"{API}/auth/signup", json={**API_SIGNUP, "name": "王\x00喆"})
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.get_json()["fields"]["name"]
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def _operations(client) -> list[tuple[str, str, dict]]:
    document = client.get(f"{API}/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            properties = schemas[body["$ref"].rsplit("/", 1)[1]]["properties"] if body else {}
            operations.append((method.upper(), path, properties))
    return operations


def test_no_api_operation_answers_500_to_hostile_values(app, client, student):
    session_id = new_session(app)
    headers = bearer(token_for(client, "student@example.com"))
    operations = _operations(client)
    assert len(operations) >= 8
    failures = []
    for method, path, properties in operations:
        for id_value in (str(session_id), "99999999999999999999", "-1"):
            url = API + path.replace("{session_id}", id_value).replace("{registration_id}", id_value).replace(
                "{group_id}", id_value)
            for value in HOSTILE_JSON_VALUES:
                body = "{" + ", ".join(f'"{name}": {value}' for name in properties) + "}"
                response = _raw(client, method, url + "?page=99999999999999999999", body, headers)
                if response.status_code >= 500:
                    failures.append((method, url, value, response.status_code))
        if properties:
            huge = json.dumps(dict.fromkeys(properties, HUGE))
            response = _raw(client, method, API + path, huge, headers)
            if not 400 <= response.status_code < 500:
                failures.append((method, path, "10 MB", response.status_code))
    assert failures == []


# --- sign-up rate limit ----------------------------------------------------------------------------


def test_refused_api_signups_do_not_use_up_the_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per hour")
    for _ in range(5):
        assert client.post(f"{API}/auth/signup", json={**API_SIGNUP, "phone": "123"}).status_code == 400
    assert client.post(f"{API}/auth/signup", json=API_SIGNUP).status_code == 201
    assert client.post(f"{API}/auth/signup", json=API_SIGNUP).status_code == 409  # reached the database
    third = client.post(f"{API}/auth/signup", json={**API_SIGNUP, "email": "c@example.com", "phone": "13912345670"})
    assert third.status_code == 429


def test_refused_web_signups_do_not_use_up_the_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per hour")
    client = app.test_client()
    token = csrf_token_from(client.get("/account/signup").get_data(as_text=True))
    form = {"email": "w@example.com", "password": "abcdefgh1", "confirm": "abcdefgh1", "name": "王喆",
            "phone": "13912345678", "csrf_token": token}
    for _ in range(5):
        response = client.post("/account/signup", data={**form, "phone": "123"})
        assert response.status_code == 200 and "手机号" in response.get_data(as_text=True)
    assert client.post("/account/signup", data=form).status_code == 302
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    token = csrf_token_from(client.get("/account/signup").get_data(as_text=True))
    taken = client.post("/account/signup", data={**form, "csrf_token": token})  # reached the database
    assert taken.status_code == 200
    assert client.post("/account/signup", data={**form, "csrf_token": token}).status_code == 429


# --- the import CLI ----------------------------------------------------------------------------------


def test_import_cleans_a_file_name_no_column_can_store(app, tmp_path):
    # Linux file names are bytes: \xff is not UTF-8 (Python reads it as a lone surrogate), \x01 a control.
    name = os.fsdecode(b"\xff\x01\xe5\x90\x89.txt")
    path = Path(tmp_path) / name
    path.write_text("小红书种草的三个误区\n\n正文第一段，讲清楚为什么\x01要先做定位。\n", encoding="utf-8")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["cms", "import", str(path), "--author", "编辑\x1b部"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        article = db.session.scalar(select(Article))
        note = db.session.scalar(select(ArticleRevision.note))
        assert note == "导入自 吉.txt"
        assert "\x01" not in db.session.scalar(select(ArticleRevision.body))
        assert article.title == "小红书种草的三个误区"
