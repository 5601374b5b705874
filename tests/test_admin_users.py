"""Admin user management: who may open it, the search, a user's page, and changing roles.
Deactivation and the last-admin rule are in test_admin_users_deactivation.py."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.certificates.models import Certificate
from app.extensions import db
from tests.factories import PASSWORD, cohort, issue, make_session, make_user, person_of, revoke
from tests.helpers import field_errors, login, submit_form, text_of

USERS = "/admin/users/"


# --- reading the database back ----------------------------------------------------------------

def account(app, user_id: int) -> tuple[Role, bool, int]:
    """(role, is_active, session_version), as committed."""
    with app.app_context():
        user = db.session.get(User, user_id)
        found = (user.role, user.is_active, user.session_version)
        db.session.remove()
    return found


def account_entries(app) -> list[tuple[str, int | None, dict | None, dict | None, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.before, AuditEntry.after, AuditEntry.note)
            .where(AuditEntry.action.startswith("account.")).order_by(AuditEntry.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def act(client, user_id: int, action: str, data: dict | None = None, **kwargs):
    """Post one of the user page's forms, as an admin does."""
    return submit_form(client, f"{USERS}{user_id}/{action}", data or {}, form_page=f"{USERS}{user_id}", **kwargs)


_LISTED_RE = re.compile(r'<th scope="row" class="card-table-title"><a href="/admin/users/\d+">(.*?)</a>')


def names_listed(response) -> list[str]:
    """The names in the user list, in order."""
    return _LISTED_RE.findall(text_of(response))


# --- only admins ------------------------------------------------------------------------------

ACTIONS = [("role", {"role": "admin"}), ("deactivate", {"reason": "测试"}), ("reactivate", {})]


def _pages(user_id: int) -> list[str]:
    return [USERS, f"{USERS}?q=张", f"{USERS}{user_id}"]


def test_anonymous_visitors_are_sent_to_log_in_for_every_page_and_action(app, client, student):
    for url in _pages(student):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/account/login?next="), url
    for action, data in ACTIONS:
        # With a valid CSRF token, so that it is the login check, not CSRF, that turns it away.
        response = submit_form(client, f"{USERS}{student}/{action}", data, form_page="/account/login")
        assert response.status_code == 302, action
        assert response.headers["Location"].startswith("/account/login?next="), action
    assert account(app, student) == (Role.STUDENT, True, 1)


@pytest.mark.parametrize("role", ["student", "staff"])
def test_students_and_staff_get_403_on_every_page_and_action(app, request, role, admin):
    client = request.getfixturevalue(f"{role}_client")
    for url in _pages(admin):
        assert client.get(url).status_code == 403, url
    for action, data in [("role", {"role": "student"}), ("deactivate", {"reason": "夺权"}), ("reactivate", {})]:
        response = submit_form(client, f"{USERS}{admin}/{action}", data, form_page="/")
        assert response.status_code == 403, action
        assert "没有权限" in text_of(response)
    assert account(app, admin) == (Role.ADMIN, True, 1)
    assert account_entries(app) == []


def test_actions_without_a_csrf_token_are_refused(app, admin_client, student):
    response = admin_client.post(f"{USERS}{student}/role", data={"role": "admin"})

    assert response.status_code == 400
    assert account(app, student)[0] is Role.STUDENT


def test_actions_are_post_only(admin_client, student):
    for action, _data in ACTIONS:
        assert admin_client.get(f"{USERS}{student}/{action}").status_code == 405


def test_an_unknown_user_is_404(admin_client):
    assert admin_client.get(f"{USERS}9999").status_code == 404
    for action, data in ACTIONS:
        assert submit_form(admin_client, f"{USERS}9999/{action}", data, form_page=USERS).status_code == 404


# --- search -----------------------------------------------------------------------------------

@pytest.fixture
def people(app, admin):
    """A few accounts to look for (plus the admin 王管理)."""
    return {
        "张喆": make_user(app, "zhangzhe@example.com", Role.STUDENT, "张喆", "13800000033"),
        "欧阳娜娜": make_user(app, "Nana.Ouyang@Example.com", Role.STUDENT, "欧阳娜娜", "13912345678"),
        "王𠮷": make_user(app, "wangji@example.com", Role.STAFF, "王𠮷", "13700001111"),
        "Anna Müller": make_user(app, "anna@example.de", Role.STUDENT, "Anna Müller", None),
        "王管理": admin,
    }


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("娜娜", ["欧阳娜娜"]),  # part of a Chinese name
        ("王", ["王管理", "王𠮷"]),
        ("𠮷", ["王𠮷"]),  # a character outside the Basic Multilingual Plane
        ("anna", ["Anna Müller"]),  # Latin names in any case
        ("NANA.OUYANG", ["欧阳娜娜"]),  # emails in any case
        ("example.de", ["Anna Müller"]),
        ("1234", ["欧阳娜娜"]),  # part of a phone number
        ("139 1234 5678", ["欧阳娜娜"]),  # a phone as people type it
        ("+86 138-0000-0033", ["张喆"]),
        ("%", []),  # LIKE wildcards are searched for, not obeyed
        ("_", []),
        ("李", []),
    ],
)
def test_search_finds_people_by_part_of_their_name_phone_or_email(admin_client, people, q, found):
    response = admin_client.get(USERS, query_string={"q": q})

    assert response.status_code == 200
    assert sorted(names_listed(response)) == sorted(found)
    if not found:
        assert "没有符合条件的账号" in text_of(response)


def test_search_filters_by_role_and_status_and_keeps_the_query(app, admin_client, people):
    assert names_listed(admin_client.get(USERS, query_string={"role": "staff"})) == ["王𠮷"]
    assert names_listed(admin_client.get(USERS, query_string={"role": "admin"})) == ["王管理"]
    assert sorted(names_listed(admin_client.get(USERS, query_string={"role": "student", "q": "娜"}))) == ["欧阳娜娜"]

    with app.app_context():
        db.session.get(User, people["张喆"]).is_active = False
        db.session.commit()
    assert names_listed(admin_client.get(USERS, query_string={"status": "inactive"})) == ["张喆"]
    assert "张喆" not in names_listed(admin_client.get(USERS, query_string={"status": "active"}))

    page = text_of(admin_client.get(USERS, query_string={"role": "student", "q": "娜"}))
    assert 'value="娜"' in page  # the search box keeps what was typed


@pytest.mark.parametrize("query", [{"role": "root"}, {"status": "gone"}, {"page": "abc"}, {"page": "-3"},
                                   {"q": "x" * 5000}])
def test_odd_query_strings_show_the_list_instead_of_failing(admin_client, people, query):
    response = admin_client.get(USERS, query_string=query)

    assert response.status_code == 200


def test_search_results_come_a_page_at_a_time_newest_first(app, admin_client, admin):
    for i in range(35):
        make_user(app, f"s{i:02d}@example.com", name="学员" + "甲乙丙丁戊己庚辛壬癸"[i % 10] * 2)

    first = admin_client.get(USERS)
    second = admin_client.get(USERS, query_string={"page": 2})

    assert len(names_listed(first)) == 30
    assert len(names_listed(second)) == 6  # 35 students and the admin
    assert names_listed(second)[-1] == "王管理"  # the oldest account comes last
    assert "第 1 / 2 页" in text_of(first) and "共 36 个账号" in text_of(first)
    assert 'href="/admin/users/?page=2"' in text_of(first)


# --- a user's page --------------------------------------------------------------------------

def test_a_users_page_shows_profile_registrations_certificates_and_verify_links(app, admin_client, staff):
    session_id, [kept, other] = cohort(app, staff, 2)
    certificate_id = issue(app, kept, staff)
    person = person_of(app, kept)
    # The same person's second session, where the certificate was revoked, and a cancelled booking.
    with app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        serial, token = certificate.serial, certificate.verify_token
        db.session.remove()
    revoke(app, certificate_id, staff, reason="代签到")
    with app.app_context():
        later = make_session(starts_in_days=40)
        registration = booking.book_seat(db.session.get(User, person["id"]), later).registration
        booking.cancel_registration(registration.id, db.session.get(User, person["id"]))
        db.session.remove()

    page = text_of(admin_client.get(f"{USERS}{person['id']}"))

    assert person["name"] in page and person["email"] in page and person["phone"] in page
    assert "学员" in page and "启用" in page
    assert page.count("《快速玩转小红书成长特训营》") >= 2  # both registrations
    assert "已确认" in page and "已取消" in page
    assert f'href="/staff/registrations/{kept}"' in page
    assert serial in page and "已撤销" in page and "代签到" in page
    assert f'href="/verify/{token}"' in page
    assert admin_client.get(f"/verify/{token}").status_code == 200


def test_a_new_users_page_says_there_is_nothing_yet(admin_client, student):
    page = text_of(admin_client.get(f"{USERS}{student}"))

    assert "还没有报名记录" in page and "还没有证书" in page and "之后角色和状态没有变动" in page
    assert "修改角色" in page and "停用账号" in page


def test_an_admins_own_page_offers_no_way_to_demote_or_deactivate_themselves(admin_client, admin):
    page = text_of(admin_client.get(f"{USERS}{admin}"))

    assert "不能取消自己的管理员身份，也不能停用自己" in page
    assert f"{USERS}{admin}/role" not in page and f"{USERS}{admin}/deactivate" not in page


# --- roles ------------------------------------------------------------------------------------

def test_admin_makes_a_student_staff_and_it_takes_effect_at_once(app, admin_client, admin, student, student_client):
    assert student_client.get("/staff/sessions/").status_code == 403

    response = act(admin_client, student, "role", {"role": "staff"}, follow_redirects=True)

    assert response.status_code == 200
    assert "已将 张喆 的角色改为工作人员" in text_of(response)
    assert account(app, student) == (Role.STAFF, True, 1)
    assert student_client.get("/staff/sessions/").status_code == 200  # no need to log in again
    assert account_entries(app) == [(
        "account.role", admin,
        {"user_id": student, "email": "student@example.com", "role": "student", "active": True},
        {"user_id": student, "email": "student@example.com", "role": "staff", "active": True}, "",
    )]
    history = text_of(admin_client.get(f"{USERS}{student}"))
    assert "修改角色" in history and "学员 → 工作人员" in history and "王管理" in history


def test_a_demoted_admin_loses_the_admin_pages_on_their_next_request(app, admin_client, admin):
    other = make_user(app, "admin2@example.com", Role.ADMIN, "赵管理", "13800000009")
    other_client = app.test_client()
    assert login(other_client, "admin2@example.com", PASSWORD).status_code == 302
    assert other_client.get(USERS).status_code == 200

    act(admin_client, other, "role", {"role": "student"})

    assert account(app, other)[0] is Role.STUDENT
    assert other_client.get(USERS).status_code == 403


@pytest.mark.parametrize("value", ["root", "", "ADMIN"])
def test_an_unknown_role_is_refused_next_to_the_field(app, admin_client, student, value):
    response = act(admin_client, student, "role", {"role": value})

    assert response.status_code == 200
    assert field_errors(response) == ["请选择学员、工作人员或管理员" if value else "请选择角色"]
    assert account(app, student)[0] is Role.STUDENT
    assert account_entries(app) == []


def test_choosing_the_role_someone_already_has_says_so(app, admin_client, student):
    response = act(admin_client, student, "role", {"role": "student"})

    assert field_errors(response) == ["该用户已经是这个角色，无需修改"]
    assert account_entries(app) == []


def test_an_admin_cannot_remove_their_own_admin_role(app, admin_client, admin):
    make_user(app, "admin2@example.com", Role.ADMIN, "赵管理", "13800000009")  # so it is not the last admin

    for role in ("staff", "student"):
        response = act(admin_client, admin, "role", {"role": role})
        assert response.status_code == 200
        assert "不能取消自己的管理员身份，请让另一位管理员操作" in text_of(response)
    assert account(app, admin)[0] is Role.ADMIN
    assert admin_client.get(USERS).status_code == 200
    assert account_entries(app) == []
