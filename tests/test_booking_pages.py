"""The booking pages as a student uses them: find a session, book it in two taps, see 我的报名, cancel."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import PASSWORD, book, make_course, make_session, make_user
from tests.helpers import csrf_token_from, login, recorded_statements, statements_for, submit_form


def _session(app, **kwargs) -> int:
    with app.app_context():
        return make_session(**kwargs)


def _registrations(app, session_id: int) -> list[Registration]:
    with app.app_context():
        return list(db.session.scalars(select(Registration).where(Registration.session_id == session_id)))


def _fill_session(app, session_id: int, how_many: int) -> None:
    for number in range(how_many):
        user_id = make_user(app, f"filler{number}@example.com", name="占位学员", phone=f"1370000{number:04d}")
        with app.test_request_context():
            booking.book_seat(db.session.get(User, user_id), session_id)


def test_catalogue_shows_published_courses_with_live_availability(app, client):
    with app.app_context():
        course_id = make_course("快速玩转小红书成长特训营", slug="xhs")
        make_session(course_id, capacity=60, price="3980.00")
        make_course("内部草稿课程", published=False, slug="draft")
    listing = client.get("/courses/").get_data(as_text=True)
    assert "快速玩转小红书成长特训营" in listing
    assert "内部草稿课程" not in listing
    assert "剩余 60 席" in listing
    page = client.get("/courses/xhs").get_data(as_text=True)
    assert "立即预约" in page and "¥3,980.00" in page
    assert client.get("/courses/draft").status_code == 404


def test_few_seats_left_and_full_sessions_say_so(app, client):
    nearly_full = _session(app, capacity=3)
    _fill_session(app, nearly_full, 1)
    page = client.get("/courses/").get_data(as_text=True)
    assert "名额有限，仅剩 2 席" in page
    _fill_session(app, nearly_full, 0)
    with app.app_context():
        booking.change_capacity(nearly_full, 1)
    page = client.get("/courses/").get_data(as_text=True)
    assert "已满，可加入候补" in page and "加入候补" in page


def test_anonymous_visitor_is_sent_to_login_and_back(app, client):
    session_id = _session(app)
    response = client.get(f"/sessions/{session_id}/book")
    assert response.status_code == 302
    assert "/account/login?next=" in response.headers["Location"]


def test_student_books_in_two_taps_and_sees_it_in_my_registrations(app, student_client):
    session_id = _session(app, capacity=10)
    page = student_client.get(f"/sessions/{session_id}/book").get_data(as_text=True)
    assert "确认预约" in page
    assert 'name="phone"' not in page  # the profile already has 姓名 and 手机号

    response = submit_form(student_client, f"/sessions/{session_id}/book", {"source": "web"})
    assert response.status_code == 302
    [registration] = _registrations(app, session_id)
    assert registration.status is RegistrationStatus.CONFIRMED

    mine = student_client.get("/me/registrations").get_data(as_text=True)
    assert "已确认" in mine and "快速玩转小红书成长特训营" in mine and "取消报名" in mine


def test_booking_again_does_not_duplicate(app, student_client):
    session_id = _session(app)
    submit_form(student_client, f"/sessions/{session_id}/book", {})
    response = student_client.get(f"/sessions/{session_id}/book")
    assert response.status_code == 302  # already booked: straight to 我的报名
    assert len(_registrations(app, session_id)) == 1


def test_the_form_asks_for_missing_phone_and_refuses_a_bad_one(app, client):
    make_user(app, "nophone@example.com", name="刘堃", phone=None)
    from tests.factories import PASSWORD
    from tests.helpers import login

    login(client, "nophone@example.com", PASSWORD)
    session_id = _session(app)
    page = client.get(f"/sessions/{session_id}/book").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="name"' not in page

    bad = submit_form(client, f"/sessions/{session_id}/book", {"phone": "12345"})
    assert bad.status_code == 200
    assert "请输入 11 位中国大陆手机号" in bad.get_data(as_text=True)
    assert _registrations(app, session_id) == []

    good = submit_form(client, f"/sessions/{session_id}/book", {"phone": "139-1234-5678"})
    assert good.status_code == 302
    assert len(_registrations(app, session_id)) == 1
    with app.app_context():
        assert db.session.scalar(select(User.phone).where(User.email == "nophone@example.com")) == "13912345678"


def _newcomer(app, client, email: str = "newcomer@example.com") -> int:
    """A student logged in whose profile has neither 姓名 nor 手机号: the booking form asks for both."""
    user_id = make_user(app, email, name=None, phone=None)
    assert login(client, email, PASSWORD).status_code == 302
    return user_id


def _profile(app, user_id: int) -> tuple[str | None, str | None]:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.name, user.phone


def _outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_booking_refused_after_the_form_was_shown_saves_nothing_of_the_profile(app, client):
    """姓名 and 手机号 are saved with the booking or not at all: here registration closed while the
    form was open, so the person is told why and the profile is as it was."""
    user_id = _newcomer(app, client)
    session_id = _session(app)
    page = client.get(f"/sessions/{session_id}/book").get_data(as_text=True)
    assert 'name="name"' in page and 'name="phone"' in page
    with app.app_context():
        catalog.update_session(session_id, registration_closes_at=utcnow() - timedelta(minutes=1))

    response = client.post(f"/sessions/{session_id}/book", data={
        "name": "𠮷田堃", "phone": "13912345678", "source": "web", "csrf_token": csrf_token_from(page)})

    assert response.status_code == 200 and "报名已截止" in response.get_data(as_text=True)
    assert _profile(app, user_id) == (None, None)
    assert _registrations(app, session_id) == [] and _outbox_count(app) == 0
    # Open again: the same form books, and saves the profile with it.
    with app.app_context():
        catalog.update_session(session_id, registration_closes_at=None)
    booked = submit_form(client, f"/sessions/{session_id}/book", {"name": "𠮷田堃", "phone": "13912345678"})
    assert booked.status_code == 302
    assert _profile(app, user_id) == ("𠮷田堃", "13912345678")
    assert [r.status for r in _registrations(app, session_id)] == [RegistrationStatus.CONFIRMED]


def test_a_phone_number_someone_else_has_books_nothing(app, client):
    make_user(app, "first@example.com", name="先来的", phone="13912345678")
    user_id = _newcomer(app, client)
    session_id = _session(app)

    response = submit_form(client, f"/sessions/{session_id}/book", {"name": "张喆", "phone": "13912345678"})

    assert response.status_code == 200 and "该手机号已被其他账号使用" in response.get_data(as_text=True)
    assert _profile(app, user_id) == (None, None)
    assert _registrations(app, session_id) == [] and _outbox_count(app) == 0


def test_a_complete_profile_books_in_the_statements_it_always_took(app, student, student_client):
    """The profile step adds nothing to a booking that needs none: the rush path is unchanged."""
    session_id = _session(app)
    page = student_client.get(f"/sessions/{session_id}/book").get_data(as_text=True)
    with app.app_context():
        dialect = db.engine.dialect.name
    with recorded_statements(app) as seen:
        response = student_client.post(f"/sessions/{session_id}/book",
                                       data={"source": "web", "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    writes = [sql for sql in seen if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH", "SAVEPOINT"))]
    # PostgreSQL: the one booking statement (a data-modifying WITH); SQLite: registration, counters,
    # email, audit entry.
    assert len(writes) == (1 if dialect == "postgresql" else 4), writes


def test_full_session_offers_the_waitlist_and_shows_the_position(app, student_client):
    session_id = _session(app, capacity=1)
    _fill_session(app, session_id, 1)
    page = student_client.get(f"/sessions/{session_id}/book").get_data(as_text=True)
    assert "本场名额已满" in page and "加入候补" in page

    submit_form(student_client, f"/sessions/{session_id}/book", {})
    mine = student_client.get("/me/registrations").get_data(as_text=True)
    assert "候补第 1 位" in mine


def test_closed_and_past_sessions_explain_why_they_cannot_be_booked(app, student_client):
    closed = _session(app, registration_closes_at=utcnow() - timedelta(hours=1))
    page = student_client.get(f"/sessions/{closed}/book").get_data(as_text=True)
    assert "报名已截止" in page and "确认预约" not in page
    response = submit_form(student_client, f"/sessions/{closed}/book", {}, form_page="/courses/")
    assert "报名已截止" in response.get_data(as_text=True)
    assert _registrations(app, closed) == []


def test_unpublished_or_unknown_session_is_not_found(app, student_client):
    draft = _session(app, published=False)
    assert student_client.get(f"/sessions/{draft}/book").status_code == 404
    assert student_client.get("/sessions/999999/book").status_code == 404


def test_booking_from_an_article_is_attributed_and_a_forged_source_is_ignored(app, student_client):
    first = _session(app)
    submit_form(student_client, f"/sessions/{first}/book", {"source": "article:12"})
    second = _session(app)
    submit_form(student_client, f"/sessions/{second}/book", {"source": "<script>"})
    assert _registrations(app, first)[0].source == "article:12"
    assert _registrations(app, second)[0].source == "web"


def test_student_cancels_and_the_seat_goes_to_the_waitlist(app, student_client):
    session_id = _session(app, capacity=1)
    submit_form(student_client, f"/sessions/{session_id}/book", {})
    waiting_id = make_user(app, "waiting@example.com", name="何喆", phone="13700009999")
    with app.test_request_context():
        booking.book_seat(db.session.get(User, waiting_id), session_id)
    [mine] = [r for r in _registrations(app, session_id) if r.user_id != waiting_id]

    response = submit_form(student_client, f"/me/registrations/{mine.id}/cancel", {}, form_page="/me/registrations")
    assert response.status_code == 302
    statuses = {r.user_id: r.status for r in _registrations(app, session_id)}
    assert statuses[mine.user_id] is RegistrationStatus.CANCELLED
    assert statuses[waiting_id] is RegistrationStatus.CONFIRMED
    assert "已取消" in student_client.get("/me/registrations").get_data(as_text=True)


def test_cancel_after_the_deadline_is_refused_with_a_reason(app, student_client):
    session_id = _session(app)
    submit_form(student_client, f"/sessions/{session_id}/book", {})
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        camp.cancellation_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    [registration] = _registrations(app, session_id)
    page = student_client.get("/me/registrations").get_data(as_text=True)
    assert "已过取消截止时间" in page

    response = submit_form(student_client, f"/me/registrations/{registration.id}/cancel", {},
                           form_page="/me/registrations", follow_redirects=True)
    assert "已过取消截止时间" in response.get_data(as_text=True)
    assert _registrations(app, session_id)[0].status is RegistrationStatus.CONFIRMED


def test_a_student_cannot_cancel_someone_elses_registration(app, student_client):
    session_id = _session(app)
    other_id = make_user(app, "other@example.com", name="严冬", phone="13700001111")
    with app.test_request_context():
        theirs = booking.book_seat(db.session.get(User, other_id), session_id).registration.id
    response = submit_form(student_client, f"/me/registrations/{theirs}/cancel", {},
                           form_page="/me/registrations", follow_redirects=True)
    assert "找不到这条报名记录" in response.get_data(as_text=True)
    assert _registrations(app, session_id)[0].status is RegistrationStatus.CONFIRMED


def test_cancel_without_csrf_token_changes_nothing(app, student_client):
    session_id = _session(app)
    submit_form(student_client, f"/sessions/{session_id}/book", {})
    [registration] = _registrations(app, session_id)
    response = student_client.post(f"/me/registrations/{registration.id}/cancel")
    assert response.status_code == 400
    assert _registrations(app, session_id)[0].status is RegistrationStatus.CONFIRMED


def _waitlisted_and_confirmed(app, user_id: int, sessions: range) -> None:
    """Full sessions where the person waits second in the queue, and as many with a seat."""
    for n in sessions:
        full = _session(app, capacity=1, starts_in_days=20 + n)
        for place in range(2):
            queued = make_user(app, f"q{n}-{place}@example.com", name="排队学员", phone=f"136{n:04d}{place:04d}")
            book(app, queued, full)
        book(app, user_id, full)
        book(app, user_id, _session(app, capacity=5, starts_in_days=40 + n))


def test_my_registrations_runs_the_same_statements_however_many_registrations(app, student, student_client):
    _waitlisted_and_confirmed(app, student, range(1))
    few = statements_for(app, student_client, "/me/registrations")
    _waitlisted_and_confirmed(app, student, range(1, 5))
    many = statements_for(app, student_client, "/me/registrations")

    assert len(many) == len(few)
    page = student_client.get("/me/registrations").get_data(as_text=True)
    assert page.count("候补第 2 位") == 5 and "候补第 1 位" not in page
