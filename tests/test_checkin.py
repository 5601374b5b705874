"""Door check-in and the attendance grid, as staff use them: scan or type a ticket code on each
day of a 3天2夜 camp, see who is in, find people without a ticket, correct the grid by hand."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import Registration
from app.booking.tickets import format_ticket_code, ticket_code_from_scan
from app.extensions import db
from app.roster import service as roster
from app.roster.models import Attendance
from tests.factories import book, make_course, make_session, make_user
from tests.helpers import csrf_token_from, submit_form

# The camp runs 2027-09-17 09:00 to 2027-09-19 18:00 in Shanghai (UTC+8): three days.
STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
BOOKED_AT = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = [date(2027, 9, 17), date(2027, 9, 18), date(2027, 9, 19)]


def at_door(day: date, hour: int = 8, minute: int = 52) -> datetime:
    """That day at hour:minute in Shanghai, as a UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def clock(monkeypatch):
    """The roster service's clock (check_in and local_today read it), set by each test."""

    class Clock:
        now = at_door(DAYS[0])

    monkeypatch.setattr(roster, "utcnow", lambda: Clock.now)
    return Clock


def make_camp(app, capacity: int = 10, course_id: int | None = None) -> int:
    with app.app_context():
        return make_session(course_id, capacity=capacity, starts_at=STARTS, ends_at=ENDS, label="第12期")


def book_new_student(app, session_id: int, email: str, name: str, phone: str) -> int:
    """A new student with this name and phone, booked into the session at BOOKED_AT."""
    return book(app, make_user(app, email, Role.STUDENT, name, phone), session_id, at=BOOKED_AT)


def code_of(app, registration_id: int) -> str:
    with app.app_context():
        return db.session.get(Registration, registration_id).ticket_code


def attendance_rows(app) -> list[tuple[int, date]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Attendance.registration_id, Attendance.day).order_by(Attendance.registration_id, Attendance.day)
        )]


def audit_entries(app) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("attendance.%")).order_by(AuditEntry.id)
        ))
        db.session.expunge_all()
        return entries


def scan(client, session_id: int, code: str):
    return submit_form(client, f"/staff/sessions/{session_id}/checkin", {"code": code})


@pytest.fixture
def camp(app) -> int:
    return make_camp(app)


@pytest.fixture
def people(app, camp) -> list[int]:
    """Two confirmed students of the camp."""
    return [
        book_new_student(app, camp, "chen@example.com", "陈一", "13900000001"),
        book_new_student(app, camp, "lin@example.com", "林二", "13900000002"),
    ]


# --- who may open these pages --------------------------------------------------------------

def staff_urls(session_id: int) -> list[str]:
    return [f"/staff/sessions/{session_id}/checkin", f"/staff/sessions/{session_id}/attendance"]


def test_anonymous_visitors_are_sent_to_login(app, client, camp):
    for url in staff_urls(camp):
        response = client.get(url)
        assert response.status_code == 302
        assert "/account/login?next=" in response.headers["Location"]
    # A POST with a valid CSRF token (from the login page) still meets the login wall first.
    for url in staff_urls(camp):
        response = submit_form(client, url, {"code": "X", "registration_id": "1", "day": "2027-09-17",
                                             "present": "1"}, form_page="/account/login")
        assert response.status_code == 302
        assert "/account/login" in response.headers["Location"]
    assert attendance_rows(app) == []


def test_students_are_refused_with_403(app, student_client, camp, people):
    code = code_of(app, people[0])
    for url in staff_urls(camp):
        assert student_client.get(url).status_code == 403
    token = csrf_token_from(student_client.get("/me/registrations").get_data(as_text=True))
    response = student_client.post(f"/staff/sessions/{camp}/checkin", data={"code": code, "csrf_token": token})
    assert response.status_code == 403
    response = student_client.post(f"/staff/sessions/{camp}/attendance", data={
        "registration_id": people[0], "day": "2027-09-17", "present": "1", "csrf_token": token})
    assert response.status_code == 403
    assert attendance_rows(app) == []


def test_staff_and_admins_open_both_pages(app, staff_client, admin_client, camp, people, clock):
    for client in (staff_client, admin_client):
        for url in staff_urls(camp):
            assert client.get(url).status_code == 200
    assert staff_client.get("/staff/sessions/999999/checkin").status_code == 404
    assert staff_client.get("/staff/sessions/999999/attendance").status_code == 404


# --- the door -------------------------------------------------------------------------------

def test_the_page_is_ready_for_a_scanner(app, staff_client, camp, people, clock):
    clock.now = at_door(DAYS[1])
    page = staff_client.get(f"/staff/sessions/{camp}/checkin").get_data(as_text=True)
    assert 'name="code"' in page and "autofocus" in page
    assert "第 2 天 · 9月18日" in page
    assert "已签到 0 / 已确认 2" in page


def test_each_person_checks_in_once_on_each_of_the_three_days(app, staff_client, camp, people, clock):
    codes = [code_of(app, r) for r in people]
    for number, day in enumerate(DAYS, start=1):
        clock.now = at_door(day)
        for count, (registration_id, code) in enumerate(zip(people, codes, strict=True), start=1):
            response = scan(staff_client, camp, code)
            page = response.get_data(as_text=True)
            assert response.status_code == 200
            assert "scan-ok" in page and "✓ 已签到" in page
            name = "陈一" if registration_id == people[0] else "林二"
            assert f'<p class="scan-name">{name}</p>' in page
            assert f"第 {number} 天 · 9月{day.day}日" in page
            assert f"已签到 {count} / 已确认 2" in page
            # The cursor is back in an empty input, ready for the next person.
            [scan_input] = re.findall(r'<input[^>]*id="code"[^>]*>', page)
            assert "autofocus" in scan_input and code not in scan_input
    assert attendance_rows(app) == [(r, day) for r in sorted(people) for day in DAYS]
    entries = audit_entries(app)
    assert len(entries) == 6
    assert {e.action for e in entries} == {"attendance.check_in"}


def test_a_second_scan_shows_the_first_time_and_adds_nothing(app, staff_client, camp, people, clock):
    code = code_of(app, people[0])
    clock.now = at_door(DAYS[1], 8, 52)
    scan(staff_client, camp, code)
    clock.now = at_door(DAYS[1], 10, 5)
    page = scan(staff_client, camp, code).get_data(as_text=True)
    assert "scan-repeat" in page and "scan-ok" not in page
    assert "重复签到 · 已于 08:52 签到" in page  # the first scan's Shanghai time, not now
    assert '<p class="scan-name">陈一</p>' in page
    assert "已签到 1 / 已确认 2" in page
    assert attendance_rows(app) == [(people[0], DAYS[1])]
    assert len(audit_entries(app)) == 1


def test_typed_codes_in_lower_case_with_spaces_or_dashes_work(app, staff_client, camp, clock):
    registrations = [book_new_student(app, camp, f"p{n}@example.com", f"学员{n}", f"1350000000{n}") for n in range(4)]
    codes = [code_of(app, r) for r in registrations]
    typed = [
        codes[0].lower(),
        format_ticket_code(codes[1]),                        # K7MQ-2XPD-9RTW as printed
        " " + " ".join(format_ticket_code(codes[2]).lower().split("-")) + " ",
        "-".join(codes[3][:6]) + "\t" + codes[3][6:].lower(),
    ]
    for text in typed:
        page = scan(staff_client, camp, text).get_data(as_text=True)
        assert "✓ 已签到" in page, text
    assert attendance_rows(app) == [(r, DAYS[0]) for r in registrations]


@pytest.fixture
def bad_tickets(app, camp, people):
    """A cancelled, a waitlisted and another session's ticket, plus one that does not exist."""
    with app.app_context():
        other_session = make_session(make_course("抖音电商运营特训营", slug="douyin"), capacity=5,
                                     starts_at=STARTS, ends_at=ENDS)
    small = make_camp(app, capacity=1)
    cancelled = book_new_student(app, camp, "quit@example.com", "赵退", "13700000001")
    with app.test_request_context():
        booking.cancel_registration(cancelled, db.session.get(Registration, cancelled).user, now=BOOKED_AT)
    book_new_student(app, small, "first@example.com", "钱先", "13700000002")
    waitlisted = book_new_student(app, small, "late@example.com", "孙候", "13700000003")
    elsewhere = book_new_student(app, other_session, "other@example.com", "李别", "13700000004")
    return {"cancelled": code_of(app, cancelled), "waitlisted": code_of(app, waitlisted), "small": small,
            "elsewhere": code_of(app, elsewhere)}


def test_bad_tickets_are_refused_in_red_and_change_nothing(app, staff_client, camp, bad_tickets, clock):
    cases = [
        (camp, bad_tickets["cancelled"], "该报名状态为「已取消」，不能签到"),
        (bad_tickets["small"], bad_tickets["waitlisted"], "该报名状态为「候补」，不能签到"),
        (camp, bad_tickets["elsewhere"], "这张票不属于本场次"),
        (camp, "ABCDEFGHJKMN", "无效的票码，查无此票"),
        (camp, "https://example.com/?x=1", "无效的票码，查无此票"),
        (camp, "", "请扫码或输入票码"),
    ]
    for session_id, code, message in cases:
        response = scan(staff_client, session_id, code)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "scan-refused" in page and "✕ 无效票" in page, code
        assert message in page, code
        assert "scan-ok" not in page and "✓ 已签到" not in page
    assert attendance_rows(app) == []
    assert audit_entries(app) == []


def test_a_day_outside_the_session_is_refused(app, staff_client, camp, people, clock):
    code = code_of(app, people[0])
    for moment in (at_door(date(2027, 9, 16), 20, 0), at_door(date(2027, 9, 20), 7, 30),
                   datetime(2027, 9, 19, 16, 30, tzinfo=UTC)):  # 00:30 on 9.20 in Shanghai, still 9.19 in UTC
        clock.now = moment
        page = scan(staff_client, camp, code).get_data(as_text=True)
        assert "scan-refused" in page
        assert "今天不是本场次的上课日" in page
        assert "不是上课日" in page  # the header says so too, with the session's dates
    assert attendance_rows(app) == []


# --- finding someone without a ticket -------------------------------------------------------

def test_search_lists_only_this_sessions_confirmed_people(app, staff_client, camp, bad_tickets, clock):
    book_new_student(app, camp, "zhangwei@example.com", "张伟", "13600000001")
    book_new_student(app, camp, "lina@example.com", "李娜", "13600000002")
    waiting_camp = bad_tickets["small"]
    book_new_student(app, waiting_camp, "zhangmin@example.com", "张敏", "13600000003")  # waitlisted, other session
    url = f"/staff/sessions/{camp}/checkin"

    page = staff_client.get(url, query_string={"q": "张"}).get_data(as_text=True)
    assert "张伟" in page and "李娜" not in page and "张敏" not in page

    page = staff_client.get(url, query_string={"q": "李"}).get_data(as_text=True)
    assert "李娜" in page
    assert "李别" not in page  # confirmed, but in another session

    for name in ("赵退", "孙候", "钱先"):  # cancelled here; waitlisted and confirmed in another session
        page = staff_client.get(url, query_string={"q": name}).get_data(as_text=True)
        assert f"<strong>{name}</strong>" not in page
        assert "没有「" in page

    page = staff_client.get(url, query_string={"q": "0000002"}).get_data(as_text=True)
    assert "<strong>李娜</strong>" in page and "<strong>林二</strong>" in page  # 13600000002, 13900000002
    assert "<strong>张伟</strong>" not in page

    page = staff_client.get(url, query_string={"q": "%"}).get_data(as_text=True)
    assert "<strong>" not in page.split("found-list")[1]  # a LIKE wildcard is searched for literally


def test_the_search_button_checks_in_with_the_same_service_call(app, staff_client, camp, people, clock):
    url = f"/staff/sessions/{camp}/checkin"
    page = staff_client.get(url, query_string={"q": "林"}).get_data(as_text=True)
    code = code_of(app, people[1])
    assert f'name="code" value="{code}"' in page
    response = staff_client.post(url, data={"code": code, "q": "林", "csrf_token": csrf_token_from(page)})
    page = response.get_data(as_text=True)
    assert "✓ 已签到" in page and '<p class="scan-name">林二</p>' in page
    assert "已签到 08:52" in page  # the list, searched again, shows the new state
    assert attendance_rows(app) == [(people[1], DAYS[0])]


# --- the attendance grid --------------------------------------------------------------------

def toggle(client, session_id: int, registration_id, day, present: str):
    return submit_form(client, f"/staff/sessions/{session_id}/attendance",
                       {"registration_id": str(registration_id), "day": str(day), "present": present})


def test_the_grid_shows_confirmed_people_by_day(app, staff_client, camp, people, bad_tickets, clock):
    scan(staff_client, camp, code_of(app, people[0]))
    page = staff_client.get(f"/staff/sessions/{camp}/attendance").get_data(as_text=True)
    assert "陈一" in page and "林二" in page
    assert "赵退" not in page  # cancelled
    assert "第 3 天" in page and "9月19日" in page
    assert page.count("att-present") == 1 and page.count("att-absent") == 5
    assert "08:52" in page


def test_toggling_a_cell_writes_or_deletes_the_row_and_an_audit_entry(app, staff_client, staff, camp, people, clock):
    response = toggle(staff_client, camp, people[0], DAYS[2], "1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/sessions/{camp}/attendance#a{people[0]}")
    assert attendance_rows(app) == [(people[0], DAYS[2])]

    toggle(staff_client, camp, people[0], DAYS[2], "1")  # asked twice: nothing more
    assert attendance_rows(app) == [(people[0], DAYS[2])]

    toggle(staff_client, camp, people[0], DAYS[2], "0")
    assert attendance_rows(app) == []

    added, removed = audit_entries(app)
    assert (added.action, added.actor_id, added.registration_id, added.session_id) == (
        "attendance.set", staff, people[0], camp)
    assert added.before == {"day": "2027-09-19", "present": False}
    assert added.after == {"day": "2027-09-19", "present": True}
    assert (removed.actor_id, removed.before, removed.after) == (
        staff, {"day": "2027-09-19", "present": True}, {"day": "2027-09-19", "present": False})


def test_tampered_grid_requests_change_nothing(app, staff_client, camp, people, bad_tickets, clock):
    with app.app_context():
        others = {code: db.session.scalar(select(Registration.id).where(Registration.ticket_code == code))
                  for code in (bad_tickets["cancelled"], bad_tickets["elsewhere"], bad_tickets["waitlisted"])}
    cancelled, elsewhere, waitlisted = others.values()
    assert toggle(staff_client, camp, elsewhere, DAYS[0], "1").status_code == 404  # another session's person
    assert toggle(staff_client, camp, cancelled, DAYS[0], "1").status_code == 404
    assert toggle(staff_client, bad_tickets["small"], waitlisted, DAYS[0], "1").status_code == 404
    assert toggle(staff_client, camp, 999999, DAYS[0], "1").status_code == 404
    assert toggle(staff_client, 999999, people[0], DAYS[0], "1").status_code == 404
    for bad in ({"day": "2027-09-32"}, {"day": "next tuesday"}, {"present": "yes"}, {"registration_id": "x"}):
        fields = {"registration_id": str(people[0]), "day": "2027-09-17", "present": "1", **bad}
        response = submit_form(staff_client, f"/staff/sessions/{camp}/attendance", fields)
        assert response.status_code == 400, bad

    response = toggle(staff_client, camp, people[0], date(2027, 9, 20), "1")  # not a day of the session
    assert response.status_code == 302
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "今天不是本场次的上课日" in page and "flash-error" in page

    assert attendance_rows(app) == []
    assert audit_entries(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("attendance.%"))) == 0


# --- the phone's camera (static/js/checkin.js posts the same form and asks for JSON) -------------

def camera_scan(client, session_id: int, scanned: str):
    """What checkin.js sends for each QR code it reads: the page's form, `code` set to the text read."""
    url = f"/staff/sessions/{session_id}/checkin"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"code": scanned, "csrf_token": token}, headers={"Accept": "application/json"})


def test_the_camera_reads_a_ticket_link_or_a_bare_code_and_gets_the_result_as_json(app, staff_client, camp, people,
                                                                                     clock):
    codes = [code_of(app, r) for r in people]
    link = app.config["SITE_URL"].rstrip("/") + f"/t/{codes[0]}"

    answer = camera_scan(staff_client, camp, link)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    body = answer.get_json()
    assert body["outcome"] == "checked_in" and body["name"] == "陈一"
    assert body["ticket"] == format_ticket_code(codes[0])
    assert body["count"] == "已签到 1 / 已确认 2"
    assert "scan-ok" in body["html"] and "✓ 已签到" in body["html"] and '<p class="scan-name">陈一</p>' in body["html"]
    assert f"票码：{format_ticket_code(codes[0])}" in body["html"]

    body = camera_scan(staff_client, camp, codes[1]).get_json()  # a ticket from before links: the bare code
    assert body["outcome"] == "checked_in" and body["name"] == "林二"
    assert body["count"] == "已签到 2 / 已确认 2"

    clock.now = at_door(DAYS[0], 9, 40)
    body = camera_scan(staff_client, camp, link).get_json()  # shown again later the same day
    assert body["outcome"] == "repeat"
    assert "重复签到 · 已于 08:52 签到" in body["html"] and "scan-repeat" in body["html"]
    assert attendance_rows(app) == [(people[0], DAYS[0]), (people[1], DAYS[0])]
    assert len(audit_entries(app)) == 2


def test_the_camera_is_told_why_a_ticket_is_refused(app, staff_client, camp, bad_tickets, clock):
    site = app.config["SITE_URL"].rstrip("/")
    cases = [
        (f"{site}/t/{bad_tickets['cancelled']}", "该报名状态为「已取消」，不能签到"),
        (f"https://old-domain.example.cn/app/t/{bad_tickets['elsewhere']}", "这张票不属于本场次"),
        (f"{site}/t/ABCDEFGHJKMN", "无效的票码，查无此票"),
        ("https://weixin.qq.com/r/abc123", "无效的票码，查无此票"),  # someone's WeChat QR, not a ticket
        ("𠮷\x00" * 100, "含有不可见的控制字符"),  # refused by the form before any look-up
        ("x" * 301, "无效的票码，查无此票"),  # longer than any link: refused by the form, not looked up
    ]
    for scanned, message in cases:
        body = camera_scan(staff_client, camp, scanned).get_json()
        assert body["outcome"] == "refused", scanned
        assert message in body["message"], (scanned, body["message"])
        assert "scan-refused" in body["html"] and "✕ 无效票" in body["html"]
        assert body["name"] is None
    # The refusal names the code in a ticket link, and no made-up code for a link that is none.
    body = camera_scan(staff_client, camp, f"{site}/t/ABCDEFGHJKMN").get_json()
    assert body["ticket"] == "ABCD-EFGH-JKMN" and "票码：ABCD-EFGH-JKMN" in body["html"]
    body = camera_scan(staff_client, camp, "https://weixin.qq.com/r/abc123").get_json()
    assert body["ticket"] == "" and "票码：" not in body["html"]
    assert attendance_rows(app) == []


def test_the_page_gives_the_camera_its_words_and_no_inline_script(app, staff_client, camp, clock):
    page = staff_client.get(f"/staff/sessions/{camp}/checkin").get_data(as_text=True)
    # Hidden until the script shows it: without JavaScript there is no dead camera button.
    assert re.search(r'<section class="camera-scan" data-camera-scanner hidden', page)
    assert 'data-jsqr-src="/static/vendor/jsqr-1.4.0/jsQR.min.js"' in page
    assert 'data-label-start="开启摄像头扫码"' in page and "开启摄像头扫码</button>" in page
    assert 'data-msg-denied="没有摄像头权限' in page and 'data-msg-insecure="摄像头只能在 HTTPS 网址下使用' in page
    assert 'data-checkin-form' in page and "data-scan-slot" in page
    # The coming Content-Security-Policy allows no inline script: every <script> has a src.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []


@pytest.mark.parametrize(("scanned", "code"), [
    ("K7MQ2XPD9RTW", "K7MQ2XPD9RTW"),                                   # a QR code from before links
    ("k7mq-2xpd 9rtw", "K7MQ2XPD9RTW"),                                 # typed from the printed code
    ("https://xue.example.com/t/K7MQ2XPD9RTW", "K7MQ2XPD9RTW"),          # today's QR code
    ("http://127.0.0.1:5000/t/K7MQ-2XPD-9RTW/", "K7MQ2XPD9RTW"),
    ("HTTPS://XUE.EXAMPLE.COM/T/k7mq2xpd9rtw", "K7MQ2XPD9RTW"),          # a scanner with caps lock on
    ("https://xue.example.com/app/t/K7MQ2XPD9RTW?from=wechat#top", "K7MQ2XPD9RTW"),  # under a path; WeChat's additions
    (" https://xue.example.com/t/K7MQ2XPD9RTW\n", "K7MQ2XPD9RTW"),       # a scanner's Enter
    ("https://xue.example.com/me/registrations/12", ""),                 # a link, but not a ticket's
    ("https://xue.example.com/t/K7MQ2XPD9RTW/checkin", ""),
    ("weixin://dl/business/?t=K7MQ2XPD9RTW", ""),
    ("", ""),
])
def test_the_code_is_taken_out_of_what_the_door_reads(scanned, code):
    assert ticket_code_from_scan(scanned) == code
