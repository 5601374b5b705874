"""Operator commands: the first admin, staff accounts, role changes and the demo data."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.booking.models import Registration
from app.common.time import utcnow
from app.extensions import db
from tests.helpers import find_user, is_logged_in, login, user_count

PHONE_ERROR = "请输入 11 位中国大陆手机号，例如 13800138000"


def run(app, *args: str, **kwargs):
    """Run `flask <args>` against `app`.

    The real `flask` command (FlaskGroup) pushes an app context for every command. The test runner
    alone does so only for commands declared through app.cli or an AppGroup, not for those added
    with add_command (create-admin, seed-demo), so it is pushed here as `flask` would.
    """
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), **kwargs)


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_create_admin_makes_an_admin_who_can_log_in(app, client):
    """On a fresh install this is how the first administrator gets in."""
    result = run(
        app, "create-admin",
        "--email", "Boss@Example.com", "--password", "admin-pass-1", "--name", "王老板", "--phone", "+86 139 0000 0001",
    )

    assert result.exit_code == 0, result.output
    admin = find_user(app, "boss@example.com")
    assert (admin.role, admin.name, admin.phone) == (Role.ADMIN, "王老板", "13900000001")
    assert login(client, "13900000001", "admin-pass-1").status_code == 302
    assert client.get("/admin/outbox/").status_code == 200


def test_create_admin_asks_for_what_is_missing(app):
    """Run without options, the command prompts, and asks for the password twice."""
    result = run(app, "create-admin", input="boss@example.com\nadmin-pass-1\nadmin-pass-1\n")

    assert result.exit_code == 0, result.output
    assert find_user(app, "boss@example.com").role is Role.ADMIN


def test_users_create_with_role_staff_makes_a_staff_account(app, client):
    result = run(app, "users", "create", "--email", "teacher@example.com", "--password", "staff-pass-1",
                 "--name", "李老师", "--role", "staff")

    assert result.exit_code == 0, result.output
    assert find_user(app, "teacher@example.com").role is Role.STAFF
    login(client, "teacher@example.com", "staff-pass-1")
    assert client.get("/staff/").status_code == 200
    assert client.get("/admin/outbox/").status_code == 403


def test_users_set_role_promotes_an_account_to_admin(app, student):
    result = run(app, "users", "set-role", "student@example.com", "admin")

    assert result.exit_code == 0, result.output
    assert "已将 student@example.com 的角色改为管理员" in result.output
    assert find_user(app, "student@example.com").role is Role.ADMIN


def test_users_set_role_is_in_the_accounts_history(app, admin_client, student):
    """Admins read on the account's page who changed a role and when, command line included."""
    result = run(app, "users", "set-role", "student@example.com", "staff")

    assert result.exit_code == 0, result.output
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.role"))
        assert entry.actor_id is None and "命令行" in entry.note
        assert (entry.before["role"], entry.after["role"], entry.after["user_id"]) == ("student", "staff", student)
    page = admin_client.get(f"/admin/users/{student}").get_data(as_text=True)
    assert "修改角色" in page and "命令行 users set-role" in page


def test_users_set_role_cannot_demote_the_last_active_admin(app, admin, student):
    """Demoting the only admin from a shell would lock everyone out of the admin pages."""
    result = run(app, "users", "set-role", "admin@example.com", "staff")

    assert result.exit_code != 0
    assert "这是最后一位启用中的管理员" in result.output
    assert find_user(app, "admin@example.com").role is Role.ADMIN
    assert audit_count(app) == 0

    # With a second admin the same command goes through.
    assert run(app, "users", "set-role", "student@example.com", "admin").exit_code == 0
    result = run(app, "users", "set-role", "admin@example.com", "staff")
    assert result.exit_code == 0, result.output
    assert find_user(app, "admin@example.com").role is Role.STAFF


def test_users_set_role_to_the_current_role_changes_nothing_and_succeeds(app, student):
    """A setup script run twice must not fail on its second run."""
    result = run(app, "users", "set-role", "student@example.com", "student")

    assert result.exit_code == 0, result.output
    assert "student@example.com 已经是学员，无需修改" in result.output
    assert audit_count(app) == 0


def test_users_set_role_finds_the_account_by_phone(app, student):
    result = run(app, "users", "set-role", "138 0000 0003", "staff")

    assert result.exit_code == 0, result.output
    assert find_user(app, "student@example.com").role is Role.STAFF


def test_users_set_role_for_an_unknown_account_fails_clearly(app):
    result = run(app, "users", "set-role", "nobody@example.com", "admin")

    assert result.exit_code != 0
    assert "找不到账号：nobody@example.com" in result.output


@pytest.mark.parametrize(
    ("bad_option", "message"),
    [
        pytest.param({"--phone": "1380013800"}, PHONE_ERROR, id="phone-10-digits"),
        pytest.param({"--phone": "23800138000"}, PHONE_ERROR, id="phone-starts-with-2"),
        pytest.param({"--phone": "1380013800a"}, PHONE_ERROR, id="phone-with-letter"),
        pytest.param({"--password": "short12"}, "password must have 8-128 characters", id="short-password"),
        pytest.param({"--name": "张三3"}, "姓名只能包含文字和间隔号", id="name-with-digit"),
    ],
)
@pytest.mark.parametrize("command", [["create-admin"], ["users", "create"]], ids=["create-admin", "users-create"])
def test_create_commands_refuse_what_the_signup_form_refuses(app, command, bad_option, message):
    """Operators cannot create accounts a student could not, so later forms and bookings still work."""
    options = {"--email": "teacher@example.com", "--password": "staff-pass-1", "--name": "李老师", **bad_option}

    result = run(app, *command, *[part for option in options.items() for part in option])

    assert result.exit_code != 0
    assert message in result.output
    assert user_count(app) == 0


def test_create_commands_refuse_an_email_already_registered(app, student):
    result = run(app, "users", "create", "--email", "Student@Example.com", "--password", "staff-pass-1")

    assert result.exit_code != 0
    assert "该邮箱已注册" in result.output
    assert user_count(app) == 1


def test_seed_demo_creates_the_demo_logins_and_is_safe_to_run_twice(app):
    """The demo logins work with the published password; a second run (a retried deploy script) adds nothing."""
    first = run(app, "seed-demo")

    assert first.exit_code == 0, first.output
    for email, role in [
        ("admin@example.com", Role.ADMIN),
        ("staff@example.com", Role.STAFF),
        ("student@example.com", Role.STUDENT),
    ]:
        assert find_user(app, email).role is role
        client = app.test_client()
        assert login(client, email, "demo12345").status_code == 302
        assert is_logged_in(client)
    accounts_after_first_run = user_count(app)  # the three demo logins plus the demo students
    with app.app_context():
        booked_days = {moment.date() for moment in db.session.scalars(
            select(Registration.created_at).where(Registration.created_at > utcnow() - timedelta(days=8)))}
    assert len(booked_days) >= 3, "recent demo bookings fall on several days, as the dashboard's chart shows"

    second = run(app, "seed-demo")

    assert second.exit_code == 0, second.output
    assert "0 created, 3 already there" in second.output
    assert user_count(app) == accounts_after_first_run


def test_seed_demo_refuses_with_production_settings(app):
    """Demo accounts with a published password must never appear on the live site."""
    production_app = create_app("testing", {"ENV_NAME": "production"})
    try:
        result = run(production_app, "seed-demo")
    finally:
        with production_app.app_context():
            db.engine.dispose()

    assert result.exit_code != 0
    assert "refuses to run with production settings" in result.output
    assert user_count(app) == 0

