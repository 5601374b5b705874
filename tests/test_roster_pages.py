"""The staff roster pages as staff use them: sessions at a glance, a session's roster (search,
filters, pages), one registration with its history; who may open them."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import RegistrationStatus
from app.booking.tickets import format_ticket_code
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.roster import service as roster
from tests.factories import book, make_person, new_course, new_session
from tests.helpers import statements_for, stored_registration, submit_form, text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- building a roster ------------------------------------------------------------------------









def running_session(app, course_id: int | None = None, capacity: int = 10) -> int:
    """A three-day session that began at midnight (Shanghai) today: today is its first day."""
    midnight = datetime.combine(today_in_shanghai(), time(0, 0), tzinfo=SHANGHAI).astimezone(UTC)
    return new_session(app, course_id, capacity=capacity, starts_at=midnight,
                   ends_at=midnight + timedelta(days=2, hours=18))


def mark_present(app, registration_id: int, day, actor_id: int) -> None:
    with app.test_request_context():
        roster.set_attendance(registration_id, day, True, db.session.get(User, actor_id))
        db.session.remove()


def session_days(app, session_id: int):
    with app.app_context():
        return roster.session_days(db.session.get(CampSession, session_id))






def roster_names(html: str) -> list[str]:
    """The names in the roster table, top to bottom."""
    return re.findall(r'<th scope="row" class="person"><a href="[^"]+">([^<]+)</a></th>', html)


def today_in_shanghai():
    return utcnow().astimezone(SHANGHAI).date()


@pytest.fixture
def world(app, staff):
    """One session with one confirmed student, and the ids every route needs."""
    session_id = new_session(app, capacity=5)
    student_id = make_person(app, "张喆", "13800000013", "zhangzhe@example.com")
    return {"session": session_id, "registration": book(app, student_id, session_id), "staff": staff}


# --- who may open what --------------------------------------------------------------------------

PAGES = [
    "/staff/",
    "/staff/sessions/",
    "/staff/sessions/{session}/roster",
    "/staff/registrations/{registration}",
    "/staff/sessions/{session}/add",
]
ACTIONS = [
    ("/staff/registrations/{registration}/cancel", {}),
    ("/staff/registrations/{registration}/promote", {}),
    ("/staff/registrations/{registration}/move", {"target_session_id": "{session}"}),
    ("/staff/sessions/{session}/capacity", {"capacity": "1"}),
    ("/staff/sessions/{session}/add", {"login": "13800000013", "add_existing": "1"}),
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_login_from_every_roster_page(client, world, url):
    response = client.get(url.format(**world))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


@pytest.mark.parametrize("url", PAGES)
def test_student_gets_403_on_every_roster_page(student_client, world, url):
    response = student_client.get(url.format(**world))

    assert response.status_code == 403
    assert "没有权限" in text_of(response)


@pytest.mark.parametrize("role_client", ["staff_client", "admin_client"])
@pytest.mark.parametrize("url", PAGES)
def test_staff_and_admins_open_every_roster_page(request, world, role_client, url):
    response = request.getfixturevalue(role_client).get(url.format(**world))

    assert response.status_code == 200
    assert "快速玩转小红书成长特训营" in text_of(response)


def _audited_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize(("url", "data"), ACTIONS)
def test_anonymous_posts_to_every_action_go_to_login_and_change_nothing(app, client, world, url, data):
    data = {key: value.format(**world) for key, value in data.items()}
    response = submit_form(client, url.format(**world), data, form_page="/account/login")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")
    assert stored_registration(app, world["registration"]).status is RegistrationStatus.CONFIRMED
    with app.app_context():
        assert db.session.get(CampSession, world["session"]).capacity == 5
        assert _audited_actions() == ["registration.book"]  # the world's booking, nothing since


@pytest.mark.parametrize(("url", "data"), ACTIONS)
def test_students_posts_to_every_action_are_refused_and_change_nothing(app, student_client, world, url, data):
    data = {key: value.format(**world) for key, value in data.items()}
    response = submit_form(student_client, url.format(**world), data, form_page="/")

    assert response.status_code == 403
    assert stored_registration(app, world["registration"]).status is RegistrationStatus.CONFIRMED
    with app.app_context():
        assert db.session.get(CampSession, world["session"]).capacity == 5
        assert _audited_actions() == ["registration.book"]  # the world's booking, nothing since


@pytest.mark.parametrize("url", [
    "/staff/sessions/999999/roster",
    "/staff/sessions/999999/add",
    "/staff/registrations/999999",
    "/staff/sessions/abc/roster",
])
def test_unknown_ids_are_404(staff_client, world, url):
    assert staff_client.get(url).status_code == 404


# --- sessions at a glance -------------------------------------------------------------------

def test_overview_lists_upcoming_sessions_first_then_past_ones_with_their_fill(app, staff, staff_client):
    course_id = new_course(app)
    later = new_session(app, course_id, capacity=3, starts_in_days=60, label="第13期")
    sooner = new_session(app, course_id, capacity=2, starts_in_days=10, label="第12期")
    running = running_session(app, course_id, capacity=4)
    past_start = utcnow().replace(microsecond=0) - timedelta(days=200)
    past = new_session(app, course_id, capacity=50, starts_at=past_start, ends_at=past_start + timedelta(days=2),
                   label="第1期")
    people = [make_person(app, f"学员{n}", f"1390000000{n}") for n in range(4)]
    for user_id in people[:3]:  # the 2 seats of `sooner` go, the third waits
        book(app, user_id, sooner)
    present = book(app, people[3], running, at=utcnow() - timedelta(days=3))
    mark_present(app, present, today_in_shanghai(), staff)

    html = text_of(staff_client.get("/staff/sessions/"))

    assert html.index("第1期") > html.index("已结束")  # past below
    assert html.index("已结束") > html.index("第13期") > html.index("第12期")  # soonest first
    running_row = _row_of(html, f"/staff/sessions/{running}/roster")
    assert "<strong>1</strong> / 4" in running_row
    assert re.search(r'class="num">0</td>\s*<td class="num">1</td>', running_row)  # none waiting, 1 checked in today
    sooner_row = _row_of(html, f"/staff/sessions/{sooner}/roster")
    assert "<strong>2</strong> / 2" in sooner_row and "fill-bar-full" in sooner_row
    assert re.search(r'class="num">1</td>\s*<td class="num">0</td>', sooner_row)  # 1 waiting, 0 checked in
    assert f'href="/staff/sessions/{later}/add"' in html
    assert f'href="/staff/sessions/{past}/roster"' in html


def _row_of(html: str, link: str) -> str:
    start = html.index(link)
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def test_staff_home_shows_the_upcoming_sessions_and_links_to_all(app, staff_client):
    new_session(app, capacity=60, label="第12期")

    html = text_of(staff_client.get("/staff/"))

    assert "第12期" in html and "<strong>0</strong> / 60" in html
    assert 'href="/staff/sessions/"' in html


def test_overview_uses_the_same_number_of_queries_for_two_sessions_or_eight(app, staff_client):
    """Counts come from grouped queries, not one query per row."""
    course_id = new_course(app)
    first = [new_session(app, course_id, starts_in_days=10 + n) for n in range(2)]
    count_for_two = len(statements_for(app, staff_client, "/staff/sessions/"))
    for n in range(6):
        new_session(app, course_id, starts_in_days=20 + n)
    book(app, make_person(app, "学员甲", "13900000001"), first[0])
    count_for_eight = len(statements_for(app, staff_client, "/staff/sessions/"))

    assert count_for_eight == count_for_two


# --- the roster -----------------------------------------------------------------------------------

@pytest.fixture
def crowd(app, staff):
    """A running session of 2 seats: 张喆 and 王𠮷 confirmed, 欧阳娜娜 waiting, 李雷 cancelled;
    王𠮷 checked in today."""
    session_id = running_session(app, capacity=2)
    early = utcnow().replace(microsecond=0) - timedelta(days=5)
    ids = {
        "张喆": book(app, make_person(app, "张喆", "13800000033", "Zhang.Zhe@example.com"), session_id, at=early),
        "王𠮷": book(app, make_person(app, "王𠮷", "13912345678", "wangji@example.com"), session_id, source="api",
                    at=early + timedelta(hours=1)),
        "欧阳娜娜": book(app, make_person(app, "欧阳娜娜", "13700001111", "ouyang@example.com"), session_id,
                      source="article:12", at=early + timedelta(hours=2)),
        "李雷": book(app, make_person(app, "李雷", "13600002222", "lilei@example.com"), session_id,
                   at=early + timedelta(hours=3)),
    }
    with app.test_request_context():
        booking.cancel_registration(ids["李雷"], db.session.get(User, staff), by_staff=True)
        db.session.remove()
    mark_present(app, ids["王𠮷"], today_in_shanghai(), staff)
    return {"session": session_id, "ids": ids, "early": early}


def _roster(client, session_id: int, **args) -> str:
    response = client.get(f"/staff/sessions/{session_id}/roster", query_string=args)
    assert response.status_code == 200
    return text_of(response)


def test_roster_shows_everyone_with_contact_status_booking_time_source_ticket_and_attendance(app, staff_client,
                                                                                           crowd):
    html = _roster(staff_client, crowd["session"])

    assert roster_names(html) == ["张喆", "王𠮷", "欧阳娜娜", "李雷"]  # confirmed, waiting, cancelled
    assert 'href="tel:13800000033"' in html
    assert "zhang.zhe@example.com" in html
    assert "候补第 1 位" in html and "已取消" in html
    booked_local = crowd["early"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert booked_local in html
    sources = {name: _row_of(html, f'/staff/registrations/{crowd["ids"][name]}"') for name in crowd["ids"]}
    assert '<td class="source">网站</td>' in sources["张喆"]
    assert '<td class="source">API（小程序）</td>' in sources["王𠮷"]
    assert '<td class="source">文章 #12</td>' in sources["欧阳娜娜"]
    ticket = stored_registration(app, crowd["ids"]["张喆"]).ticket_code
    assert format_ticket_code(ticket) in html and len(format_ticket_code(ticket)) == 14
    days = session_days(app, crowd["session"])
    assert len(days) == 3
    wang_row = _row_of(html, f'/staff/registrations/{crowd["ids"]["王𠮷"]}"')
    zhang_row = _row_of(html, f'/staff/registrations/{crowd["ids"]["张喆"]}"')
    assert wang_row.count("✓") == 1 and wang_row.count("—") == 2
    assert zhang_row.count("✓") == 0 and zhang_row.count("—") == 3


@pytest.mark.parametrize(("q", "expected"), [
    ("张喆", ["张喆"]),
    ("喆", ["张喆"]),
    ("𠮷", ["王𠮷"]),
    ("王𠮷", ["王𠮷"]),
    ("欧阳", ["欧阳娜娜"]),
    ("13912345678", ["王𠮷"]),
    ("1234", ["王𠮷"]),
    ("139 1234", ["王𠮷"]),  # typed with a space
    ("ZHANG.ZHE@", ["张喆"]),  # any case
    ("example.com", ["张喆", "王𠮷", "欧阳娜娜", "李雷"]),
    ("nobody", []),
    ("%", []),  # a LIKE wildcard is searched for literally
])
def test_roster_search_by_name_phone_or_email(staff_client, crowd, q, expected):
    html = _roster(staff_client, crowd["session"], q=q)

    assert roster_names(html) == expected
    if not expected:
        assert "没有符合条件的报名" in html


@pytest.mark.parametrize(("status", "expected"), [
    ("confirmed", ["张喆", "王𠮷"]),
    ("waitlisted", ["欧阳娜娜"]),
    ("cancelled", ["李雷"]),
    ("all", ["张喆", "王𠮷", "欧阳娜娜", "李雷"]),
    ("bogus", ["张喆", "王𠮷", "欧阳娜娜", "李雷"]),
])
def test_roster_filters_by_status_and_shows_the_counts(staff_client, crowd, status, expected):
    html = _roster(staff_client, crowd["session"], status=status)

    assert roster_names(html) == expected
    for label, count in (("全部", 4), ("已确认", 2), ("候补", 1), ("已取消", 1)):
        assert re.search(rf">{label} {count}</a>", html), label


@pytest.mark.parametrize(("checkin", "expected"), [
    ("today", ["王𠮷"]),
    ("not", ["张喆", "欧阳娜娜", "李雷"]),
    ("", ["张喆", "王𠮷", "欧阳娜娜", "李雷"]),
])
def test_roster_filters_by_check_in_today(staff_client, crowd, checkin, expected):
    assert roster_names(_roster(staff_client, crowd["session"], checkin=checkin)) == expected


def test_check_in_on_another_day_does_not_count_as_today(app, staff, staff_client, crowd):
    other_day = next(day for day in session_days(app, crowd["session"]) if day != today_in_shanghai())
    mark_present(app, crowd["ids"]["张喆"], other_day, staff)

    assert roster_names(_roster(staff_client, crowd["session"], checkin="today")) == ["王𠮷"]
    assert "张喆" in roster_names(_roster(staff_client, crowd["session"], checkin="not"))


def test_search_and_filters_combine(staff_client, crowd):
    html = _roster(staff_client, crowd["session"], q="example.com", status="confirmed", checkin="not")

    assert roster_names(html) == ["张喆"]


def test_roster_pages_keep_the_search_and_filters(app, staff_client):
    session_id = new_session(app, capacity=10)
    for n in range(5):
        book(app, make_person(app, f"学员{'一二三四五'[n]}", f"1390000000{n}"), session_id,
             at=utcnow() - timedelta(days=2, minutes=10 - n))
    book(app, make_person(app, "王老师", "13900000009"), session_id)

    first = _roster(staff_client, session_id, q="学员", status="confirmed", per_page=2)
    second = _roster(staff_client, session_id, q="学员", status="confirmed", per_page=2, page=2)
    third = _roster(staff_client, session_id, q="学员", status="confirmed", per_page=2, page=3)

    assert roster_names(first) == ["学员一", "学员二"]
    assert roster_names(second) == ["学员三", "学员四"]
    assert roster_names(third) == ["学员五"]
    assert "第 1 / 3 页" in first and "共 5 人" in first
    next_link = re.search(r'href="([^"]+)">下一页</a>', first).group(1).replace("&amp;", "&")
    assert "page=2" in next_link and "per_page=2" in next_link and "status=confirmed" in next_link
    assert roster_names(_roster(staff_client, session_id, **_query_of(next_link))) == ["学员三", "学员四"]
    assert roster_names(_roster(staff_client, session_id, per_page=2, page=99)) == []


def _query_of(link: str) -> dict:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(link).query))


def test_roster_of_an_empty_session_says_so(app, staff_client):
    html = _roster(staff_client, new_session(app))

    assert roster_names(html) == [] and "还没有人报名" in html


def test_roster_links_exports_only_once_they_exist(app, staff_client, world):
    html = _roster(staff_client, world["session"])

    assert 'id="exports"' in html  # the place is there either way
    for endpoint, path_part in (("roster_exports.csv", "CSV"), ("roster_exports.xlsx", "Excel"),
                                ("roster_exports.signin_pdf", "签到表 PDF")):
        if endpoint in app.view_functions:
            with app.test_request_context():
                from flask import url_for

                href = url_for(endpoint, session_id=world["session"])
            assert f'href="{href}"' in html
        else:
            assert path_part not in html.split('id="exports"', 1)[1].split("</div>", 1)[0]


def test_roster_uses_the_same_number_of_queries_for_one_row_or_six(app, staff, staff_client):
    session_id = running_session(app, capacity=3)
    first = book(app, make_person(app, "学员一", "13900000001"), session_id, at=utcnow() - timedelta(days=2))
    mark_present(app, first, today_in_shanghai(), staff)
    url = f"/staff/sessions/{session_id}/roster"
    count_for_one = len(statements_for(app, staff_client, url))
    for n in range(2, 7):  # three confirmed, three waiting
        book(app, make_person(app, f"学员{n}", f"1390000000{n}"), session_id, at=utcnow() - timedelta(days=2))
    count_for_six = len(statements_for(app, staff_client, url))

    assert count_for_six == count_for_one


def test_admins_get_a_link_to_the_session_editor_and_staff_do_not(app, world, staff_client, admin_client):
    editor = f'href="/admin/courses/sessions/{world["session"]}/edit"'

    assert editor in _roster(admin_client, world["session"])
    assert editor not in _roster(staff_client, world["session"])


# --- one registration -----------------------------------------------------------------------------

def test_registration_page_shows_the_person_session_ticket_attendance_and_history(app, staff, staff_client, crowd):
    wang = crowd["ids"]["王𠮷"]

    html = text_of(staff_client.get(f"/staff/registrations/{wang}"))

    assert "<h1>王𠮷</h1>" in html
    assert 'href="tel:13912345678"' in html and "wangji@example.com" in html
    assert "快速玩转小红书成长特训营" in html
    assert format_ticket_code(stored_registration(app, wang).ticket_code) in html
    assert "<dd>API（小程序）</dd>" in html
    assert html.count("✓ 已签到") == 1 and html.count("— 未签到") == 2
    today = today_in_shanghai()
    assert "修改出勤" in html and "李助教" in html  # set_attendance's audit line
    assert f"{today.month}月{today.day}日 未签到 → {today.month}月{today.day}日 已签到" in html
    assert "手动转正" not in html  # confirmed: no promotion form
    assert "取消报名" in html


def test_registration_history_is_newest_first_with_who_what_and_before_after(app, staff, staff_client, crowd):
    """Staff cancel 张喆, whose seat goes to 欧阳娜娜, first on the waitlist."""
    ouyang = crowd["ids"]["欧阳娜娜"]
    zhang = crowd["ids"]["张喆"]
    with app.test_request_context():
        booking.cancel_registration(zhang, db.session.get(User, staff), by_staff=True)
        db.session.remove()

    zhang_page = text_of(staff_client.get(f"/staff/registrations/{zhang}"))
    ouyang_page = text_of(staff_client.get(f"/staff/registrations/{ouyang}"))

    assert "取消报名" in zhang_page and "李助教" in zhang_page and "已确认 → 已取消" in zhang_page
    # 欧阳娜娜 got the freed seat, by the system, in order of the waitlist.
    assert "候补转正" in ouyang_page and "系统" in ouyang_page
    assert "候补第 1 位 → 已确认" in ouyang_page
    assert "名额空出，按候补顺序自动转正" in ouyang_page


def test_a_registrations_history_starts_with_the_students_own_booking(app, staff_client, world):
    html = text_of(staff_client.get(f"/staff/registrations/{world['registration']}"))

    assert re.search(r"学员报名</strong>[^→]{0,120}张喆", html), "the booking, by the student themselves"
    assert "已确认" in html
