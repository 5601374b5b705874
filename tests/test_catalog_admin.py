"""Admins create and edit courses and sessions; the capacity rules hold through the form."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.extensions import db
from tests.factories import make_course, make_session, make_user
from tests.helpers import submit_form

SESSION_FORM = {
    "label": "第1期",
    "starts_at": "2027-09-17T09:00",
    "ends_at": "2027-09-19T18:00",
    "city": "杭州",
    "venue": "玺承集团杭州培训中心",
    "address": "滨江区网商路 699 号",
    "price": "3980.00",
    "capacity": "60",
    "registration_opens_at": "",
    "registration_closes_at": "2027-09-16T09:00",
    "cancellation_deadline": "",
    "is_published": "y",
}


@pytest.mark.parametrize("path", ["/admin/courses/", "/admin/courses/new"])
def test_only_admins_reach_the_course_admin(app, client, student_client, staff_client, path):
    assert client.get(path).status_code == 302  # to the login page
    assert student_client.get(path).status_code == 403
    assert staff_client.get(path).status_code == 403


def test_admin_creates_a_course_with_a_pinyin_slug(app, admin_client):
    response = submit_form(admin_client, "/admin/courses/new", {
        "title": "快速玩转小红书成长特训营", "slug": "", "platform": "小红书", "duration_label": "3天2夜",
        "summary": "三天两夜线下实战", "outcomes": "爆款笔记\n店铺转化", "audience": "品牌方", "is_published": "y",
    })
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalar(select(Course))
        assert course.slug == "kuai-su-wan-zhuan-xiao-hong-shu-cheng-zhang-te-xun-ying"
        assert course.outcome_lines == ["爆款笔记", "店铺转化"]


def test_duplicate_slug_is_refused_and_the_typed_text_is_kept(app, admin_client):
    with app.app_context():
        make_course("抖音电商实战营", slug="douyin")
    response = submit_form(admin_client, "/admin/courses/new", {"title": "另一门课", "slug": "douyin"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "这个链接名已被其他课程使用" in page and "另一门课" in page
    with app.app_context():
        assert db.session.query(Course).count() == 1


def test_admin_adds_a_session_in_shanghai_time(app, admin_client):
    with app.app_context():
        course_id = make_course()
    response = submit_form(admin_client, f"/admin/courses/{course_id}/sessions/new", SESSION_FORM)
    assert response.status_code == 302
    with app.app_context():
        camp = db.session.scalar(select(CampSession))
        assert camp.starts_at.isoformat() == "2027-09-17T01:00:00+00:00"  # 09:00 in Shanghai
        assert camp.price == Decimal("3980.00") and camp.capacity == 60


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": "2027-09-16T09:00"}, "结课时间必须晚于开课时间"),
        ({"capacity": "-1"}, "名额应在 0 到 100,000 之间"),
        ({"capacity": "很多"}, "不是有效的整数"),
        ({"price": "abc"}, "不是有效的小数"),
        ({"price": "9.999"}, "价格最多两位小数"),
        ({"city": ""}, "请填写城市"),
        ({"starts_at": "明天"}, "不是有效的日期与时间值"),
        ({"venue": "场" * 121}, "最多 120 个字"),
    ],
)
def test_bad_session_input_gets_a_chinese_message_and_creates_nothing(app, admin_client, changes, message):
    with app.app_context():
        course_id = make_course()
    response = submit_form(admin_client, f"/admin/courses/{course_id}/sessions/new", {**SESSION_FORM, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(CampSession).count() == 0


def _book_students(app, session_id: int, count: int) -> list[int]:
    user_ids = []
    for number in range(count):
        user_id = make_user(app, f"s{number}@example.com", name="学员", phone=f"1360000{number:04d}")
        with app.test_request_context():
            booking.book_seat(db.session.get(User, user_id), session_id)
        user_ids.append(user_id)
    return user_ids


def test_capacity_below_confirmed_is_refused_through_the_form(app, admin_client):
    with app.app_context():
        session_id = make_session(capacity=3)
    _book_students(app, session_id, 3)
    response = submit_form(admin_client, f"/admin/courses/sessions/{session_id}/edit",
                           {**SESSION_FORM, "capacity": "2"})
    assert response.status_code == 200
    assert "名额不能少于已占用的名额（3 个，含待支付保留的）" in response.get_data(as_text=True)
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        assert (camp.capacity, camp.city) == (3, "杭州")  # nothing else was saved either
        assert camp.venue == "玺承集团培训中心"


@pytest.mark.parametrize(("price", "message", "given"), [
    ("0.00", "已按顺序从候补转正", RegistrationStatus.CONFIRMED),
    # A paid session's waiting person is offered the seat, held while they pay.
    ("3980.00", "已按顺序为候补学员保留名额，等待支付", RegistrationStatus.OFFERED),
])
def test_raising_capacity_gives_the_new_seat_to_the_head_of_the_waitlist(app, admin_client, price, message, given):
    with app.app_context():
        session_id = make_session(capacity=1, price="0.00")
    first, second, third = _book_students(app, session_id, 3)
    response = submit_form(admin_client, f"/admin/courses/sessions/{session_id}/edit",
                           {**SESSION_FORM, "capacity": "2", "price": price}, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        statuses = dict(db.session.execute(select(Registration.user_id, Registration.status)).all())
    assert statuses == {first: RegistrationStatus.CONFIRMED, second: given, third: RegistrationStatus.WAITLISTED}


def test_admin_sets_the_certificate_rule_of_a_course(app, admin_client):
    """Hours printed on certificates and the attendance days needed to earn one are per course."""
    bad = submit_form(admin_client, "/admin/courses/new",
                      {"title": "私域流量运营特训营", "hours_of_study": "32", "min_attendance_days": "0"})
    assert "天数应在 1 到 60 之间" in bad.get_data(as_text=True)
    response = submit_form(admin_client, "/admin/courses/new",
                           {"title": "私域流量运营特训营", "hours_of_study": "32", "min_attendance_days": "2"})
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalar(select(Course))
        assert (course.hours_of_study, course.min_attendance_days) == (32, 2)
