"""Who may open which page, forged form posts, login flooding, and the error pages people see."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.helpers import VALID_SIGNUP, is_logged_in, login, outbox_messages, submit_form, text_of, user_count

CSRF_REFUSED = "页面已过期或表单校验失败，请刷新页面后重新提交。"


# --- roles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/staff/", "/admin/outbox/"])
def test_anonymous_visitor_is_sent_to_login_from_staff_pages(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_student_gets_the_chinese_403_page_on_the_staff_workspace(student_client):
    response = student_client.get("/staff/")

    assert response.status_code == 403
    page = text_of(response)
    assert "<h1>没有权限</h1>" in page
    assert "您的账号无权访问这个页面。如需帮助，请联系工作人员。" in page


@pytest.mark.parametrize("role_client", ["staff_client", "admin_client"])
def test_staff_and_admins_open_the_staff_workspace(request, role_client):
    response = request.getfixturevalue(role_client).get("/staff/")

    assert response.status_code == 200
    assert "即将开课与进行中" in text_of(response)


@pytest.mark.parametrize(
    ("role_client", "status"),
    [("student_client", 403), ("staff_client", 403), ("admin_client", 200)],
)
def test_mail_outbox_is_for_admins_only(request, role_client, status):
    """The outbox holds every student's email and reset links: admins only."""
    response = request.getfixturevalue(role_client).get("/admin/outbox/")

    assert response.status_code == status
    if status == 403:
        assert "没有权限" in text_of(response)


def test_role_change_takes_effect_on_the_next_page(app, student, student_client):
    """Promoting a student to staff must not require them to log out and in again."""
    result = app.test_cli_runner().invoke(args=["users", "set-role", "student@example.com", "staff"])
    assert result.exit_code == 0, result.output

    assert student_client.get("/staff/").status_code == 200


# --- CSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_login_post_without_a_valid_csrf_token_is_refused(client, student, token):
    """A form on another site cannot log a visitor into an account of the attacker's choosing."""
    client.get("/account/login")  # the visitor has a session, as a real browser would
    data = {"login": "student@example.com", "password": PASSWORD}
    if token:
        data["csrf_token"] = token

    response = client.post("/account/login", data=data)

    assert response.status_code == 400
    assert CSRF_REFUSED in text_of(response)
    assert not is_logged_in(client)


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_signup_post_without_a_valid_csrf_token_is_refused(app, client, token):
    client.get("/account/signup")
    data = dict(VALID_SIGNUP)
    if token:
        data["csrf_token"] = token

    response = client.post("/account/signup", data=data)

    assert response.status_code == 400
    assert CSRF_REFUSED in text_of(response)
    assert user_count(app) == 0


# --- rate limits -----------------------------------------------------------------------------

def test_login_attempts_are_rate_limited(app, client, student, monkeypatch):
    """Password guessing is slowed down: past the limit even the right password is refused for a while."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    for _ in range(3):
        assert login(client, "student@example.com", "guess-123456").status_code == 200

    response = login(client, "student@example.com", PASSWORD)

    assert response.status_code == 429
    page = text_of(response)
    assert "<h1>操作太频繁</h1>" in page
    assert "请稍等一会儿再试。" in page
    assert not is_logged_in(client)


def test_password_reset_requests_are_rate_limited(app, client, student, monkeypatch):
    """Nobody can flood a student's mailbox with reset emails."""
    monkeypatch.setitem(app.config, "RATELIMIT_PASSWORD_RESET", "3 per minute")
    for _ in range(3):
        assert submit_form(client, "/account/reset", {"email": "student@example.com"}).status_code == 302

    response = submit_form(client, "/account/reset", {"email": "student@example.com"})

    assert response.status_code == 429
    assert "操作太频繁" in text_of(response)
    assert len(outbox_messages(app)) == 3


# --- error pages -----------------------------------------------------------------------------

def test_unknown_address_shows_the_chinese_404_page(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    page = text_of(response)
    assert "<h1>页面不存在</h1>" in page
    assert "您访问的页面不存在或已被删除。" in page
    assert 'href="/"' in page  # a way back to the home page
