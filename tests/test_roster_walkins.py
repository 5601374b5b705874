"""Walk-ins as staff add them at the door: a name and a mobile number are enough (no email), and
a phone number someone already has books that person instead of making a second account. An
account without an email gets no email from any action, and every page that shows one copes."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.booking import service as booking
from app.booking.errors import AlreadyRegistered, ProfileIncomplete
from app.booking.models import Registration, RegistrationStatus
from app.catalog.errors import SessionNotFound
from app.extensions import db
from app.mail.models import OutboxMessage
from app.roster import service as roster
from tests.factories import cohort, issue
from tests.helpers import run_together, stored_registration, submit_form, text_of
from tests.test_roster_actions import camp  # noqa: F401  (the fixture)

WALK_IN = {"name": "阿依古丽·买买提", "phone": "139 8765 4321", "email": "", "add_new": "1"}


def add(client, session_id: int, data: dict, follow: bool = True):
    return submit_form(client, f"/staff/sessions/{session_id}/add", data, follow_redirects=follow)


def walk_in(app) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "13987654321"))
        db.session.expunge_all()
    return user


def outbox_to(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.to_address).order_by(OutboxMessage.id)))


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_a_walk_in_with_a_name_and_a_phone_only_is_booked(app, staff_client, camp):  # noqa: F811
    mails_before = outbox_to(app)

    page = text_of(add(staff_client, camp["b"], WALK_IN))

    assert "已添加 阿依古丽·买买提，名额已确认（未留邮箱，不发确认邮件）" in page
    assert "未留邮箱" in page  # the registration page, where the email would be
    user = walk_in(app)
    assert (user.name, user.email, user.last_login_at) == ("阿依古丽·买买提", None, None)
    with app.app_context():
        added = db.session.scalar(select(Registration).where(Registration.user_id == user.id))
        assert (added.session_id, added.status, added.source) == (camp["b"], RegistrationStatus.CONFIRMED, "staff")
    assert outbox_to(app) == mails_before  # nobody to write to
    roster = text_of(staff_client.get(f"/staff/sessions/{camp['b']}/roster", query_string={"q": "买买提"}))
    assert "阿依古丽·买买提" in roster and "None" not in roster


def test_two_walk_ins_without_email_are_two_people(app, staff_client, camp):  # noqa: F811
    add(staff_client, camp["b"], WALK_IN)
    add(staff_client, camp["b"], {**WALK_IN, "name": "王𠮷", "phone": "13711112222"})

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email.is_(None))) == 2


def test_a_phone_already_known_books_that_person_instead_of_a_new_account(app, staff_client, camp):  # noqa: F811
    lilei = stored_registration(app, camp["ids"]["李雷"]).user_id  # 李雷, 13600002222, booked on session B
    people = user_count(app)

    page = text_of(add(staff_client, camp["c"], {"name": "李雷雷", "phone": "136-0000-2222",
                                                   "email": "someone.else@example.com", "add_new": "1"}))

    assert "手机号 13600002222 已有账号（李雷），已为该账号报名，未新建账号" in page
    assert "场次已满，李雷 已加入候补：候补第 1 位" in page  # C is full
    assert user_count(app) == people
    with app.app_context():
        added = db.session.scalar(select(Registration).where(Registration.session_id == camp["c"],
                                                             Registration.user_id == lilei))
        person = db.session.get(User, lilei)
        assert added.status is RegistrationStatus.WAITLISTED
        assert (person.name, person.email) == ("李雷", "lilei@example.com")  # their account, untouched


def test_a_known_phone_already_on_the_session_says_so_and_changes_nothing(app, staff_client, camp):  # noqa: F811
    people = user_count(app)

    page = text_of(add(staff_client, camp["b"], {"name": "李雷", "phone": "13600002222", "add_new": "1"}))

    assert "此人已经报名了这个场次" in page
    assert user_count(app) == people


def test_a_known_phone_already_on_the_session_gets_no_name_filled_in_either(app, staff_client, camp):  # noqa: F811
    """The account lacks a name (an operator made it so); the name typed for it would be saved only
    with the booking, which is refused: the account is as it was."""
    lilei = stored_registration(app, camp["ids"]["李雷"]).user_id  # booked on session B
    with app.app_context():
        db.session.execute(update(User).where(User.id == lilei).values(name=None))
        db.session.commit()

    page = text_of(add(staff_client, camp["b"], {"name": "李雷", "phone": "13600002222", "add_new": "1"}))

    assert "此人已经报名了这个场次" in page
    with app.app_context():
        assert db.session.get(User, lilei).name is None


@pytest.mark.parametrize("refusal, session, name", [
    (SessionNotFound, "unknown", "阿依古丽·买买提"),  # the session went between the page and the button
    (ProfileIncomplete, "b", None),  # a caller that gave no name: the booking needs one
], ids=["unknown-session", "no-name"])
def test_a_walk_in_whose_booking_is_refused_gets_no_account(app, camp, refusal, session, name):  # noqa: F811
    people = user_count(app)
    session_id = camp.get(session, 987654)
    with app.test_request_context(), pytest.raises(refusal):
        roster.add_person(session_id, db.session.get(User, camp["staff"]), name=name, phone="13987654321",
                          email="ayigul@example.com")

    assert user_count(app) == people and walk_in(app) is None
    assert "ayigul@example.com" not in outbox_to(app)


def test_the_same_walk_in_added_at_two_desks_at_once_is_one_account_booked_once(app, camp):  # noqa: F811
    """Both desks find no account for the phone; one makes it and books it, the other then books
    that account (on PostgreSQL after its own insert lost the race and was rolled back) and is told
    the person is already registered."""
    def add_at_a_desk():
        try:
            return roster.add_person(camp["b"], db.session.get(User, camp["staff"]), name="阿依古丽·买买提",
                                     phone="13987654321").registration.id
        except AlreadyRegistered as refused:
            return refused

    results, _ = run_together(app, [add_at_a_desk, add_at_a_desk])

    assert sorted(type(result).__name__ for result in results) == ["AlreadyRegistered", "int"]
    user = walk_in(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.phone == "13987654321")) == 1
        booked = list(db.session.scalars(select(Registration.user_id).where(Registration.session_id == camp["b"],
                                                                           Registration.user_id == user.id)))
    assert booked == [user.id]


def test_an_email_given_is_still_checked(app, staff_client, camp):  # noqa: F811
    page = text_of(add(staff_client, camp["b"], {**WALK_IN, "email": "not-an-email"}))
    assert "邮箱格式不正确" in page
    assert walk_in(app) is None


@pytest.fixture
def booked_walk_in(app, staff_client, camp):  # noqa: F811
    add(staff_client, camp["a"], WALK_IN)  # A is full: the waitlist
    with app.app_context():
        registration_id = db.session.scalar(
            select(Registration.id).join(User, User.id == Registration.user_id).where(User.phone == "13987654321"))
    return registration_id


def test_no_email_is_queued_for_them_when_promoted_moved_or_cancelled(app, staff_client, camp, booked_walk_in):  # noqa: F811
    url = f"/staff/registrations/{booked_walk_in}"
    before = outbox_to(app)

    for action, data in (("promote", {}), ("move", {"target_session_id": camp["b"]}), ("cancel", {})):
        response = submit_form(staff_client, f"{url}/{action}", data, form_page=url)
        assert response.status_code == 302, action

    assert stored_registration(app, booked_walk_in).status is RegistrationStatus.CANCELLED
    # The one message is 欧阳娜娜's: the walk-in's move out of A freed the seat she waited for.
    assert outbox_to(app)[len(before):] == ["ouyang@example.com"]


def test_their_booking_by_the_service_itself_queues_no_email_on_either_database(app, camp):  # noqa: F811
    """The one-statement booking of PostgreSQL and SQLite's three both leave the email out."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "13600002222"))
        db.session.execute(update(User).where(User.id == user.id).values(email=None))
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        outcome = booking.book_seat(db.session.get(User, user.id), camp["d"])
        assert outcome.registration.status is RegistrationStatus.CONFIRMED
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before


def test_a_certificate_for_them_queues_no_email(app, staff):
    session_id, registrations = cohort(app, staff, 2)
    with app.app_context():
        no_email = db.session.get(Registration, registrations[0]).user_id
        db.session.execute(update(User).where(User.id == no_email).values(email=None))
        db.session.commit()
        before = list(db.session.scalars(select(OutboxMessage.to_address)))
    issue(app, registrations[0], staff)
    issue(app, registrations[1], staff)
    with app.app_context():
        after = list(db.session.scalars(select(OutboxMessage.to_address)))
    assert len(after) == len(before) + 1 and None not in after


def test_exports_and_admin_pages_show_them_without_an_email(app, staff_client, admin_client, camp,  # noqa: F811
                                                            booked_walk_in):
    rows = list(csv.reader(io.StringIO(
        staff_client.get(f"/staff/sessions/{camp['a']}/roster.csv").get_data().decode("utf-8-sig"))))
    [row] = [row for row in rows if row[0] == "阿依古丽·买买提"]
    assert row[1:3] == ["13987654321", ""]
    assert staff_client.get(f"/staff/sessions/{camp['a']}/signin.pdf").status_code == 200

    user_id = walk_in(app).id
    listing = text_of(admin_client.get("/admin/users/", query_string={"q": "13987654321"}))
    assert "阿依古丽·买买提" in listing and "None" not in listing
    page = text_of(admin_client.get(f"/admin/users/{user_id}"))
    assert "未留邮箱" in page and "从未登录" in page
