"""One wording for a waiting person's place, everywhere: 候补第 N 位, the place in the queue now
(1 = next), never the number drawn when they joined. Reported: 候补第 2 位 on the student's page
and 候补号 3 in the staff history for the same person."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import Registration
from app.extensions import db
from tests.factories import PASSWORD, book, make_person, new_session
from tests.helpers import login, outbox_messages, submit_form, text_of


def _queue(app):
    """A one-seat session: 𠮷田 holds the seat; 欧阳堃, 王喆 and 李䶮 wait, drawing numbers 1, 2, 3.
    Then 欧阳堃 leaves the queue: 李䶮 keeps number 3 and is now 候补第 2 位."""
    session_id = new_session(app, capacity=1)
    ids = {name: book(app, make_person(app, name, phone, email), session_id)
           for name, phone, email in (("𠮷田", "13700000001", "jitian@example.com"),
                                      ("欧阳堃", "13700000002", "kun@example.com"),
                                      ("王喆", "13700000003", "zhe@example.com"),
                                      ("李䶮", "13700000004", "yan@example.com"))}
    with app.test_request_context():
        leaving = db.session.get(Registration, ids["欧阳堃"])
        booking.cancel_registration(leaving.id, leaving.user)
        db.session.remove()
    with app.app_context():
        assert db.session.get(Registration, ids["李䶮"]).waitlist_number == 3
    return session_id, ids


def test_the_student_and_staff_pages_say_the_same_place(app, client, staff_client):
    session_id, ids = _queue(app)

    login(client, "yan@example.com", PASSWORD)
    mine = text_of(client.get("/me/registrations"))
    ticket = text_of(client.get(f"/me/registrations/{ids['李䶮']}"))
    staff_page = text_of(staff_client.get(f"/staff/registrations/{ids['李䶮']}"))
    roster_page = text_of(staff_client.get(f"/staff/sessions/{session_id}/roster"))
    for page in (mine, ticket, staff_page):
        assert "候补第 2 位" in page
    assert "候补第 1 位" in roster_page and "候补第 2 位" in roster_page  # 王喆, 李䶮
    for page in (mine, ticket, staff_page, roster_page):
        assert "候补号" not in page
    for page in (mine, ticket, roster_page):
        assert "第 3 位" not in page
    # The staff history keeps the place each change left: 李䶮 booked as the third in the queue.
    assert "学员报名" in staff_page and "— → 候补第 3 位" in staff_page


def test_the_history_says_the_place_at_that_moment_not_the_drawn_number(app, staff_client):
    _session_id, ids = _queue(app)

    response = submit_form(staff_client, f"/staff/registrations/{ids['李䶮']}/promote", {},
                           form_page=f"/staff/registrations/{ids['李䶮']}")
    history = text_of(staff_client.get(response.headers["Location"]))

    assert "候补第 2 位 → 已确认" in history
    assert "候补号" not in history


def test_an_old_history_entry_with_only_the_drawn_number_claims_no_place(app, staff, staff_client):
    """Entries written before places were kept have the number only: it is not a place."""
    _session_id, ids = _queue(app)
    with app.test_request_context():
        booking.cancel_registration(ids["李䶮"], db.session.get(User, staff), by_staff=True)
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.registration_id == ids["李䶮"],
                                                           AuditEntry.action == AuditAction.REGISTRATION_CANCEL))
        entry.before = {key: value for key, value in entry.before.items() if key != "waitlist_position"}
        db.session.commit()
    history = text_of(staff_client.get(f"/staff/registrations/{ids['李䶮']}"))
    assert "候补 → 已取消" in history
    assert "候补号" not in history and "候补第 2 位" not in history  # (its booking's line says 候补第 3 位)


def test_the_waitlisted_email_and_the_booking_message_use_the_same_words(app, client):
    session_id = new_session(app, capacity=1)
    book(app, make_person(app, "𠮷田", "13700000001"), session_id)
    make_person(app, "王喆", "13700000003", "zhe@example.com")
    login(client, "zhe@example.com", PASSWORD)

    response = submit_form(client, f"/sessions/{session_id}/book", {"source": "web"})
    page = text_of(client.get(response.headers["Location"]))

    assert "名额已满，您已加入候补：候补第 1 位" in page
    [email] = [m for m in outbox_messages(app) if m.to_address == "zhe@example.com"]
    assert "目前是候补第 1 位" in email.body_text
