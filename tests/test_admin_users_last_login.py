"""最近登录 on the admin user pages: a sign-up (which logs the person in), a web login and an API
token are logins; requests made with a token are not written down one by one."""
from __future__ import annotations

import re

from tests.conftest import PASSWORD, make_user
from tests.helpers import API, bearer, find_user, signup, text_of

USERS = "/admin/users/"


def last_login_shown(admin_client, user_id: int) -> str:
    page = text_of(admin_client.get(f"{USERS}{user_id}"))
    match = re.search(r"<dt>最近登录</dt><dd>(.*?)</dd>", page)
    assert match, page
    return match.group(1)


def test_someone_who_signed_up_on_the_site_has_logged_in(app, client, admin_client):
    assert signup(client).status_code == 302
    user = find_user(app, "wangzhe@example.com")

    assert user.last_login_at is not None
    assert last_login_shown(admin_client, user.id) != "从未登录"


def test_an_api_token_is_a_login_but_requests_with_it_do_not_write(app, admin_client):
    user_id = make_user(app, "api@example.com", name="𠮷田", phone="13800000009")
    api = app.test_client()
    assert last_login_shown(admin_client, user_id) == "从未登录"

    token = api.post(f"{API}/auth/token", json={"login": "13800000009", "password": PASSWORD}).get_json()["token"]

    first = find_user(app, "api@example.com").last_login_at
    assert first is not None
    assert last_login_shown(admin_client, user_id) != "从未登录"
    assert api.get(f"{API}/me", headers=bearer(token)).status_code == 200
    assert find_user(app, "api@example.com").last_login_at == first


def test_an_account_made_by_someone_else_has_never_logged_in(app, admin_client):
    user_id = make_user(app, "walkin@example.com", phone="13800000008")
    assert last_login_shown(admin_client, user_id) == "从未登录"
