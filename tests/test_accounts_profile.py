"""A logged-in student keeps their details and password up to date."""
from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD
from tests.helpers import field_errors, find_user, get_user, is_logged_in, login, outbox_messages, submit_form, text_of

NEW_PASSWORD = "new-secret-pass-2"


def edit_profile(client, **data):
    return submit_form(client, "/account/profile", data)


def change_password(client, current: str, new: str, confirm: str | None = None):
    data = {"current_password": current, "password": new, "confirm": new if confirm is None else confirm}
    return submit_form(client, "/account/password", data)


def can_log_in(app, login_as: str, password: str) -> bool:
    return login(app.test_client(), login_as, password).status_code == 302


# --- profile ---------------------------------------------------------------------------------

def test_profile_page_shows_the_current_details(student_client):
    page = text_of(student_client.get("/account/profile"))

    assert 'value="张喆"' in page
    assert 'value="13800000003"' in page
    assert 'value="student@example.com"' in page


def test_profile_edit_saves_name_phone_and_email(app, student, student_client):
    """The name goes on certificates and the phone is used at check-in, so edits must be saved as typed."""
    response = edit_profile(
        student_client, name="买买提·艾力", phone="+86 139-0000-0000", email="New.Address@Example.com",
        current_password=PASSWORD,
    )

    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/account/profile"
    user = get_user(app, student)
    assert (user.name, user.phone, user.email) == ("买买提·艾力", "13900000000", "new.address@example.com")
    assert "资料已保存" in text_of(student_client.get("/account/profile"))
    assert can_log_in(app, "new.address@example.com", PASSWORD)
    assert can_log_in(app, "13900000000", PASSWORD)
    assert not can_log_in(app, "student@example.com", PASSWORD)


def test_profile_edit_keeping_own_email_and_phone_is_not_a_duplicate(app, student, student_client):
    """Changing only the name must not trip over the student's own email and phone."""
    response = edit_profile(student_client, name="张堃", phone="13800000003", email="Student@Example.com")

    assert response.status_code == 302, field_errors(response)
    assert get_user(app, student).name == "张堃"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"email": "Staff@Example.com"}, "该邮箱已注册，请直接登录或找回密码", id="email-of-other-account"),
        pytest.param({"phone": "138-0000-0002"}, "该手机号已被其他账号使用", id="phone-of-another-account"),
        pytest.param({"phone": "1380000000"}, "请输入 11 位中国大陆手机号，例如 13800138000", id="phone-10-digits"),
        pytest.param({"name": "张三3"}, "姓名只能包含文字和间隔号「·」，请检查是否有数字或符号", id="name-with-digit"),
        pytest.param({"email": "student.example.com"}, "邮箱格式不正确，例如 name@example.com", id="bad-email"),
    ],
)
def test_profile_edit_with_bad_or_taken_details_is_refused(app, student, staff, student_client, changes, message):
    """Another account's email or phone cannot be taken over; nothing about the student changes."""
    data = {"name": "张喆", "phone": "13800000003", "email": "student@example.com", "current_password": PASSWORD,
            **changes}

    response = edit_profile(student_client, **data)

    assert response.status_code == 200
    assert message in field_errors(response)
    user = get_user(app, student)
    assert (user.name, user.phone, user.email) == ("张喆", "13800000003", "student@example.com")
    assert find_user(app, "staff@example.com").id == staff


# --- a new email or phone needs the password, and the old address is told ------------------

CURRENT = {"name": "张喆", "phone": "13800000003", "email": "student@example.com"}
_LINK_RE = re.compile(r"https?://\S+")


@pytest.mark.parametrize("change", [{"email": "thief@example.com"}, {"phone": "13912345678"}], ids=["email", "phone"])
@pytest.mark.parametrize(
    ("password", "status", "message"),
    [
        pytest.param("", 200, "修改邮箱或手机号需要验证当前密码，请填写当前密码", id="no-password"),
        pytest.param("not-my-password", 200, "当前密码不正确", id="wrong-password"),
        # Refused by every form before the password is even compared (app/common/forms.py).
        pytest.param("\x00" + PASSWORD, 400, "控制字符", id="nul-byte"),
    ],
)
def test_changing_email_or_phone_without_the_right_password_is_refused(app, student, student_client, change,
                                                                       password, status, message):
    """Whoever has the session (a borrowed phone, a copied cookie) cannot move the account away."""
    response = edit_profile(student_client, **{**CURRENT, "name": "张𠮷", **change, "current_password": password})

    assert response.status_code == status
    assert any(message in error for error in field_errors(response))
    user = get_user(app, student)
    assert (user.name, user.phone, user.email) == ("张喆", "13800000003", "student@example.com")
    assert outbox_messages(app) == []


def test_changing_only_the_name_needs_no_password_and_sends_no_email(app, student, student_client):
    response = edit_profile(student_client, **{**CURRENT, "name": "张䶮"})

    assert response.status_code == 302, field_errors(response)
    assert get_user(app, student).name == "张䶮"
    assert outbox_messages(app) == []


def _reset_link_works(app, email_text: str) -> bool:
    [link] = [url for url in _LINK_RE.findall(email_text) if "/account/reset/" in url]
    path = link.split("://", 1)[1].split("/", 1)[1]
    return app.test_client().get("/" + path).status_code == 200


def test_a_new_email_with_the_right_password_is_saved_and_the_old_address_told(app, student, student_client):
    response = edit_profile(student_client, **{**CURRENT, "email": "Zhe.New@Example.com", "current_password": PASSWORD})

    assert response.status_code == 302, field_errors(response)
    assert get_user(app, student).email == "zhe.new@example.com"
    [email] = outbox_messages(app)
    assert email.to_address == "student@example.com"  # the old address, not the new one
    assert email.subject == "您的账号邮箱或手机号已修改"
    assert "student@example.com → zhe.new@example.com" in email.body_text
    assert "如果不是您本人的操作" in email.body_text and "\n手机号：" not in email.body_text
    # The link sets a new password without the new address (which may be a thief's).
    assert _reset_link_works(app, email.body_text)


def test_a_new_phone_with_the_right_password_is_saved_and_the_email_address_told(app, student, student_client):
    response = edit_profile(student_client, **{**CURRENT, "phone": "139 1234 5678", "current_password": PASSWORD})

    assert response.status_code == 302, field_errors(response)
    assert get_user(app, student).phone == "13912345678"
    [email] = outbox_messages(app)
    assert email.to_address == "student@example.com"
    assert "手机号：13800000003 → 13912345678" in email.body_text and "\n登录邮箱：" not in email.body_text
    assert _reset_link_works(app, email.body_text)


def test_a_contact_change_is_in_the_account_history(app, student, admin_client):
    changer = app.test_client()
    login(changer, "student@example.com", PASSWORD)
    edit_profile(changer, **{**CURRENT, "email": "new@example.com", "current_password": PASSWORD})

    page = text_of(admin_client.get(f"/admin/users/{student}"))

    assert "修改邮箱或手机号" in page
    assert "student@example.com · 13800000003" in page and "new@example.com · 13800000003" in page


def test_profile_saves_are_rate_limited_per_address(app, student, student_client, monkeypatch):
    """The password a contact change asks for cannot be guessed here faster than at the login form."""
    monkeypatch.setitem(app.config, "RATELIMIT_PROFILE", "3 per minute")
    for attempt in range(3):
        response = edit_profile(student_client, **{**CURRENT, "email": "x@example.com",
                                                   "current_password": f"guess-{attempt}"})
        assert response.status_code == 200

    response = edit_profile(student_client, **{**CURRENT, "email": "x@example.com", "current_password": PASSWORD})

    assert response.status_code == 429
    assert get_user(app, student).email == "student@example.com"
    assert student_client.get("/account/profile").status_code == 200  # reading the page is not limited


def test_booking_fills_in_a_missing_phone_but_never_replaces_one(app, ctx, student):
    from app.accounts import service
    from app.accounts.models import User
    from app.extensions import db

    user = db.session.get(User, student)
    service.complete_profile(user, phone="13912345678")

    assert get_user(app, student).phone == "13800000003"


def test_profile_needs_login(client):
    response = client.get("/account/profile")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


# --- password change -------------------------------------------------------------------------

def test_password_change_with_wrong_current_password_is_refused(app, student, student_client):
    """Someone at an unlocked computer must not be able to change the password."""
    response = change_password(student_client, "not-my-password", NEW_PASSWORD)

    assert response.status_code == 200
    assert field_errors(response) == ["当前密码不正确"]
    assert can_log_in(app, "student@example.com", PASSWORD)
    assert not can_log_in(app, "student@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        pytest.param("short1", "short1", "密码长度应为 8–128 位", id="too-short"),
        pytest.param(NEW_PASSWORD, "something-else-1", "两次输入的密码不一致", id="confirmation-differs"),
    ],
)
def test_password_change_with_bad_new_password_is_refused(app, student, student_client, new, confirm, message):
    response = change_password(student_client, PASSWORD, new, confirm)

    assert response.status_code == 200
    assert message in field_errors(response)
    assert can_log_in(app, "student@example.com", PASSWORD)


def test_after_password_change_the_new_password_works_and_the_old_does_not(app, student, student_client):
    response = change_password(student_client, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302, field_errors(response)
    assert response.headers["Location"] == "/account/profile"
    assert "密码已修改，其他设备上的登录已失效" in text_of(student_client.get("/account/profile"))
    assert can_log_in(app, "student@example.com", NEW_PASSWORD)
    assert not can_log_in(app, "student@example.com", PASSWORD)


def test_password_change_logs_out_other_devices_but_not_this_one(app, student):
    """After a suspected leak, changing the password must shut out whoever else is logged in."""
    this_browser = app.test_client()
    login(this_browser, "student@example.com", PASSWORD)
    other_phone = app.test_client()
    login(other_phone, "student@example.com", PASSWORD)
    remembered_laptop = app.test_client()
    login(remembered_laptop, "student@example.com", PASSWORD, remember=True)

    change_password(this_browser, PASSWORD, NEW_PASSWORD)

    assert is_logged_in(this_browser)
    assert not is_logged_in(other_phone)
    assert not is_logged_in(remembered_laptop)
    remembered_laptop.delete_cookie("session")
    assert not is_logged_in(remembered_laptop)  # its remember-me cookie no longer works either


def test_password_change_keeps_remember_me_on_the_changing_browser(app, student):
    """A student who ticked "remember me" and changes the password stays remembered on that browser."""
    browser = app.test_client()
    login(browser, "student@example.com", PASSWORD, remember=True)

    change_password(browser, PASSWORD, NEW_PASSWORD)
    browser.delete_cookie("session")  # the browser is closed and opened again

    assert is_logged_in(browser)
