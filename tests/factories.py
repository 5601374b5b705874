"""Rows made through the same services the pages use: users, courses, sessions, registrations,
attendance and certificates, articles and images.

make_user, book and the other builders that take `app` open their own application context (and
close it), so a test reads back only what was committed; make_course, make_session and the CMS
builders run in the caller's context.
"""
from __future__ import annotations

import functools
import io
import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.security import generate_password_hash

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.models import Registration
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.certificates import service as certificates
from app.cms import service as cms
from app.cms.service import ArticleInput
from app.common.db import begin_write
from app.common.time import utcnow
from app.demo.questions import seed_questions
from app.extensions import db
from app.payments import refunds
from app.payments import service as payments
from app.payments.models import PaymentProvider
from app.questions import service as questions
from app.questions.models import QuestionKind
from app.questions.service import QuestionInput
from app.roster import service as roster

PASSWORD = "secret-pass-1"


# --- people -----------------------------------------------------------------------------------

def make_user(app, email: str, role: Role = Role.STUDENT, name: str = "张三", phone: str | None = None) -> int:
    with app.test_request_context():
        user = accounts.register_user(email, PASSWORD, name, phone, role=role)
        user_id = user.id
        db.session.remove()
    return user_id


@functools.cache
def _password_hash() -> str:
    """One scrypt hash of PASSWORD for the accounts inserted directly."""
    return generate_password_hash(PASSWORD)


def make_students(app, count: int, first_number: int = 0) -> list[int]:
    """`count` students with complete profiles, inserted in one transaction with one password hash
    (these tests are about seats, not sign-up, and scrypt would cost 50 ms per account)."""
    password_hash = _password_hash()
    with app.app_context():
        begin_write()
        users = [
            User(email=f"racer{n}@example.com", name=f"学员{n}", phone=f"139{n:08d}",
                 role=Role.STUDENT, password_hash=password_hash)
            for n in range(first_number, first_number + count)
        ]
        db.session.add_all(users)
        db.session.commit()
        ids = [user.id for user in users]
        db.session.remove()
    return ids


def make_person(app, name: str, phone: str, email: str | None = None) -> int:
    """A student account, inserted directly (scrypt per account would make these tests slow)."""
    with app.app_context():
        begin_write()
        user = User(email=(email or f"p{phone}@example.com").lower(), name=name, phone=phone, role=Role.STUDENT,
                    password_hash=_password_hash())
        db.session.add(user)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    return user_id


# --- courses and sessions ---------------------------------------------------------------------

def make_course(title: str = "快速玩转小红书成长特训营", published: bool = True, **fields) -> int:
    course = catalog.create_course(
        title=title, platform=fields.pop("platform", "小红书"), duration_label=fields.pop("duration_label", "3天2夜"),
        is_published=published, **fields,
    )
    return course.id


def make_session(course_id: int | None = None, capacity: int = 10, published: bool = True,
                 starts_in_days: int = 30, days: int = 3, price: str = "0.00", **fields) -> int:
    """A bookable session by default: published, registration open now, starting in a month, free
    (booking confirms at once; a paid session's booking holds the seat: pass a price)."""
    if course_id is None:
        course_id = make_course()
    starts_at = fields.pop("starts_at", utcnow().replace(microsecond=0) + timedelta(days=starts_in_days))
    camp = catalog.create_session(
        course_id,
        capacity=capacity,
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(days=days - 1, hours=9)),
        city=fields.pop("city", "杭州"),
        venue=fields.pop("venue", "玺承集团培训中心"),
        price=Decimal(price),
        is_published=published,
        **fields,
    )
    return camp.id


def new_course(app, title: str = "快速玩转小红书成长特训营", slug: str = "xhs") -> int:
    """make_course in its own application context."""
    with app.app_context():
        course_id = make_course(title, slug=slug)
        db.session.remove()
    return course_id


def new_session(app, course_id: int | None = None, **fields) -> int:
    """make_session in its own application context."""
    with app.app_context():
        session_id = make_session(course_id, **fields)
        db.session.remove()
    return session_id


# --- registration questions -------------------------------------------------------------------

def make_question(label: str, kind: QuestionKind = QuestionKind.SHORT_TEXT, *, course_id: int | None = None,
                  session_id: int | None = None, required: bool = False, choices: tuple[str, ...] = (),
                  shown_if: tuple[int, str] | None = None, help_text: str = "") -> int:
    """A question of a course (or of a session with its own set), through the builder's service;
    `shown_if`: (earlier question's id, its answer). Runs in the caller's context."""
    condition_id, condition_value = shown_if or (None, None)
    return questions.add_question(
        QuestionInput(kind=kind, label=label, help_text=help_text, required=required, choices=list(choices),
                      condition_question_id=condition_id, condition_value=condition_value),
        course_id=course_id, session_id=session_id).id


def xhs_questions(app, course_id: int) -> dict[str, int]:
    """The 小红书 camp's example set (app/demo/questions.py) on a course: {label: question id}."""
    with app.app_context():
        ids = {question.label: question.id for question in seed_questions(course_id)}
        db.session.remove()
    return ids


# --- registrations ----------------------------------------------------------------------------

def book(app, user_id: int, session_id: int, source: str = "web", at: datetime | None = None) -> int:
    """Book as the student would (a seat, or the waitlist when full): the registration's id.
    `at` is when; by default now, or the day before the session starts if that is earlier."""
    with app.test_request_context():
        camp = db.session.get(CampSession, session_id)
        at = at or min(utcnow(), camp.starts_at - timedelta(days=1))
        registration_id = booking.book_seat(db.session.get(User, user_id), session_id, source=source,
                                            now=at).registration.id
        db.session.remove()
    return registration_id


# --- money: payments and refunds (app/payments/service.py) ---------------------------------------

def pay(app, registration_id: int, transaction_id: str, amount: Decimal | None = None,
        provider: PaymentProvider = PaymentProvider.WECHAT, paid_at: datetime | None = None) -> int:
    """The student opens an order with `provider` and the provider says it was paid (`amount`, by
    default what is due, at `paid_at`, by default now): the payment's id."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        amount = registration.amount_due if amount is None else amount
        order = payments.open_order(registration_id, db.session.get(User, registration.user_id), provider,
                                    "transfer" if provider is PaymentProvider.BANK else "native")
        outcome = payments.record_payment(provider, order.out_trade_no, transaction_id, amount, paid_at or utcnow())
        payment_id = outcome.payment.id
        db.session.remove()
    return payment_id


def staff_refund(app, registration_id: int, amount: str, reason: str, staff_id: int) -> list[int]:
    """Staff give back `amount` of what the registration paid: the refund requests' ids."""
    with app.test_request_context():
        requests = refunds.refund(registration_id, Decimal(amount), reason, db.session.get(User, staff_id))
        ids = [request.id for request in requests]
        db.session.remove()
    return ids


def settle(app, request_id: int, provider_refund_id: str, at: datetime | None = None) -> None:
    """The provider accepted the refund (what the refund worker records)."""
    with app.test_request_context():
        refunds.settle_refund(request_id, provider_refund_id, now=at)
        db.session.remove()


# --- a finished cohort: attendance and certificates -------------------------------------------

STARTS = datetime(2025, 9, 17, 1, 0, tzinfo=UTC)  # 9.17 09:00 in Shanghai
ENDS = datetime(2025, 9, 19, 10, 0, tzinfo=UTC)  # 9.19 18:00
DAYS = [date(2025, 9, 17), date(2025, 9, 18), date(2025, 9, 19)]
BOOKED = STARTS - timedelta(days=30)
AFTER = ENDS + timedelta(hours=2)


_student_numbers = itertools.count(0, 100)  # each cohort's students get their own emails and phones


def finished_cohort(app, people: int, min_days: int | None = None, capacity: int = 50) -> tuple[int, list[int]]:
    """A finished 3-day session with `people` confirmed registrations; returns (session, registrations)."""
    students = make_students(app, people, first_number=next(_student_numbers))
    with app.app_context():
        course_id = make_course(slug=f"xhs-{people}-{min_days}")
        if min_days is not None:
            catalog.update_course(course_id, min_attendance_days=min_days)
        session_id = make_session(course_id, capacity=capacity, starts_at=STARTS, ends_at=ENDS, city="杭州")
        registrations = [booking.book_seat(db.session.get(User, uid), session_id, now=BOOKED).registration.id
                         for uid in students]
        db.session.remove()
    return session_id, registrations


def attend(app, registration_id: int, days: list[date], staff_id: int) -> None:
    with app.app_context():
        for day in days:
            roster.set_attendance(registration_id, day, True, db.session.get(User, staff_id))
        db.session.remove()


def cohort(app, staff_id: int, people: int, attending: int | None = None) -> tuple[int, list[int]]:
    """A finished 3-day session; the first `attending` people (default all) came every day."""
    session_id, registrations = finished_cohort(app, people)
    for registration_id in registrations[: people if attending is None else attending]:
        attend(app, registration_id, DAYS, staff_id)
    return session_id, registrations


def issue(app, registration_id: int, staff_id: int, reason: str | None = None) -> int:
    with app.app_context():
        certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff_id), reason=reason,
                                                     now=AFTER)
        certificate_id = certificate.id
        db.session.remove()
    return certificate_id


def revoke(app, certificate_id: int, staff_id: int, reason: str = "代签到") -> None:
    with app.app_context():
        certificates.revoke_certificate(certificate_id, db.session.get(User, staff_id), reason)
        db.session.remove()


def rename_person(app, registration_id: int, name: str) -> None:
    """Change the registration's student's name directly (the profile form's rules are not under test)."""
    user_id = person_of(app, registration_id)["id"]
    with app.app_context():
        begin_write()
        db.session.get(User, user_id).name = name
        db.session.commit()
        db.session.remove()


def person_of(app, registration_id: int) -> dict:
    """The registration's student: name, email, phone, id."""
    with app.app_context():
        user = db.session.get(Registration, registration_id).user
        found = {"id": user.id, "name": user.name, "email": user.email, "phone": user.phone}
        db.session.remove()
    return found


# --- articles and images ----------------------------------------------------------------------

def make_editor(app) -> int:
    return make_user(app, "editor@example.com", Role.ADMIN, "王编辑", "13800000009")


def editor() -> User:
    return db.session.scalar(db.select(User).where(User.email == "editor@example.com"))


def days_ago(days: float) -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(days=days)


def write_article(title: str, *, body: str = "正文内容。", summary: str = "", column_id: int | None = None,
                  tags: tuple[str, ...] = (), slug: str = "", author: str = "玺承集团", cover: str | None = None,
                  seo: str = "", status: str = "published", publish_at: datetime | None = None) -> int:
    """An article in `status`: published at `publish_at` (default an hour ago), scheduled for
    `publish_at`, archived after being published, or a draft. Needs an app context and make_editor."""
    actor = editor()
    article = cms.create_article(ArticleInput(
        title=title, slug=slug, summary=summary, body=body, author_name=author, seo_description=seo,
        cover_image=cover, column_id=column_id, tag_names=list(tags),
    ), actor)
    article_id = article.id
    if status in ("published", "archived"):
        when = publish_at or utcnow() - timedelta(hours=1)
        cms.publish_article(article_id, actor, now=when)
    if status == "archived":
        cms.archive_article(article_id, actor)
    if status == "scheduled":
        cms.schedule_article(article_id, publish_at or utcnow() + timedelta(days=1), actor)
    return article_id


def make_column(name: str, slug: str, position: int = 0) -> int:
    return cms.create_column(name, slug=slug, description=f"{name}栏目", position=position).id


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (215, 38, 61)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_png(name: str = "封面.png") -> str:
    """An image uploaded the way the editor does; returns its stored file name."""
    upload = FileStorage(stream=io.BytesIO(png_bytes()), filename=name, content_type="image/png")
    return cms.save_image(upload, editor()).filename
