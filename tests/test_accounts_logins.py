"""Logging out ends that login on the server: cookies copied before logout no longer open the account.

Flask's session cookie and the 记住我 cookie live in the browser. Someone who copied them (a shared
computer, a phone backup, a proxy log) must be refused once the person has logged out, has changed
their password elsewhere, or was deactivated, while the person's other devices stay as they were.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import LoginSession
from app.extensions import db
from tests.factories import PASSWORD
from tests.helpers import is_logged_in, login, logout, submit_form, text_of

COOKIES = ("session", "remember_token")


def saved_cookies(client) -> dict[str, str]:
    """The browser's cookies as someone copying them would take them."""
    return {name: cookie.value for name in COOKIES if (cookie := client.get_cookie(name)) is not None}


def browser_with(app, cookies: dict[str, str]):
    """Another browser carrying these cookies."""
    replay = app.test_client()
    for name, value in cookies.items():
        replay.set_cookie(name, value)
    return replay


def open_logins(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LoginSession)
                                 .where(LoginSession.user_id == user_id))


def test_a_session_cookie_copied_before_logout_is_refused_afterwards(app, client, student):
    login(client, "student@example.com", PASSWORD)
    copied = saved_cookies(client)
    assert set(copied) == {"session"} and is_logged_in(browser_with(app, copied))

    logout(client)

    # The same browser with its old cookie put back, and another browser with the copy.
    for name, value in copied.items():
        client.set_cookie(name, value)
    response = client.get("/account/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/login")
    assert not is_logged_in(browser_with(app, copied))


def test_a_remember_me_cookie_copied_before_logout_is_refused_afterwards(app, client, student):
    login(client, "student@example.com", PASSWORD, remember=True)
    remembered = {"remember_token": saved_cookies(client)["remember_token"]}
    assert is_logged_in(browser_with(app, remembered))  # it works alone, as after closing the browser

    logout(client)

    assert not is_logged_in(browser_with(app, remembered))
    assert not is_logged_in(browser_with(app, {**saved_cookies(client), **remembered}))


def test_logging_out_on_one_phone_keeps_the_other_phone_logged_in(app, student):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "13800000003", PASSWORD, remember=True, headers={"User-Agent": "MicroMessenger/8.0 iPhone"})
    login(laptop, "student@example.com", PASSWORD)
    assert open_logins(app, student) == 2

    logout(phone)

    assert not is_logged_in(phone) and is_logged_in(laptop)
    assert open_logins(app, student) == 1


def test_changing_the_password_ends_the_other_logins_but_not_this_one(app, student):
    here, elsewhere, remembered = app.test_client(), app.test_client(), app.test_client()
    login(here, "student@example.com", PASSWORD, remember=True)
    login(elsewhere, "student@example.com", PASSWORD)
    login(remembered, "student@example.com", PASSWORD, remember=True)
    remember_only = {"remember_token": saved_cookies(remembered)["remember_token"]}
    here_remember_only = {"remember_token": saved_cookies(here)["remember_token"]}

    response = submit_form(here, "/account/password", {"current_password": PASSWORD,
                                                       "password": "new-secret-pass-2", "confirm": "new-secret-pass-2"})

    assert response.status_code == 302
    assert "其他设备上的登录已失效" in text_of(here.get("/account/profile"))
    assert not is_logged_in(elsewhere) and not is_logged_in(remembered)
    assert not is_logged_in(browser_with(app, remember_only))
    # This browser's 记住我 cookie still works after it is closed and opened again.
    assert is_logged_in(browser_with(app, here_remember_only))


def test_a_password_reset_ends_every_login(app, client, student):
    from app.accounts import service
    from app.accounts.models import User

    login(client, "student@example.com", PASSWORD, remember=True)
    with app.test_request_context():
        token = service.make_reset_token(db.session.get(User, student))
    submit_form(app.test_client(), f"/account/reset/{token}", {"password": "new-secret-pass-2",
                                                                 "confirm": "new-secret-pass-2"})

    assert not is_logged_in(client)
    assert open_logins(app, student) == 0


def test_a_login_ends_after_the_remember_me_lifetime_even_if_its_cookies_are_kept(app, client, student,
                                                                                    monkeypatch):
    login(client, "student@example.com", PASSWORD, remember=True)
    assert is_logged_in(client)
    lifetime = app.config["REMEMBER_COOKIE_DURATION"]
    lifetime = lifetime.total_seconds() if isinstance(lifetime, timedelta) else lifetime
    with app.app_context():
        row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == student))
        row.created_at -= timedelta(seconds=lifetime + 60)
        db.session.commit()

    assert not is_logged_in(client)


def test_cookies_of_the_old_kind_and_made_up_tokens_log_nobody_in(app, student):
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        forged = [encode_cookie(f"{student}:1"), encode_cookie(str(student)), encode_cookie("x" * 3000),
                  encode_cookie("\x00")]
    for value in forged:  # signed with the right key, but naming no login
        assert not is_logged_in(browser_with(app, {"remember_token": value}))


def test_the_table_keeps_no_token_a_copy_of_it_could_log_in_with(app, client, student):
    login(client, "student@example.com", PASSWORD, remember=True, headers={"User-Agent": "Mozilla/5.0 𠮷\x00"})
    with app.app_context():
        row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == student))
        stored_id, agent = row.id, row.user_agent
    assert agent == "Mozilla/5.0 𠮷"
    # The row's id is a hash: used as a cookie value it names no login.
    with app.test_request_context():
        from flask_login.utils import encode_cookie

        assert not is_logged_in(browser_with(app, {"remember_token": encode_cookie(stored_id)}))
