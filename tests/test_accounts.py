"""Signing up, logging in and out: what a visitor does before anything else on the site."""
from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from app.accounts import logins
from app.accounts import service as accounts
from app.accounts.models import Role
from tests.factories import PASSWORD
from tests.helpers import (
    VALID_SIGNUP,
    field_errors,
    find_user,
    is_logged_in,
    login,
    logout,
    set_active,
    signup,
    submit_form,
    text_of,
    user_count,
)

PHONE_ERROR = "请输入 11 位中国大陆手机号，例如 13800138000"
NAME_LENGTH_ERROR = "姓名长度应为 2–30 个字"
PASSWORD_LENGTH_ERROR = "密码长度应为 8–128 位"
EMAIL_TAKEN = "该邮箱已注册，请直接登录或找回密码"
PHONE_TAKEN = "该手机号已被其他账号使用"
BAD_CREDENTIALS = "账号或密码不正确"


# --- sign-up ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["张喆", "王堃", "陈𠮷", "买买提·艾力"])
def test_signup_keeps_rare_characters_and_transliterated_names(app, client, name):
    """The name goes on the certificate: rare characters and the middle dot must be stored as typed."""
    response = signup(client, name=name)

    assert response.status_code == 302, field_errors(response)
    assert find_user(app, VALID_SIGNUP["email"]).name == name
    assert f"{name}，欢迎回来" in text_of(client.get("/"))  # signed up and logged in


def test_signup_stores_phone_as_eleven_digits_and_email_in_lower_case(app, client):
    """People type numbers with +86, spaces and dashes and emails in any case; all must find the same account."""
    response = signup(client, phone="+86 138-0013-8000", email="Wang.Zhe@Example.COM")

    assert response.status_code == 302, field_errors(response)
    user = find_user(app, "wang.zhe@example.com")
    assert user is not None
    assert user.phone == "13800138000"
    assert user.role is Role.STUDENT
    assert "注册成功，欢迎加入！" in text_of(client.get("/"))


def test_signup_follows_next_back_to_the_page_the_visitor_came_from(client):
    """A visitor sent to sign up from a page lands back on it."""
    response = submit_form(client, "/account/signup?next=/account/profile", VALID_SIGNUP)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"name": ""}, "请填写姓名", id="empty-name"),
        pytest.param({"name": "   "}, "请填写姓名", id="blank-name"),
        pytest.param({"phone": ""}, "请填写手机号", id="empty-phone"),
        pytest.param({"email": ""}, "请填写邮箱", id="empty-email"),
        pytest.param({"password": "", "confirm": ""}, "请设置密码", id="empty-password"),
        pytest.param({"confirm": ""}, "请再次输入密码", id="empty-confirm"),
        pytest.param({"name": "张" * 31}, NAME_LENGTH_ERROR, id="name-too-long"),
        pytest.param({"name": "张"}, NAME_LENGTH_ERROR, id="name-too-short"),
        pytest.param({"email": "a" * 243 + "@example.com"}, "邮箱太长了", id="email-too-long"),
        pytest.param({"phone": "138001380001"}, PHONE_ERROR, id="phone-12-digits"),
        pytest.param({"password": "a" * 129, "confirm": "a" * 129}, PASSWORD_LENGTH_ERROR, id="password-too-long"),
        pytest.param({"email": "wangzhe.example.com"}, "邮箱格式不正确，例如 name@example.com", id="email-no-at"),
        pytest.param({"email": "wangzhe@"}, "邮箱格式不正确，例如 name@example.com", id="email-no-domain"),
        pytest.param({"phone": "1380013800"}, PHONE_ERROR, id="phone-10-digits"),
        pytest.param({"phone": "23800138000"}, PHONE_ERROR, id="phone-starts-with-2"),
        pytest.param({"phone": "1380013800a"}, PHONE_ERROR, id="phone-with-letter"),
        pytest.param({"phone": "abcdefghijk"}, PHONE_ERROR, id="phone-letters"),
        pytest.param({"name": "张三3"}, "姓名只能包含文字和间隔号「·」，请检查是否有数字或符号", id="name-with-digit"),
        pytest.param({"confirm": "abcdefgh2"}, "两次输入的密码不一致", id="passwords-differ"),
        pytest.param({"password": "abc1234", "confirm": "abc1234"}, PASSWORD_LENGTH_ERROR, id="password-7-chars"),
    ],
)
def test_signup_with_bad_input_shows_the_problem_and_creates_no_account(app, client, changes, message):
    """Bad input re-shows the form with a message saying what to fix; nothing is saved."""
    response = signup(client, **changes)

    assert response.status_code == 200
    assert message in field_errors(response)
    assert user_count(app) == 0
    assert not is_logged_in(client)


@pytest.mark.parametrize("email", ["student@example.com", "Student@Example.COM"])
def test_signup_refuses_an_email_that_is_already_registered(app, client, student, email):
    """One account per address, whatever its case; the visitor is pointed to login or reset."""
    response = signup(client, email=email)

    assert response.status_code == 200
    assert EMAIL_TAKEN in field_errors(response)
    assert user_count(app) == 1


@pytest.mark.parametrize("phone", ["13800000003", "+86 138 0000 0003"])
def test_signup_refuses_a_phone_number_already_in_use(app, client, student, phone):
    """Staff call and check in people by phone, so a number belongs to one account."""
    response = signup(client, phone=phone)

    assert response.status_code == 200
    assert PHONE_TAKEN in field_errors(response)
    assert user_count(app) == 1


def test_signup_is_the_account_and_its_first_login_together(app, client, monkeypatch):
    """Had the login not been written (the database failing at that moment), no account is left
    that its owner was never logged in to and could not sign up for again with the same email."""
    def login_row_refused(user, user_agent=""):
        raise OperationalError("INSERT INTO login_sessions", {}, Exception("disk I/O error"))

    with monkeypatch.context() as patch:
        patch.setattr(logins, "add_login", login_row_refused)
        with app.test_request_context(), pytest.raises(OperationalError):
            accounts.sign_up("wangzhe@example.com", "abcdefgh1", "王喆", "13912345678", "Mozilla/5.0")
    assert find_user(app, "wangzhe@example.com") is None

    response = signup(client)  # the same person, a moment later

    assert response.status_code == 302 and is_logged_in(client)
    user = find_user(app, "wangzhe@example.com")
    assert user.last_login_at is not None and user.phone == "13912345678"


# --- logging in ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "login_as",
    [
        "student@example.com",
        " Student@Example.COM ",
        "13800000003",
        "138 0000 0003",
        "+86 138-0000-0003",
        "１３８０００００００３",  # full-width digits from a Chinese input method
    ],
)
def test_login_by_email_or_phone_in_any_spelling(client, student, login_as):
    """Students log in with whatever they remember, typed however their keyboard types it."""
    response = login(client, login_as, PASSWORD)

    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)


def test_wrong_password_and_unknown_account_get_the_same_answer(app, student):
    """The login form must not reveal who is registered."""
    wrong_password = login(app.test_client(), "student@example.com", "not-the-password")
    unknown_email = login(app.test_client(), "nobody@example.com", "not-the-password")
    unknown_phone = login(app.test_client(), "13900000000", "not-the-password")

    for response in (wrong_password, unknown_email, unknown_phone):
        assert response.status_code == 200
        assert field_errors(response) == [BAD_CREDENTIALS]


def test_deactivated_account_cannot_log_in(app, client, student):
    """An account blocked by staff stays blocked, with a message saying whom to ask."""
    set_active(app, student, False)

    response = login(client, "student@example.com", PASSWORD)

    assert response.status_code == 200
    assert "该账号已停用。如有疑问，请联系工作人员" in text_of(response)
    assert not is_logged_in(client)


def test_deactivating_an_account_ends_its_open_sessions(app, student, student_client):
    """Blocking an account takes effect at once, not when the person next logs in."""
    set_active(app, student, False)

    assert not is_logged_in(student_client)


def test_logout_ends_the_session(student_client):
    response = logout(student_client)

    assert response.status_code == 302
    assert not is_logged_in(student_client)


def test_logout_by_get_is_refused_so_links_elsewhere_cannot_log_people_out(student_client):
    response = student_client.get("/account/logout")

    assert response.status_code == 405
    assert "请求方式不支持" in text_of(response)
    assert is_logged_in(student_client)


def test_logout_without_csrf_token_is_refused(student_client):
    response = student_client.post("/account/logout")

    assert response.status_code == 400
    assert "页面已过期或表单校验失败，请刷新页面后重新提交。" in text_of(response)
    assert is_logged_in(student_client)


def test_remember_me_keeps_you_logged_in_after_the_browser_is_closed(client, student):
    login(client, "student@example.com", PASSWORD, remember=True)
    assert client.get_cookie("remember_token") is not None

    client.delete_cookie("session")  # what closing the browser does to the session cookie

    assert is_logged_in(client)


def test_without_remember_me_closing_the_browser_logs_you_out(client, student):
    login(client, "student@example.com", PASSWORD)
    assert client.get_cookie("session") is not None
    assert client.get_cookie("remember_token") is None

    client.delete_cookie("session")

    assert not is_logged_in(client)


def test_logout_also_forgets_remember_me(client, student):
    """On a shared computer, logging out must not leave the account open to the next person."""
    login(client, "student@example.com", PASSWORD, remember=True)
    logout(client)

    client.delete_cookie("session")

    assert not is_logged_in(client)


def test_login_from_a_protected_page_returns_to_it(client, student):
    """A student who opens their profile while logged out lands back on it after logging in."""
    to_login = client.get("/account/profile")
    assert to_login.status_code == 302
    login_url = to_login.headers["Location"]
    assert login_url.startswith("/account/login?next=")

    response = submit_form(client, login_url, {"login": "student@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/profile"


def host_a_browser_goes_to(location: str) -> str | None:
    """Resolve a Location header the way browsers do (WHATWG URL rules): tabs and newlines are
    dropped and a backslash counts as a slash, so "/\\evil.example.com" means "//evil.example.com"."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/account/login", cleaned)).hostname


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/login",
        "//evil.example.com/login",
        "/\\evil.example.com/login",  # browsers read a backslash as a slash: //evil.example.com
        "/\t/evil.example.com/login",  # browsers drop tabs from URLs: //evil.example.com
        "javascript:alert(1)",
    ],
)
def test_login_ignores_next_pointing_to_another_site(client, student, target):
    """A crafted login link must not send students to a look-alike site after they log in."""
    response = submit_form(
        client, "/account/login?" + urlencode({"next": target}), {"login": "student@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert host_a_browser_goes_to(response.headers["Location"]) == "localhost"
