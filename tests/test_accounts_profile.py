"""A logged-in student keeps their details and password up to date."""
from __future__ import annotations

import pytest

from tests.account_helpers import field_errors, find_user, get_user, is_logged_in, text_of
from tests.conftest import PASSWORD
from tests.helpers import login, submit_form

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
        student_client, name="买买提·艾力", phone="+86 139-0000-0000", email="New.Address@Example.com"
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
    data = {"name": "张喆", "phone": "13800000003", "email": "student@example.com", **changes}

    response = edit_profile(student_client, **data)

    assert response.status_code == 200
    assert message in field_errors(response)
    user = get_user(app, student)
    assert (user.name, user.phone, user.email) == ("张喆", "13800000003", "student@example.com")
    assert find_user(app, "staff@example.com").id == staff


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
