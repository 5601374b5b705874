"""Forgotten password: a link by email, valid for one hour and for one use."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.factories import PASSWORD
from tests.helpers import (
    field_errors,
    is_logged_in,
    login,
    outbox_messages,
    set_active,
    submit_form,
    text_of,
    without_csrf_tokens,
)

NEW_PASSWORD = "brand-new-pass-3"
LINK_REFUSED = "重置链接无效或已过期（有效期 1 小时，且只能使用一次），请重新申请"
_LINK_RE = re.compile(r"https?://\S+/account/reset/\S+")


def request_reset(client, email: str, **kwargs):
    return submit_form(client, "/account/reset", {"email": email}, **kwargs)


def reset_link_in(body: str) -> str:
    """The path of the reset link in an email body."""
    match = _LINK_RE.search(body)
    assert match, body
    return urlsplit(match.group(0)).path


def set_new_password(client, link: str, password: str = NEW_PASSWORD):
    # The CSRF token comes from the request page: a refused link has no form of its own to read it from.
    return submit_form(client, link, {"password": password, "confirm": password}, form_page="/account/reset")


def can_log_in(app, password: str) -> bool:
    return login(app.test_client(), "student@example.com", password).status_code == 302


@pytest.fixture
def reset_link(app, student):
    """The link from a reset email the student asked for (read from the outbox; delivery is tested below)."""
    request_reset(app.test_client(), "student@example.com")
    [message] = outbox_messages(app)
    return reset_link_in(message.body_text)


def test_password_reset_from_email_to_login(app, client, student, smtp_server):
    """The whole path a student takes: ask, get the email, open the link, set a password, log in."""
    response = request_reset(client, "Student@Example.com")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    [queued] = outbox_messages(app)
    assert queued.to_address == "student@example.com"
    assert smtp_server.messages == []  # queued, not yet sent

    result = app.test_cli_runner().invoke(args=["outbox", "send"])

    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    [email] = smtp_server.messages
    assert email["To"] == "student@example.com"
    assert email["Subject"] == "重置您的密码"
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "张喆，您好" in body
    assert "60 分钟" in body
    link = reset_link_in(body)

    form_page = client.get(link)
    assert form_page.status_code == 200
    assert "设置新密码" in text_of(form_page)
    response = submit_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/account/login"
    assert "密码已重置，请用新密码登录" in text_of(client.get("/account/login"))
    assert can_log_in(app, NEW_PASSWORD)
    assert not can_log_in(app, PASSWORD)


def test_reset_link_works_only_once(app, client, reset_link):
    """A link left in a mailbox cannot be used again by whoever reads it later."""
    assert set_new_password(client, reset_link).status_code == 302

    page = client.get(reset_link, follow_redirects=True)
    second_use = set_new_password(client, reset_link, "attacker-pass-9")

    assert page.request.path == "/account/reset"
    assert LINK_REFUSED in text_of(page)
    assert second_use.status_code == 302
    assert second_use.headers["Location"] == "/account/reset"
    assert can_log_in(app, NEW_PASSWORD)
    assert not can_log_in(app, "attacker-pass-9")


def pretend_time_passed(monkeypatch, seconds: int) -> None:
    # itsdangerous.timed does `import time`, so patching itsdangerous.timed.time.time would move the
    # clock of the whole process (rate limiter, SMTP, ...). TimestampSigner.get_timestamp is where
    # itsdangerous reads "now" when it checks a token's age; moving only that is enough.
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + seconds)


def test_reset_link_still_works_just_before_the_hour_is_up(client, reset_link, monkeypatch):
    pretend_time_passed(monkeypatch, 59 * 60)

    page = client.get(reset_link)

    assert page.status_code == 200
    assert "设置新密码" in text_of(page)


def test_reset_link_expires_after_one_hour(app, client, reset_link, monkeypatch):
    """The email promises one hour; after that the link is refused with a message saying so."""
    pretend_time_passed(monkeypatch, 3601)

    page = client.get(reset_link, follow_redirects=True)
    attempt = set_new_password(client, reset_link)

    assert page.request.path == "/account/reset"
    assert LINK_REFUSED in text_of(page)
    assert attempt.headers["Location"] == "/account/reset"
    assert can_log_in(app, PASSWORD)
    assert not can_log_in(app, NEW_PASSWORD)


def _change_character(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1:]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token: _change_character(token, 3), id="payload-changed"),
        pytest.param(lambda token: _change_character(token, token.rindex(".") + 3), id="signature-changed"),
        pytest.param(
            lambda token: URLSafeTimedSerializer("guessed-secret", salt="password-reset").dumps({"uid": 1, "pw": "x"}),
            id="signed-with-another-key",
        ),
        pytest.param(lambda token: "not-a-token", id="garbage"),
    ],
)
def test_tampered_reset_link_is_refused(app, client, reset_link, tamper):
    """Nobody can make a working link by editing or forging one."""
    prefix, token = reset_link.rsplit("/", 1)
    forged_link = f"{prefix}/{tamper(token)}"

    page = client.get(forged_link, follow_redirects=True)
    attempt = set_new_password(client, forged_link)

    assert page.request.path == "/account/reset"
    assert LINK_REFUSED in text_of(page)
    assert attempt.status_code == 302
    assert attempt.headers["Location"] == "/account/reset"
    assert can_log_in(app, PASSWORD)
    assert not can_log_in(app, NEW_PASSWORD)


def test_reset_request_gives_the_same_answer_for_unknown_email_and_sends_nothing(app, student, smtp_server):
    """The reset form must not reveal who is registered, and strangers' addresses get no mail."""
    known = request_reset(app.test_client(), "student@example.com", follow_redirects=True)
    unknown = request_reset(app.test_client(), "nobody@example.com", follow_redirects=True)

    assert known.status_code == unknown.status_code == 200
    assert "如果该邮箱已注册，重置链接已发送，请在 1 小时内查收并使用。" in text_of(unknown)
    assert without_csrf_tokens(text_of(known)) == without_csrf_tokens(text_of(unknown))

    app.test_cli_runner().invoke(args=["outbox", "send"])

    assert [email["To"] for email in smtp_server.messages] == ["student@example.com"]


def test_reset_request_for_a_deactivated_account_sends_nothing(app, client, student):
    set_active(app, student, False)

    response = request_reset(client, "student@example.com")

    assert response.status_code == 302
    assert outbox_messages(app) == []


def test_password_reset_logs_out_sessions_using_the_old_password(client, student_client, reset_link):
    """Resetting a password after losing a phone must shut out whoever has that phone."""
    assert is_logged_in(student_client)

    set_new_password(client, reset_link)

    assert not is_logged_in(student_client)


def test_reset_request_with_malformed_email_shows_a_message(client):
    response = request_reset(client, "not-an-email")

    assert response.status_code == 200
    assert field_errors(response) == ["邮箱格式不正确，例如 name@example.com"]
