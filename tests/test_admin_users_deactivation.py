"""Deactivating and reactivating accounts from the admin user pages: the person cannot log in, every
session they had (cookie, remember-me, API token) ends at once, and nobody can leave the site
without an active admin, not even two admins demoting each other at the same moment."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from app.accounts import service as accounts
from app.accounts.errors import AdminRequired, LastActiveAdmin
from app.accounts.models import Role, User
from app.extensions import db
from tests.factories import PASSWORD, make_user
from tests.helpers import API, assert_error, bearer, field_errors, is_logged_in, login, text_of, token_for
from tests.test_accounts_concurrency import wait_until_someone_waits_for_a_lock
from tests.test_admin_users import USERS, account, account_entries, act

DISABLED = "该账号已停用。如有疑问，请联系工作人员"
BAD_CREDENTIALS = "账号或密码不正确"


def deactivate(client, user_id: int, reason: str = "学员申请注销", **kwargs):
    return act(client, user_id, "deactivate", {"reason": reason}, **kwargs)


@pytest.fixture
def second_admin(app):
    return make_user(app, "admin2@example.com", Role.ADMIN, "赵管理", "13800000009")


# --- deactivation ends everything at once -----------------------------------------------------

def test_deactivation_logs_the_person_out_everywhere_at_once(app, admin_client, admin, student):
    browser = app.test_client()
    login(browser, "student@example.com", PASSWORD)
    remembered = app.test_client()
    login(remembered, "13800000003", PASSWORD, remember=True)
    token = token_for(app.test_client(), "student@example.com")
    assert is_logged_in(browser) and is_logged_in(remembered)
    assert app.test_client().get(f"{API}/me", headers=bearer(token)).status_code == 200

    response = deactivate(admin_client, student, follow_redirects=True)

    assert "已停用 张喆 的账号，其所有登录（网页和小程序）已失效" in text_of(response)
    assert account(app, student) == (Role.STUDENT, False, 2)
    assert not is_logged_in(browser)  # the very next request
    remembered.delete_cookie("session")  # a browser reopened later, with only its remember-me cookie
    assert not is_logged_in(remembered)
    assert_error(app.test_client().get(f"{API}/me", headers=bearer(token)), 401, "invalid_token")
    assert account_entries(app) == [(
        "account.deactivate", admin,
        {"user_id": student, "email": "student@example.com", "role": "student", "active": True},
        {"user_id": student, "email": "student@example.com", "role": "student", "active": False},
        "学员申请注销",
    )]


def test_a_deactivated_account_is_told_so_only_with_the_right_password(app, admin_client, student):
    deactivate(admin_client, student)

    right = login(app.test_client(), "student@example.com", PASSWORD)
    wrong = login(app.test_client(), "student@example.com", "not-the-password")

    assert right.status_code == 200 and DISABLED in text_of(right)
    # A wrong password gets the answer any wrong password gets: no hint that the account exists or is blocked.
    assert wrong.status_code == 200 and field_errors(wrong) == [BAD_CREDENTIALS]
    assert "停用" not in text_of(wrong)
    api = app.test_client().post(f"{API}/auth/token", json={"login": "13800000003", "password": PASSWORD})
    assert_error(api, 403, "account_disabled")
    assert_error(app.test_client().post(f"{API}/auth/token", json={"login": "13800000003", "password": "nope-nope"}),
                 401, "invalid_credentials")


def test_reactivation_lets_the_person_log_in_again_but_old_sessions_stay_ended(app, admin_client, admin, student):
    remembered = app.test_client()
    login(remembered, "student@example.com", PASSWORD, remember=True)
    token = token_for(app.test_client(), "student@example.com")
    deactivate(admin_client, student)

    response = act(admin_client, student, "reactivate", follow_redirects=True)

    assert "已重新启用 张喆 的账号，对方需要重新登录" in text_of(response)
    assert account(app, student) == (Role.STUDENT, True, 2)
    assert not is_logged_in(remembered)
    assert_error(app.test_client().get(f"{API}/me", headers=bearer(token)), 401, "invalid_token")
    fresh = app.test_client()
    assert login(fresh, "student@example.com", PASSWORD).status_code == 302 and is_logged_in(fresh)
    assert [entry[0] for entry in account_entries(app)] == ["account.deactivate", "account.reactivate"]
    history = text_of(admin_client.get(f"{USERS}{student}"))
    assert "重新启用账号" in history and "已停用 → 启用" in history and "原因：学员申请注销" in history


def test_the_users_page_and_the_list_show_a_deactivated_account_and_why(admin_client, student):
    deactivate(admin_client, student, "账号被盗用")

    page = text_of(admin_client.get(f"{USERS}{student}"))
    listed = text_of(admin_client.get(USERS, query_string={"status": "inactive"}))

    assert "已停用" in page and "（账号被盗用）" in page and "重新启用" in page
    assert f"{USERS}{student}/deactivate" not in page
    assert "张喆" in listed and "已停用" in listed


# --- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "message"), [
    ("", "请填写停用原因（会记入操作记录）"),
    ("   ", "请填写停用原因（会记入操作记录）"),
    ("长" * 201, "停用原因最多 200 字"),
])
def test_a_reason_is_required_and_what_was_typed_stays(app, admin_client, student, reason, message):
    response = deactivate(admin_client, student, reason)

    assert response.status_code == 200
    assert field_errors(response) == [message]
    if reason.strip():
        assert reason in text_of(response)
    assert account(app, student) == (Role.STUDENT, True, 1)
    assert account_entries(app) == []


def test_an_admin_cannot_deactivate_themselves(app, admin_client, admin, second_admin):
    response = deactivate(admin_client, admin, "试一下")

    assert response.status_code == 200
    assert "不能停用自己的账号，请让另一位管理员操作" in text_of(response)
    assert account(app, admin) == (Role.ADMIN, True, 1)
    assert admin_client.get(USERS).status_code == 200


def test_deactivating_twice_says_it_is_already_done(app, admin_client, student):
    deactivate(admin_client, student)

    response = deactivate(admin_client, student, "又一次")

    assert "该账号已经是停用状态" in text_of(response)
    assert account(app, student) == (Role.STUDENT, False, 2)  # sessions were not ended a second time
    assert len(account_entries(app)) == 1


def test_reactivating_an_active_account_says_it_is_already_active(app, admin_client, student):
    response = act(admin_client, student, "reactivate")

    assert response.status_code == 200
    assert "该账号已经是启用状态" in text_of(response)
    assert account_entries(app) == []


def test_another_admin_can_deactivate_an_admin_whose_sessions_then_end(app, admin_client, second_admin):
    other = app.test_client()
    login(other, "admin2@example.com", PASSWORD)

    deactivate(admin_client, second_admin, "离职")

    assert account(app, second_admin) == (Role.ADMIN, False, 2)
    assert other.get(USERS).status_code == 302  # logged out: back to the login page


# --- the last active admin --------------------------------------------------------------------

def test_the_only_admin_can_neither_demote_nor_deactivate_themselves(app, admin_client, admin):
    demote = act(admin_client, admin, "role", {"role": "staff"})
    block = deactivate(admin_client, admin)

    for response in (demote, block):
        assert response.status_code == 200
        assert "这是最后一位启用中的管理员，不能降级或停用；请先把另一个账号设为管理员" in text_of(response)
    assert account(app, admin) == (Role.ADMIN, True, 1)


def test_a_deactivated_admin_does_not_count_as_someone_left_in_charge(app, ctx, admin, second_admin):
    """With the other admin blocked, the remaining one is the last, whoever asks (the service rule)."""
    accounts.deactivate_user(second_admin, db.session.get(User, admin), "离职")

    with pytest.raises(LastActiveAdmin):
        accounts.change_role(admin, Role.STUDENT, db.session.get(User, admin))
    with pytest.raises(LastActiveAdmin):
        accounts.deactivate_user(admin, db.session.get(User, admin), "误操作")
    # A blocked admin acts on nobody.
    with pytest.raises(AdminRequired):
        accounts.reactivate_user(second_admin, db.session.get(User, second_admin))
    assert db.session.get(User, admin).role is Role.ADMIN and db.session.get(User, admin).is_active


@pytest.mark.parametrize("action", ["demote", "deactivate"])
def test_two_admins_removing_each_other_at_once_leave_one_in_charge(app, admin, second_admin, action):
    """Admin 王 demotes (or deactivates) 赵 in an open transaction; meanwhile 赵, whose page is still open,
    does the same to 王. 赵's request waits for 王's transaction, then finds 赵 is no longer an admin."""
    with app.app_context():
        engine = db.engine
        column = {"role": "staff"} if action == "demote" else {"is_active": False}

    def remove_first_admin():
        with app.app_context():
            actor = db.session.get(User, second_admin)
            try:
                if action == "demote":
                    accounts.change_role(admin, Role.STAFF, actor)
                else:
                    accounts.deactivate_user(admin, actor, "抢先")
            except (AdminRequired, LastActiveAdmin) as error:
                return error
            finally:
                db.session.remove()
            return None

    with engine.connect() as first, ThreadPoolExecutor(max_workers=1) as pool:
        first.execute(update(User).where(User.id == second_admin).values(**column))
        pending = pool.submit(remove_first_admin)
        wait_until_someone_waits_for_a_lock(engine)
        first.commit()
        refusal = pending.result(timeout=60)

    assert isinstance(refusal, AdminRequired)
    role, active, _version = account(app, admin)
    assert (role, active) == (Role.ADMIN, True)
