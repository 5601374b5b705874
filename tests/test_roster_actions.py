"""Staff actions on the roster pages: cancel, move, promote, capacity, add a person. Each goes
through one service function, leaves an audit entry and a history line, and on a refusal shows
the service's Chinese message and changes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.errors import RegistrationChanged
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import book, make_person, new_course, new_session
from tests.helpers import stored_registration, submit_form, text_of

CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED
CANCELLED = RegistrationStatus.CANCELLED


# --- reading the database back ----------------------------------------------------------------

def seats(app, session_id: int) -> tuple[int, int]:
    """(seats_taken, capacity)"""
    with app.app_context():
        camp = db.session.get(CampSession, session_id)
        return camp.seats_taken, camp.capacity


def audit(app, **where) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return entries


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def snapshot(app) -> tuple:
    """Everything an action could change: registrations, seats, accounts, audit, outbox."""
    with app.app_context():
        registrations = db.session.execute(
            select(Registration.id, Registration.session_id, Registration.status, Registration.waitlist_number)
            .order_by(Registration.id)).all()
        sessions = db.session.execute(
            select(CampSession.id, CampSession.seats_taken, CampSession.capacity, CampSession.waitlist_issued)
            .order_by(CampSession.id)).all()
        return (registrations, sessions, count(app, User), count(app, AuditEntry), count(app, OutboxMessage))


def act(client, registration_id: int, action: str, data: dict | None = None):
    """Post one of the registration page's forms, as staff do, and follow to the page shown next."""
    return submit_form(client, f"/staff/registrations/{registration_id}/{action}", data or {},
                       form_page=f"/staff/registrations/{registration_id}", follow_redirects=True)


# --- a small world --------------------------------------------------------------------------------

@pytest.fixture
def camp(app, staff):
    """《快速玩转小红书成长特训营》: session A (2 seats: 张喆, 王𠮷; 欧阳娜娜 waiting), session B (3 seats,
    1 taken by 李雷), session C (full: 1 seat, 韩梅梅); and another course's session D with room."""
    course_id = new_course(app)
    a = new_session(app, course_id, capacity=2, starts_in_days=20, label="第12期")
    b = new_session(app, course_id, capacity=3, starts_in_days=50, label="第13期")
    c = new_session(app, course_id, capacity=1, starts_in_days=80, label="第14期")
    d = new_session(app, new_course(app, "抖音电商爆单特训营", slug="douyin"), capacity=10)
    ids = {
        "张喆": book(app, make_person(app, "张喆", "13800000033", "zhangzhe@example.com"), a),
        "王𠮷": book(app, make_person(app, "王𠮷", "13912345678", "wangji@example.com"), a),
        "欧阳娜娜": book(app, make_person(app, "欧阳娜娜", "13700001111", "ouyang@example.com"), a),
        "李雷": book(app, make_person(app, "李雷", "13600002222", "lilei@example.com"), b),
        "韩梅梅": book(app, make_person(app, "韩梅梅", "13500003333", "hanmeimei@example.com"), c),
    }
    return {"a": a, "b": b, "c": c, "d": d, "ids": ids, "staff": staff}


# --- cancel -------------------------------------------------------------------------------------------

def test_staff_cancel_frees_the_seat_for_the_waitlist_and_is_audited_and_shown(app, staff_client, camp):
    zhang, ouyang = camp["ids"]["张喆"], camp["ids"]["欧阳娜娜"]

    page = text_of(act(staff_client, zhang, "cancel"))

    assert "已取消 张喆 的报名" in page
    assert "空出的名额已按候补顺序转正：欧阳娜娜" in page
    assert stored_registration(app, zhang).status is CANCELLED
    assert stored_registration(app, ouyang).status is CONFIRMED
    assert seats(app, camp["a"]) == (2, 2)
    booked, entry = audit(app, registration_id=zhang)
    # Booked by 张喆 themselves; both entries are about 张喆's account.
    assert booked.action == "registration.book"
    assert booked.actor_id == booked.account_id == entry.account_id == stored_registration(app, zhang).user_id
    assert (entry.action, entry.actor_id) == ("registration.cancel", camp["staff"])
    assert entry.before["status"] == "confirmed" and entry.after["status"] == "cancelled"
    assert "取消报名" in page and "李助教" in page and "已确认 → 已取消" in page  # the history line
    assert "取消报名</button>" not in page  # nothing left to cancel


def test_cancelling_a_waitlist_place_frees_no_seat(app, staff_client, camp):
    ouyang = camp["ids"]["欧阳娜娜"]

    page = text_of(act(staff_client, ouyang, "cancel"))

    assert stored_registration(app, ouyang).status is CANCELLED
    assert seats(app, camp["a"]) == (2, 2)
    assert "候补第 1 位 → 已取消" in page


def test_cancelling_twice_says_so_and_changes_nothing(app, staff_client, camp):
    zhang = camp["ids"]["张喆"]
    act(staff_client, zhang, "cancel")
    before = snapshot(app)

    page = text_of(act(staff_client, zhang, "cancel"))

    assert "这条报名已经取消或已过期" in page
    assert snapshot(app) == before


# --- move -------------------------------------------------------------------------------------------

def test_staff_move_a_confirmed_person_to_another_session_of_the_course(app, staff_client, camp):
    zhang, ouyang = camp["ids"]["张喆"], camp["ids"]["欧阳娜娜"]
    form_page = text_of(staff_client.get(f"/staff/registrations/{zhang}"))
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', form_page)
    assert [int(value) for value, _ in options] == [camp["b"], camp["c"]]  # the course's other sessions only
    assert options[0][1].endswith("第13期 · 剩余 2 席") and options[1][1].endswith("第14期（已满）")  # seats left
    assert f'<option disabled value="{camp["c"]}">' in form_page  # full: shown, not selectable

    page = text_of(act(staff_client, zhang, "move", {"target_session_id": camp["b"]}))

    assert "已将 张喆 调至" in page and "第13期" in page
    moved = stored_registration(app, zhang)
    assert (moved.session_id, moved.status) == (camp["b"], CONFIRMED)
    assert seats(app, camp["b"]) == (2, 3)
    assert seats(app, camp["a"]) == (2, 2)  # the freed seat went to 欧阳娜娜
    assert stored_registration(app, ouyang).status is CONFIRMED
    _booked, entry = audit(app, registration_id=zhang)
    assert (entry.action, entry.actor_id) == ("registration.move", camp["staff"])
    assert (entry.before["session_id"], entry.after["session_id"]) == (camp["a"], camp["b"])
    assert "调整场次" in page and "第12期 → " in page and " → 已确认 · " in page


def test_staff_move_a_waitlisted_person_into_a_free_seat_elsewhere(app, staff_client, camp):
    ouyang = camp["ids"]["欧阳娜娜"]

    act(staff_client, ouyang, "move", {"target_session_id": camp["b"]})

    moved = stored_registration(app, ouyang)
    assert (moved.session_id, moved.status, moved.waitlist_number) == (camp["b"], CONFIRMED, None)
    assert seats(app, camp["a"]) == (2, 2) and seats(app, camp["b"]) == (2, 3)


@pytest.mark.parametrize(("target", "message"), [
    ("c", "该场次已满，没有空余名额"),
    ("d", "只能调到同一门课程的其他场次"),
    ("a", "已经在这个场次了"),
    (999999, "找不到这个场次"),
    ("not-a-number", "请选择要调往的场次"),
    ("", "请选择要调往的场次"),
])
def test_a_refused_move_says_why_and_changes_nothing(app, staff_client, camp, target, message):
    zhang = camp["ids"]["张喆"]
    before = snapshot(app)

    page = text_of(act(staff_client, zhang, "move", {"target_session_id": camp.get(target, target)}))

    assert message in page
    assert snapshot(app) == before


def test_moving_a_cancelled_registration_is_refused(app, staff_client, camp):
    zhang = camp["ids"]["张喆"]
    act(staff_client, zhang, "cancel")
    before = snapshot(app)

    page = text_of(act(staff_client, zhang, "move", {"target_session_id": camp["b"]}))

    assert "这条报名已经取消或已过期" in page
    assert snapshot(app) == before


# --- promote ---------------------------------------------------------------------------------------

def test_staff_promote_a_waitlisted_person_by_hand(app, staff_client, camp):
    ouyang = camp["ids"]["欧阳娜娜"]
    form_page = text_of(staff_client.get(f"/staff/registrations/{ouyang}"))
    assert "手动转正" in form_page and "候补第 1 位" in form_page

    page = text_of(act(staff_client, ouyang, "promote"))

    assert "欧阳娜娜 已转正" in page
    assert stored_registration(app, ouyang).status is CONFIRMED
    taken, capacity = seats(app, camp["a"])
    assert taken == 3 and capacity >= taken  # never beyond capacity
    promotion = [e for e in audit(app, registration_id=ouyang) if e.action == "registration.promote"]
    assert len(promotion) == 1 and promotion[0].actor_id == camp["staff"]
    assert promotion[0].before["status"] == "waitlisted" and promotion[0].after["status"] == "confirmed"
    assert "候补转正" in page and "候补第 1 位 → 已确认" in page
    assert "手动转正</button>" not in page  # no longer waiting: no promotion form


@pytest.mark.parametrize("who", ["张喆", "cancelled"])
def test_promoting_someone_not_waiting_says_so_and_changes_nothing(app, staff_client, camp, who):
    registration_id = camp["ids"]["张喆"]
    if who == "cancelled":
        registration_id = camp["ids"]["欧阳娜娜"]
        act(staff_client, registration_id, "cancel")
    before = snapshot(app)

    page = text_of(act(staff_client, registration_id, "promote"))

    assert "只有候补中的报名才能转正" in page
    assert snapshot(app) == before


# --- unknown ids -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "data"), [
    ("/staff/registrations/999999/cancel", {}),
    ("/staff/registrations/999999/promote", {}),
    ("/staff/registrations/999999/move", {"target_session_id": "1"}),
    ("/staff/sessions/999999/capacity", {"capacity": "5"}),
    ("/staff/sessions/999999/add", {"login": "13800000033", "add_existing": "1"}),
])
def test_actions_on_unknown_ids_are_404_and_change_nothing(app, staff_client, camp, url, data):
    before = snapshot(app)

    response = submit_form(staff_client, url, data, form_page="/staff/sessions/")

    assert response.status_code == 404
    assert snapshot(app) == before


@pytest.mark.parametrize(("action", "data"), [
    ("registrations/{r}/cancel", {}),
    ("registrations/{r}/promote", {}),
    ("registrations/{r}/move", {"target_session_id": "{b}"}),
    ("sessions/{a}/capacity", {"capacity": "9"}),
    ("sessions/{a}/add", {"name": "赵六", "phone": "13911112222", "email": "zhao@example.com", "add_new": "1"}),
])
def test_every_action_without_the_csrf_token_is_refused_and_changes_nothing(app, staff_client, camp, action, data):
    ids = {"r": camp["ids"]["欧阳娜娜"], "a": camp["a"], "b": camp["b"]}
    before = snapshot(app)

    response = staff_client.post("/staff/" + action.format(**ids), data={k: v.format(**ids) for k, v in data.items()})

    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert snapshot(app) == before


# --- capacity ---------------------------------------------------------------------------------------

def _set_capacity(client, session_id: int, value):
    return submit_form(client, f"/staff/sessions/{session_id}/capacity", {"capacity": value},
                       form_page=f"/staff/sessions/{session_id}/roster", follow_redirects=True)


def test_staff_raise_capacity_and_the_waitlist_moves_up(app, staff_client, camp):
    page = text_of(_set_capacity(staff_client, camp["a"], "3"))

    assert "名额已改为 3" in page and "空出的名额已按候补顺序转正：欧阳娜娜" in page
    assert seats(app, camp["a"]) == (3, 3)
    assert stored_registration(app, camp["ids"]["欧阳娜娜"]).status is CONFIRMED
    [entry] = audit(app, action="session.capacity")
    assert (entry.actor_id, entry.session_id, entry.before, entry.after) == (
        camp["staff"], camp["a"], {"capacity": 2}, {"capacity": 3})
    assert "<strong>3</strong> / 3" in page


@pytest.mark.parametrize(("value", "message"), [
    ("1", "名额不能少于已占用的名额（2 个，含待支付保留的）"),
    ("-1", "名额应为 0–10000 之间的整数"),
    ("abc", "名额应为 0–10000 之间的整数"),
    ("", "请填写名额"),
])
def test_bad_capacity_says_why_and_changes_nothing(app, staff_client, camp, value, message):
    before = snapshot(app)

    page = text_of(_set_capacity(staff_client, camp["a"], value))

    assert message in page
    assert snapshot(app) == before


# --- add a person --------------------------------------------------------------------------------------

def _add(client, session_id: int, data: dict, follow: bool = True):
    return submit_form(client, f"/staff/sessions/{session_id}/add", data, follow_redirects=follow)


@pytest.mark.parametrize("login", ["lilei@example.com", "LiLei@Example.com", "136 0000 2222", "+86 13600002222"])
def test_staff_add_an_existing_account_by_email_or_phone(app, staff_client, camp, login):
    lilei = stored_registration(app, camp["ids"]["李雷"]).user_id

    response = _add(staff_client, camp["c"], {"login": login, "add_existing": "1"}, follow=False)

    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(select(Registration).where(Registration.session_id == camp["c"],
                                                             Registration.user_id == lilei))
        added_id = added.id
    assert (added.status, added.source) == (WAITLISTED, "staff")  # C is full: the waitlist
    assert response.headers["Location"].endswith(f"/staff/registrations/{added_id}")
    page = text_of(staff_client.get(response.headers["Location"]))
    assert "场次已满，李雷 已加入候补：候补第 1 位" in page
    [entry] = audit(app, registration_id=added_id)
    assert (entry.action, entry.actor_id, entry.before) == ("registration.add", camp["staff"], None)
    assert entry.after["status"] == "waitlisted"
    assert "工作人员添加报名" in page and "工作人员添加" in page


def test_staff_add_a_walk_in_with_a_new_account(app, staff_client, camp):
    page = text_of(_add(staff_client, camp["b"], {
        "name": "王𠮷喆", "phone": "139-8765-4321", "email": "Walkin@Example.com", "add_new": "1"}))

    assert "已添加 王𠮷喆，名额已确认" in page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "13987654321"))
        assert (user.name, user.email) == ("王𠮷喆", "walkin@example.com")
        added = db.session.scalar(select(Registration).where(Registration.user_id == user.id))
        assert (added.session_id, added.status, added.source) == (camp["b"], CONFIRMED, "staff")
    assert seats(app, camp["b"]) == (2, 3)
    assert len(audit(app, action="registration.add")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "赵六", "phone": "1234", "email": "zhao@example.com"}, "请输入 11 位中国大陆手机号"),
    ({"name": "赵6", "phone": "13911112222", "email": "zhao@example.com"}, "姓名只能包含文字和间隔号"),
    ({"name": "赵六", "phone": "13911112222", "email": "not-an-email"}, "邮箱格式不正确"),
    ({"name": "", "phone": "13911112222", "email": "zhao@example.com"}, "请填写姓名"),
    ({"name": "赵六", "phone": "13911112222", "email": "WANGJI@example.com"}, "该邮箱已注册"),
])
def test_a_new_person_with_bad_or_taken_details_is_refused_and_the_typed_values_stay(
        app, staff_client, camp, data, message):
    before = snapshot(app)

    response = _add(staff_client, camp["b"], {**data, "add_new": "1"})

    page = text_of(response)
    assert response.status_code == 200
    assert message in page
    assert snapshot(app) == before
    if data["name"]:
        assert f'value="{data["name"]}"' in page  # what staff typed is still in the form


@pytest.mark.parametrize(("login", "message"), [
    ("nobody@example.com", "找不到这个邮箱或手机号对应的账号"),
    ("13999999999", "找不到这个邮箱或手机号对应的账号"),
    ("zhangzhe@example.com", "此人已经报名了这个场次"),  # already on session A
    ("", "请填写邮箱或手机号"),
])
def test_adding_an_unknown_or_already_registered_account_says_why_and_changes_nothing(
        app, staff_client, camp, login, message):
    before = snapshot(app)

    page = text_of(_add(staff_client, camp["a"], {"login": login, "add_existing": "1"}))

    assert message in page
    assert snapshot(app) == before


def test_add_page_offers_both_ways(app, staff_client, camp):
    page = text_of(staff_client.get(f"/staff/sessions/{camp['a']}/add"))

    assert 'name="login"' in page and 'name="name"' in page and 'name="phone"' in page and 'name="email"' in page
    assert "添加已有账号" in page and "新建账号并添加" in page


# --- the service under a race: a registration moved while another action waits -------------------

@pytest.mark.parametrize("action", ["cancel", "move"])
def test_a_registration_moved_while_an_action_waited_for_the_lock_is_left_alone(app, camp, monkeypatch, action):
    """On PostgreSQL another transaction can move the registration after it was read and before the
    session's lock is granted; releasing a seat in the old session then would undercount it. Here the
    move is made to land exactly then (in the same transaction, so the refusal rolls it back too)."""
    zhang = camp["ids"]["张喆"]
    lock = catalog.lock_session  # what the booking service locks sessions with
    moved = []

    def move_then_lock(session_id: int):
        if not moved:
            moved.append(True)
            db.session.execute(update(Registration).where(Registration.id == zhang).values(session_id=camp["b"]))
        return lock(session_id)

    monkeypatch.setattr(catalog, "lock_session", move_then_lock)
    before = snapshot(app)
    with app.test_request_context():
        staff = db.session.get(User, camp["staff"])
        with pytest.raises(RegistrationChanged):
            if action == "cancel":
                booking.cancel_registration(zhang, staff, by_staff=True)
            else:
                booking.move_registration(zhang, camp["c"], staff, now=utcnow() + timedelta(seconds=1))
        db.session.remove()

    assert moved and snapshot(app) == before
