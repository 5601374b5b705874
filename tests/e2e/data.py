"""Test data a journey needs beyond the demo, written into the live site's database from the test
process through the app's own services (the same ones the site's pages call)."""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import sleep
from typing import TypeVar
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.models import User
from app.booking import service as booking
from app.booking import tickets
from app.booking.models import Registration
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.cms import queries as cms_queries
from app.cms import service as cms
from app.common.time import utcnow
from app.extensions import db
from app.questions.queries import questions_of
from app.roster.models import Attendance
from tests.e2e.pages import DEMO_PASSWORD
from tests.e2e.server import COUNT_FLUSH_SECONDS
from tests.factories import make_course, make_question, make_session

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


def _in_site(site, work: Callable[[], T]) -> T:
    with site.app.test_request_context():
        try:
            return work()
        finally:
            db.session.remove()


def phone_number(width: int, number: int) -> str:
    """A mobile number of its own for each person of each run of a journey (11 digits). The journeys
    share one site, so each keeps to its own numbers: visitor 1, waitlist 2-3, check-in 10-19, reader
    20, camera check-in 40-50, staff roster 60-69, staff payments 70, staff review 80-89, group booking 120-129."""
    return f"1371{width:04d}{number:03d}"


def make_student(site, email: str, name: str, phone: str) -> int:
    return _in_site(site, lambda: accounts.register_user(email, DEMO_PASSWORD, name, phone).id)


@dataclass(frozen=True)
class Camp:
    session_id: int
    course_title: str
    course_slug: str


def _camp(session_id: int) -> Camp:
    camp = db.session.get(CampSession, session_id)
    return Camp(session_id, camp.course.title, camp.course.slug)


def full_session(site, title: str, seat_holder_id: int) -> Camp:
    """A session with one seat, held by `seat_holder_id`: the next booking joins the waitlist."""
    def work() -> Camp:
        session_id = make_session(make_course(title, platform="私域", duration_label="1天"), capacity=1, days=1)
        booking.book_seat(db.session.get(User, seat_holder_id), session_id)
        return _camp(session_id)
    return _in_site(site, work)


def session_today(site, title: str, student_ids: list[int]) -> tuple[Camp, dict[int, str]]:
    """A one-day session running today (Shanghai), so the door accepts tickets now; the students
    booked it ten days ago, while registration was open. Returns it and each student's ticket code."""
    def work() -> tuple[Camp, dict[int, str]]:
        today = utcnow().astimezone(SHANGHAI).date()
        starts_at = datetime.combine(today, time(0, 1), SHANGHAI)
        session_id = make_session(make_course(title, platform="抖音", duration_label="1天"), capacity=10,
                                  starts_at=starts_at, ends_at=datetime.combine(today, time(23, 59), SHANGHAI))
        booked_at = starts_at - timedelta(days=10)
        codes = {}
        for user_id in student_ids:
            outcome = booking.book_seat(db.session.get(User, user_id), session_id, now=booked_at)
            codes[user_id] = db.session.get(Registration, outcome.registration.id).ticket_code
        return _camp(session_id), codes
    return _in_site(site, work)


@dataclass(frozen=True)
class Story:
    article_id: int
    title: str
    slug: str
    camp: Camp


def article_with_card(site, title: str, course_title: str) -> Story:
    """A published article whose body carries a booking card for a session of its own (so its seat
    count and attributed bookings are this journey's alone)."""
    def work() -> Story:
        session_id = make_session(make_course(course_title, platform="小红书", duration_label="2天1夜"), capacity=30)
        body = (f"## 为什么现在做小红书\n\n平台正在全力发力电商，种草到成交的链路越来越短。\n\n"
                f"[[session:{session_id}]]\n\n## 三个常见误区\n\n- 只发笔记不做店铺\n- 只看点赞不看转化\n")
        admin = accounts.find_by_login("admin@example.com")
        article = cms.create_article(cms.ArticleInput(title=title, summary="小红书电商实操要点。", body=body), admin)
        cms.publish_article(article.id, admin)
        return Story(article.id, article.title, article.slug, _camp(session_id))
    return _in_site(site, work)


def funnel_of(site, article_id: int):
    """The article's views, booking-card clicks and attributed bookings, as the dashboard counts them
    once the workers have flushed the views and clicks they buffered (three flushes later)."""
    sleep(3 * COUNT_FLUSH_SECONDS)
    return _in_site(site, lambda: cms_queries.article_figures([article_id])[0])


def course_with_questions(site, title: str, labels: list[str]) -> int:
    """A published course with a session and these short-text registration questions, in order."""
    def work() -> int:
        course_id = make_course(title, platform="小红书", duration_label="2天1夜")
        make_session(course_id, capacity=20)
        for label in labels:
            make_question(label, course_id=course_id)
        return course_id
    return _in_site(site, work)


def question_labels(site, course_id: int) -> list[str]:
    """The course's registration questions, in their order, as stored."""
    return _in_site(site, lambda: [q.label for q in questions_of(course_id=course_id)])


def registration_source(site, email: str, session_id: int) -> str | None:
    def work() -> str | None:
        user = accounts.find_by_login(email)
        registration = booking.active_registration(user.id, session_id)
        return registration.source if registration else None
    return _in_site(site, work)


def upcoming_session_id(site, course_slug: str) -> int:
    """The next session of a demo course (seed-demo's 小红书 camp has one upcoming)."""
    def work() -> int:
        course = catalog.published_course_by_slug(course_slug)
        return catalog.upcoming_sessions(course)[0].id
    return _in_site(site, work)


def png_image(width: int = 640, height: int = 360) -> bytes:
    """A small poster to upload, as an editor's phone would have it."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (220, 38, 38)).save(buffer, format="PNG")
    return buffer.getvalue()


def ticket_qr_png(site, code: str) -> bytes:
    """The ticket's QR code as the student's confirmation email carries it (it holds the ticket link)."""
    return _in_site(site, lambda: tickets.ticket_qr_png(code))


def checked_in(site, session_id: int) -> list[tuple[str, date]]:
    """Who the site recorded as present in this session, and on which day: one row per person a day."""
    def work() -> list[tuple[str, date]]:
        rows = db.session.execute(
            select(User.name, Attendance.day)
            .join(Registration, Registration.id == Attendance.registration_id)
            .join(User, User.id == Registration.user_id)
            .where(Registration.session_id == session_id)
            .order_by(User.name)
        )
        return [tuple(row) for row in rows]
    return _in_site(site, work)


def three_day_session_today(site, title: str, student_ids: list[int], article_title: str) -> Camp:
    """A 3天2夜 camp whose first day is today (Shanghai), booked ten days ago by the students, the
    first of them through an article with a long title (the roster's 来源 column shows it)."""
    def work() -> Camp:
        today = utcnow().astimezone(SHANGHAI).date()
        starts_at = datetime.combine(today, time(0, 1), SHANGHAI)
        session_id = make_session(make_course(title, platform="小红书", duration_label="3天2夜"), capacity=10,
                                  starts_at=starts_at,
                                  ends_at=datetime.combine(today + timedelta(days=2), time(18, 0), SHANGHAI))
        admin = accounts.find_by_login("admin@example.com")
        article = cms.create_article(cms.ArticleInput(title=article_title, summary="导读。", body="正文。"), admin)
        cms.publish_article(article.id, admin)
        booked_at = starts_at - timedelta(days=10)
        for n, user_id in enumerate(student_ids):
            booking.book_seat(db.session.get(User, user_id), session_id, now=booked_at,
                              source=f"article:{article.id}" if n == 0 else "web")
        return _camp(session_id)
    return _in_site(site, work)


def session_with_applications(site, title: str, student_ids: list[int], capacity: int) -> Camp:
    """A session that requires approval (报名审核), each student's application pending, in order."""
    def work() -> Camp:
        session_id = make_session(make_course(title, platform="综合", duration_label="2天1夜"), capacity=capacity,
                                  requires_approval=True)
        for user_id in student_ids:
            booking.book_seat(db.session.get(User, user_id), session_id)
        return _camp(session_id)
    return _in_site(site, work)


def registration_statuses(site, session_id: int) -> list[str]:
    """The session's registrations' statuses, in the order they were made."""
    return _in_site(site, lambda: [status.value for status in db.session.scalars(
        select(Registration.status).where(Registration.session_id == session_id).order_by(Registration.id))])


def group_camp(site, title: str) -> Camp:
    """A free session of ten seats that takes 团体报名 (up to five), asking each attendee 公司名称."""
    def work() -> Camp:
        course_id = make_course(title, platform="小红书", duration_label="2天1夜")
        session_id = make_session(course_id, capacity=10, max_group_size=5)
        make_question("公司名称", course_id=course_id, required=True)
        return _camp(session_id)
    return _in_site(site, work)


def group_attendees(site, session_id: int) -> list[tuple[str, str, str]]:
    """The session's attendees booked in a group: name, phone and status, in booking order."""
    return _in_site(site, lambda: [(r.user.name, r.user.phone, r.status.value) for r in db.session.scalars(
        select(Registration).where(Registration.session_id == session_id, Registration.group_id.is_not(None))
        .order_by(Registration.id))])
