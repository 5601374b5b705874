"""The ticket link /t/<code>, which a ticket's QR code holds, as each kind of visitor opens it with
WeChat's scanner or a phone camera: the holder sees their ticket; staff see the person, the
session and a 签到 button that checks them in once a day; anyone else learns nothing about the
person, and cannot tell a real code from a made-up one."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import Registration
from app.booking.tickets import format_ticket_code
from app.extensions import db
from app.roster import service as roster
from app.roster.models import Attendance
from tests.factories import PASSWORD, make_session, make_user
from tests.helpers import csrf_token_from, login

STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)  # 9.17 09:00 to 9.19 18:00 in Shanghai
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
BOOKED_AT = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLDER_PHONE = "13912345678"
HOLDER_EMAIL = "jie.holder@example.com"


def at_door(day: date, hour: int = 8, minute: int = 52) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = at_door(date(2027, 9, 18))

    monkeypatch.setattr(roster, "utcnow", lambda: Clock.now)
    return Clock


@pytest.fixture
def ticket(app) -> dict:
    """A confirmed seat held by 𠮷䶮 (a name with characters outside the BMP and CJK extension A)."""
    with app.app_context():
        session_id = make_session(None, capacity=10, starts_at=STARTS, ends_at=ENDS, label="第12期")
    holder = make_user(app, HOLDER_EMAIL, Role.STUDENT, "𠮷䶮", HOLDER_PHONE)
    with app.test_request_context():
        registration = booking.book_seat(db.session.get(User, holder), session_id, now=BOOKED_AT).registration
        return {"id": registration.id, "code": registration.ticket_code, "session_id": session_id,
                "holder": holder}


def logged_in(app, email: str):
    client = app.test_client()
    assert login(client, email, PASSWORD).status_code == 302
    return client


def attendance_rows(app) -> list[tuple[int, date]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Attendance.registration_id, Attendance.day))]


def check_in_audits(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "attendance.check_in")).all())


def press_check_in(client, code: str):
    """What the 签到 button does: POST with the page's CSRF token."""
    page = client.get(f"/t/{code}").get_data(as_text=True)
    return client.post(f"/t/{code}/checkin", data={"csrf_token": csrf_token_from(page)})


# --- the holder -----------------------------------------------------------------------------

def test_the_holder_is_taken_to_their_ticket(app, ticket):
    holder = logged_in(app, HOLDER_EMAIL)
    response = holder.get(f"/t/{ticket['code']}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/me/registrations/{ticket['id']}"
    page = holder.get(response.headers["Location"]).get_data(as_text=True)
    assert format_ticket_code(ticket["code"]) in page and "𠮷䶮" in page
    # Typed by hand from the printed code, the link works the same.
    assert holder.get(f"/t/{format_ticket_code(ticket['code']).lower()}").headers["Location"].endswith(
        f"/me/registrations/{ticket['id']}")


# --- anyone else ----------------------------------------------------------------------------

def test_anonymous_visitors_learn_nothing_and_are_asked_to_log_in(app, client, ticket):
    response = client.get(f"/t/{ticket['code']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "入场电子票" in page and "登录查看" in page
    assert f'href="/account/login?next=/t/{ticket["code"]}"' in page
    for private in ("𠮷䶮", HOLDER_PHONE, HOLDER_PHONE[-4:], HOLDER_EMAIL, "jie.holder", "快速玩转小红书", "第12期"):
        assert private not in page, private
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the code in the address goes nowhere
    assert "no-store" in response.headers["Cache-Control"]
    # A made-up code gets the very same page: the link is no oracle for guessing codes.
    made_up = client.get("/t/ABCDEFGHJKMN")
    assert made_up.status_code == 200
    assert made_up.get_data(as_text=True) == page.replace(ticket["code"], "ABCDEFGHJKMN")

    # Logging in from there brings the holder back to the link, and so to their ticket.
    response = login(client, HOLDER_EMAIL, PASSWORD, query_string={"next": f"/t/{ticket['code']}"})
    assert response.headers["Location"] == f"/t/{ticket['code']}"
    assert client.get(f"/t/{ticket['code']}").headers["Location"] == f"/me/registrations/{ticket['id']}"


def test_another_student_sees_nothing_of_the_holder_and_cannot_check_in(app, ticket, clock):
    make_user(app, "other@example.com", Role.STUDENT, "王五", "13900000009")
    other = logged_in(app, "other@example.com")
    page = other.get(f"/t/{ticket['code']}").get_data(as_text=True)
    assert "这张票不在您当前登录的账号下" in page
    for private in ("𠮷䶮", HOLDER_PHONE, HOLDER_EMAIL, "签到 ·"):
        assert private not in page
    token = csrf_token_from(other.get("/me/registrations").get_data(as_text=True))
    assert other.post(f"/t/{ticket['code']}/checkin", data={"csrf_token": token}).status_code == 403
    assert attendance_rows(app) == []


def test_an_anonymous_post_meets_the_login_wall(app, client, ticket, clock):
    token = csrf_token_from(client.get("/account/login").get_data(as_text=True))
    response = client.post(f"/t/{ticket['code']}/checkin", data={"csrf_token": token})
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert attendance_rows(app) == []


# --- staff ----------------------------------------------------------------------------------

def test_staff_see_the_person_the_session_and_the_check_in_button(app, staff_client, ticket, clock):
    page = staff_client.get(f"/t/{ticket['code']}").get_data(as_text=True)
    assert "𠮷䶮" in page and HOLDER_PHONE in page and HOLDER_EMAIL in page
    assert "快速玩转小红书成长特训营" in page and "第12期" in page and "已确认" in page
    assert format_ticket_code(ticket["code"]) in page
    assert f'action="/t/{ticket["code"]}/checkin"' in page
    assert "签到 · 第 2 天 · 9月18日" in page
    assert f'href="/staff/sessions/{ticket["session_id"]}/checkin"' in page


def test_the_button_checks_in_once_even_when_pressed_twice(app, staff_client, staff, ticket, clock):
    response = press_check_in(staff_client, ticket["code"])
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{ticket['code']}"
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已签到：𠮷䶮" in page  # the flash
    assert "今日已签到 08:52" in page and "签到 · 第 2 天" not in page  # no button once in

    clock.now = at_door(date(2027, 9, 18), 9, 30)
    # A second press (a double tap, or the page's form posted again from history).
    page_token = csrf_token_from(page)
    again = staff_client.post(f"/t/{ticket['code']}/checkin", data={"csrf_token": page_token})
    page = staff_client.get(again.headers["Location"]).get_data(as_text=True)
    assert "重复签到：𠮷䶮 已于 08:52 签到" in page
    assert attendance_rows(app) == [(ticket["id"], date(2027, 9, 18))]
    assert check_in_audits(app) == 1
    with app.app_context():
        row = db.session.scalar(select(Attendance))
        assert row.checked_in_by_id == staff  # the same service as the door: who let them in is kept

    # The door's page counts them in too: one record, whichever way they came in.
    door = staff_client.get(f"/staff/sessions/{ticket['session_id']}/checkin").get_data(as_text=True)
    assert "已签到 1 / 已确认 1" in door


def test_outside_the_session_days_staff_are_told_why_and_get_no_button(app, staff_client, ticket, clock):
    clock.now = at_door(date(2027, 9, 20))
    page = staff_client.get(f"/t/{ticket['code']}").get_data(as_text=True)
    assert "今天不是本场次的上课日" in page and "本场次上课日" in page
    assert f'action="/t/{ticket["code"]}/checkin"' not in page
    response = press_check_in(staff_client, ticket["code"])
    assert "今天不是本场次的上课日" in staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert attendance_rows(app) == []


def test_a_cancelled_ticket_shows_its_status_and_cannot_check_in(app, admin_client, ticket, clock):
    with app.test_request_context():
        booking.cancel_registration(ticket["id"], db.session.get(User, ticket["holder"]), now=BOOKED_AT)
    page = admin_client.get(f"/t/{ticket['code']}").get_data(as_text=True)
    assert "该报名状态为「已取消」，不能签到" in page
    assert "签到 · 第" not in page
    press_check_in(admin_client, ticket["code"])
    assert attendance_rows(app) == []


def test_staff_are_told_when_no_ticket_has_the_code(app, staff_client, ticket):
    for code in ("ABCDEFGHJKMN", "A" * 40):
        response = staff_client.get(f"/t/{code}")
        assert response.status_code == 404
        assert "无效票" in response.get_data(as_text=True)
    assert staff_client.get("/t/" + "A" * 41).status_code == 404  # longer than any code: not even looked up
    token = csrf_token_from(staff_client.get(f"/t/{ticket['code']}").get_data(as_text=True))
    assert staff_client.post("/t/ABCDEFGHJKMN/checkin", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Registration.ticket_code)) == ticket["code"]
