"""团体报名's pages as a booker uses them: the form books a group of three, a mistake keeps what was
typed (rare characters and pasted phones too), too few seats offers fewer or the waiting list, the
group page replaces (换人) and cancels an attendee, and nobody else sees a group; staff see the group
on the roster and replace from a registration's page. SQLite and PostgreSQL alike."""
from __future__ import annotations

import csv
import html
import io

from sqlalchemy import select

from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.extensions import db
from tests.factories import PASSWORD, make_person, make_students, new_course, new_session, xhs_questions
from tests.helpers import csrf_token_from, field_errors, login, text_of

S = RegistrationStatus

TEAM = [("王喆", "138 0013 8001", "wangzhe@example.com"), ("李堃", "+86 138-0013-8002", ""),
        ("𠮷田䶮", "１３８００１３８００３", "JITIAN@Example.com")]


def booker_client(app):
    make_person(app, "赵经理", "13600000001", "manager@example.com")
    client = app.test_client()
    assert login(client, "manager@example.com", PASSWORD).status_code == 302
    return client


def attendee_fields(team=TEAM, answers=None) -> dict:
    data = {}
    for n, (name, phone, email) in enumerate(team):
        data.update({f"a{n}-name": name, f"a{n}-phone": phone, f"a{n}-email": email})
        for question_id, value in (answers or {}).items():
            data[f"a{n}-q{question_id}"] = value
    return data


def post_group(client, session_id: int, data: dict, **kwargs):
    page = client.get(f"/sessions/{session_id}/book-group")
    return client.post(f"/sessions/{session_id}/book-group",
                       data={**data, "csrf_token": csrf_token_from(text_of(page))}, **kwargs)


def registrations(app, session_id: int) -> list[tuple[str, str, S, int | None]]:
    with app.app_context():
        found = db.session.scalars(select(Registration).where(Registration.session_id == session_id)
                                   .order_by(Registration.id)).all()
        return [(r.user.name, r.user.phone, r.status, r.group_id) for r in found]


def only_group(app) -> int:
    with app.app_context():
        return db.session.scalar(select(GroupBooking.id))


def fill(app, session_id: int, how_many: int) -> None:
    from app.accounts.models import User
    from app.booking import service as booking

    for user_id in make_students(app, how_many, first_number=70):
        with app.test_request_context():
            booking.book_seat(db.session.get(User, user_id), session_id)


# --- the entry --------------------------------------------------------------------------------------

def test_the_booking_and_course_pages_offer_group_booking_where_the_session_takes_it(app):
    client = booker_client(app)
    course_id = new_course(app)
    offered = new_session(app, course_id, capacity=10, max_group_size=5)
    assert "团体报名（为多人报名）" in text_of(client.get(f"/sessions/{offered}/book"))
    assert f"/sessions/{offered}/book-group" in text_of(client.get("/courses/xhs"))
    for off in (new_session(app, course_id, capacity=10, max_group_size=1),
                new_session(app, course_id, capacity=10, requires_approval=True)):
        assert "团体报名（为多人报名）" not in text_of(client.get(f"/sessions/{off}/book"))
        page = text_of(client.get(f"/sessions/{off}/book-group"))
        assert "a0-name" not in page and "请每位学员分别" in page


def test_the_form_starts_with_two_attendees_or_as_many_as_asked(app):
    client = booker_client(app)
    session_id = new_session(app, capacity=10, max_group_size=4)
    assert 'name="a1-name"' in text_of(client.get(f"/sessions/{session_id}/book-group"))
    assert 'name="a2-name"' not in text_of(client.get(f"/sessions/{session_id}/book-group"))
    page = text_of(client.get(f"/sessions/{session_id}/book-group?n=9"))
    assert 'name="a3-name"' in page and 'name="a4-name"' not in page  # at most the session's maximum


def test_the_group_page_needs_a_login(app, client):
    session_id = new_session(app, capacity=10)
    assert client.get(f"/sessions/{session_id}/book-group").status_code == 302


# --- booking ----------------------------------------------------------------------------------------

def test_the_form_books_three_attendees_with_their_answers_and_shows_the_group(app):
    course_id = new_course(app)
    asked = xhs_questions(app, course_id)
    session_id = new_session(app, course_id, capacity=10)
    client = booker_client(app)
    page = text_of(client.get(f"/sessions/{session_id}/book-group"))
    assert f'name="a0-q{asked["公司名称"]}"' in page  # each attendee answers the questions
    answers = _required(app, session_id) | {asked["公司名称"]: "𠮷祥电商"}

    response = post_group(client, session_id, attendee_fields(answers=answers))

    group_id = only_group(app)
    assert response.status_code == 302 and response.headers["Location"] == f"/me/groups/{group_id}"
    assert registrations(app, session_id) == [("王喆", "13800138001", S.CONFIRMED, group_id),
                                              ("李堃", "13800138002", S.CONFIRMED, group_id),
                                              ("𠮷田䶮", "13800138003", S.CONFIRMED, group_id)]
    group_page = text_of(client.get(f"/me/groups/{group_id}"))
    assert "团体报名成功" in group_page
    for name in ("王喆", "李堃", "𠮷田䶮"):
        assert name in group_page
    assert group_page.count("电子票 · 入场二维码") == 3
    # 我的报名 lists the group the person booked.
    mine = text_of(client.get("/me/registrations"))
    assert f"/me/groups/{group_id}" in mine and "王喆、李堃、𠮷田䶮" in mine


def test_a_mistake_is_shown_next_to_its_field_and_nothing_typed_is_lost(app):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    team = [TEAM[0], ("李", "+86 138-0013-8002", ""), ("𠮷田䶮", "1380013800", "not-an-email")]

    response = post_group(client, session_id, attendee_fields(team))

    assert response.status_code == 200
    errors = field_errors(response)
    assert any("姓名长度" in e for e in errors) and any("11 位" in e for e in errors)
    assert any("邮箱格式" in e for e in errors)
    page = html.unescape(text_of(response))
    for value in ("王喆", "wangzhe@example.com", "+86 138-0013-8002", "𠮷田䶮", "1380013800", "not-an-email"):
        assert f'value="{value}"' in page
    assert registrations(app, session_id) == []


def test_a_nul_byte_is_answered_400_with_the_reason(app):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    team = [("王\x00喆", "13800138001", ""), TEAM[1]]

    response = post_group(client, session_id, attendee_fields(team))

    assert response.status_code == 400
    assert any("控制字符" in e for e in field_errors(response))
    assert registrations(app, session_id) == []


def test_a_post_without_the_csrf_token_is_refused(app):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    response = client.post(f"/sessions/{session_id}/book-group", data=attendee_fields())
    assert response.status_code == 400
    assert registrations(app, session_id) == []
    group_id, ids = booked_group(app, client, session_id)
    replaced = client.post(f"/me/registrations/{ids[0]}/replace",
                           data={f"r{ids[0]}-name": "欧阳娜娜", f"r{ids[0]}-phone": "13800138009"})
    assert replaced.status_code == 400
    with app.app_context():
        assert db.session.get(Registration, ids[0]).user.name == "王喆"


def test_too_few_seats_offers_fewer_or_the_whole_group_on_the_waiting_list(app):
    session_id = new_session(app, capacity=4)
    fill(app, session_id, 2)
    client = booker_client(app)

    refused = post_group(client, session_id, attendee_fields())

    page = text_of(refused)
    assert refused.status_code == 200 and "剩余名额只有 2 个" in page
    assert 'name="keep" value="2"' in page and 'name="join_waitlist" value="1"' in page
    assert 'value="𠮷田䶮"' in page  # all three still typed in
    # Fewer: the form again with the first two.
    fewer = post_group(client, session_id, {**attendee_fields(), "keep": "2"})
    assert 'value="李堃"' in text_of(fewer) and 'value="𠮷田䶮"' not in text_of(fewer)
    # Or the whole group waits.
    waiting = post_group(client, session_id, {**attendee_fields(), "join_waitlist": "1"}, follow_redirects=True)
    assert "整组加入候补" in text_of(waiting) and "候补第 1 位" in text_of(waiting)
    assert [status for *_, status, _group in registrations(app, session_id)][2:] == [S.WAITLISTED] * 3


def test_fewer_attendees_then_fit(app):
    session_id = new_session(app, capacity=4)
    fill(app, session_id, 2)
    client = booker_client(app)
    response = post_group(client, session_id, attendee_fields(TEAM[:2]))
    assert response.status_code == 302
    assert [status for *_, status, _group in registrations(app, session_id)] == [S.CONFIRMED] * 4


def test_add_and_remove_work_without_javascript(app):
    session_id = new_session(app, capacity=10, max_group_size=3)
    client = booker_client(app)
    added = text_of(post_group(client, session_id, {**attendee_fields(TEAM[:2]), "add": "1"}))
    assert 'name="a2-name"' in added and 'value="李堃"' in added
    removed = text_of(post_group(client, session_id, {**attendee_fields(), "remove": "1"}))
    assert 'value="李堃"' not in removed
    assert 'name="a1-name" class="input" type="text" value="𠮷田䶮"' in html.unescape(removed)
    me = text_of(post_group(client, session_id, {**attendee_fields([("", "", ""), TEAM[1]]), "me": "1"}))
    assert 'value="赵经理"' in me and 'value="13600000001"' in me
    assert registrations(app, session_id) == []


def test_a_paid_group_goes_to_its_pay_page(app):
    session_id = new_session(app, capacity=10, price="3980.00")
    client = booker_client(app)
    response = post_group(client, session_id, attendee_fields())
    group_id = only_group(app)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/me/groups/{group_id}/pay"
    page = text_of(client.get(f"/me/groups/{group_id}"))
    assert "3 个名额待支付" in page and "¥11,940.00" in page


# --- the group page ---------------------------------------------------------------------------------

def booked_group(app, client, session_id: int) -> tuple[int, list[int]]:
    assert post_group(client, session_id, attendee_fields()).status_code == 302
    with app.app_context():
        group = db.session.scalar(select(GroupBooking))
        return group.id, [r.id for r in group.registrations]


def test_the_booker_replaces_an_attendee_from_the_group_page(app):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    group_id, (first, *_rest) = booked_group(app, client, session_id)
    with app.app_context():
        old_code = db.session.get(Registration, first).ticket_code
    page = text_of(client.get(f"/me/groups/{group_id}"))
    assert f'name="r{first}-name"' in page

    token = csrf_token_from(page)
    wrong = client.post(f"/me/registrations/{first}/replace",
                        data={f"r{first}-name": "欧", f"r{first}-phone": "13800138009", "csrf_token": token})
    assert wrong.status_code == 200 and any("姓名长度" in e for e in field_errors(wrong))
    assert 'value="13800138009"' in text_of(wrong)

    done = client.post(f"/me/registrations/{first}/replace", follow_redirects=True,
                       data={f"r{first}-name": "欧阳娜娜", f"r{first}-phone": "13800138009", "csrf_token": token})
    assert "已换人：王喆 → 欧阳娜娜" in text_of(done)
    with app.app_context():
        replaced = db.session.get(Registration, first)
        assert (replaced.user.name, replaced.status) == ("欧阳娜娜", S.CONFIRMED)
        assert replaced.ticket_code != old_code


def test_the_booker_opens_each_attendees_ticket_and_cancels_one(app):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    group_id, ids = booked_group(app, client, session_id)
    ticket = text_of(client.get(f"/me/registrations/{ids[2]}"))
    assert "𠮷田䶮" in ticket and "入场二维码" in ticket and f"/me/groups/{group_id}" in ticket

    page = text_of(client.get(f"/me/groups/{group_id}"))
    response = client.post(f"/me/registrations/{ids[1]}/cancel", data={"csrf_token": csrf_token_from(page)})

    assert response.headers["Location"] == f"/me/groups/{group_id}"
    assert [status for *_, status, _g in registrations(app, session_id)] == [S.CONFIRMED, S.CANCELLED, S.CONFIRMED]


def test_a_booker_typing_someones_phone_never_learns_their_account_name_or_email(app):
    """The phone typed is already an account's (another name, an email): that account is booked,
    but the booker's pages and email show the name they typed, and no address they did not type."""
    session_id = new_session(app, capacity=10)
    make_person(app, "司马光", "13800138001", "sima.guang@example.com")
    client = booker_client(app)
    group_id, ids = booked_group(app, client, session_id)

    shown = [text_of(client.get(f"/me/groups/{group_id}")), text_of(client.get(f"/me/registrations/{ids[0]}")),
             text_of(client.get("/me/registrations"))]

    assert all("王喆" in page for page in shown)
    assert not any("司马光" in page or "sima.guang" in page for page in shown)
    assert registrations(app, session_id)[0][0] == "司马光"  # the account booked is the phone's


def test_someone_elses_group_and_its_tickets_are_not_found(app, student_client):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    group_id, ids = booked_group(app, client, session_id)
    assert student_client.get(f"/me/groups/{group_id}").status_code == 404
    assert student_client.get(f"/me/registrations/{ids[0]}").status_code == 404
    token = csrf_token_from(text_of(student_client.get("/me/registrations")))
    response = student_client.post(f"/me/registrations/{ids[0]}/replace",
                                   data={f"r{ids[0]}-name": "欧阳娜娜", f"r{ids[0]}-phone": "13800138009",
                                         "csrf_token": token})
    assert response.status_code == 404


def test_replacing_is_closed_after_the_cancellation_deadline(app):
    from datetime import timedelta

    from app.common.time import utcnow

    session_id = new_session(app, capacity=10, cancellation_deadline=utcnow() + timedelta(minutes=1))
    client = booker_client(app)
    group_id, ids = booked_group(app, client, session_id)
    token = csrf_token_from(text_of(client.get(f"/me/groups/{group_id}")))
    with app.app_context():
        from app.catalog.models import CampSession
        db.session.get(CampSession, session_id).cancellation_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = text_of(client.get(f"/me/groups/{group_id}"))
    assert "已过取消截止时间" in page and f'name="r{ids[0]}-name"' not in page
    response = client.post(f"/me/registrations/{ids[0]}/replace", follow_redirects=True,
                           data={f"r{ids[0]}-name": "欧阳娜娜", f"r{ids[0]}-phone": "13800138009", "csrf_token": token})
    assert "不能再换人" in text_of(response)


# --- staff ------------------------------------------------------------------------------------------

def test_staff_see_the_group_on_the_roster_and_replace_from_the_registration_page(app, staff_client):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    group_id, ids = booked_group(app, client, session_id)

    roster = text_of(staff_client.get(f"/staff/sessions/{session_id}/roster"))
    assert f"团体 #{group_id}" in roster and "赵经理" in roster
    only_group_rows = text_of(staff_client.get(f"/staff/sessions/{session_id}/roster?group={group_id}"))
    assert "共 3 人" in only_group_rows

    page = text_of(staff_client.get(f"/staff/registrations/{ids[0]}"))
    assert f"团体 #{group_id}" in page and f'name="r{ids[0]}-name"' in page
    refused = staff_client.post(f"/staff/registrations/{ids[0]}/replace",
                                data={f"r{ids[0]}-name": "欧阳\x00娜娜", f"r{ids[0]}-phone": "13800138009",
                                      "csrf_token": csrf_token_from(page)})
    assert refused.status_code == 400 and any("控制字符" in e for e in field_errors(refused))
    response = staff_client.post(f"/staff/registrations/{ids[0]}/replace", follow_redirects=True,
                                 data={f"r{ids[0]}-name": "欧阳娜娜", f"r{ids[0]}-phone": "13800138009",
                                       "csrf_token": csrf_token_from(page)})
    assert "已换人：王喆 → 欧阳娜娜" in text_of(response)
    with app.app_context():
        assert db.session.get(Registration, ids[0]).user.name == "欧阳娜娜"


def test_the_session_form_sets_the_group_maximum(app, admin_client):
    from tests.helpers import submit_form

    session_id = new_session(app, capacity=10)
    url = f"/admin/courses/sessions/{session_id}/edit"
    page = text_of(admin_client.get(url))
    assert "1 表示不接受团体报名" in page and 'name="max_group_size"' in page
    form = {"label": "第1期", "starts_at": "2027-03-01T09:00", "ends_at": "2027-03-03T18:00", "city": "杭州",
            "venue": "培训中心", "price": "0", "capacity": "10", "is_published": "y"}
    assert "应在 1 到 50 之间" in text_of(submit_form(admin_client, url, {**form, "max_group_size": "51"}))
    assert submit_form(admin_client, url, {**form, "max_group_size": "1"}).status_code == 302
    assert submit_form(admin_client, url, form).status_code == 302  # left empty: kept
    with app.app_context():
        from app.catalog.models import CampSession
        assert db.session.get(CampSession, session_id).max_group_size == 1


def _required(app, session_id: int) -> dict[int, str]:
    from tests.test_booking_groups import _required_answers

    return _required_answers(app, session_id)


def test_the_roster_exports_name_each_attendees_group(app, staff_client):
    session_id = new_session(app, capacity=10)
    client = booker_client(app)
    group_id, _ids = booked_group(app, client, session_id)

    body = staff_client.get(f"/staff/sessions/{session_id}/roster.csv").get_data().decode("utf-8-sig")

    rows = list(csv.reader(io.StringIO(body)))
    column = rows[0].index("团体报名")
    assert [row[column] for row in rows[1:]] == [f"团体 #{group_id}（赵经理 代报）"] * 3
