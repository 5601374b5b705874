"""The student's ticket: its page (code and QR code for a confirmed seat, only for its owner),
the link from 我的报名, and the ticket code and link in every email that confirms a seat. The QR
code holds the ticket's short link (SITE_URL/t/<code>), read back here with zxing-cpp."""
from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime

import pytest
import segno
import zxingcpp
from PIL import Image

from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.tickets import format_ticket_code, ticket_qr_png
from app.catalog.models import CampSession
from app.extensions import db
from app.roster import service as roster
from tests.factories import book, make_session, make_user
from tests.helpers import Email, outbox_messages, stored_registration, submit_form

STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)  # 9.17 09:00 in Shanghai
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
BOOKED_AT = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)


def link_of(app, code: str) -> str:
    return app.config["SITE_URL"].rstrip("/") + f"/t/{code}"


def expected_qr(payload: str) -> str:
    """The QR code the page must embed, built here with segno directly from the payload."""
    return segno.make_qr(payload, error="m").svg_inline(omitsize=True, dark="#000", light="#fff", border=4)


def read_qr(png: bytes) -> list[str]:
    """What a camera reads off the image: the text of every QR code in it."""
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
            if found.format == zxingcpp.BarcodeFormat.QRCode]


def make_camp(app, capacity: int = 10, course_id: int | None = None, **fields) -> int:
    with app.app_context():
        return make_session(course_id, capacity=capacity, starts_at=STARTS, ends_at=ENDS, label="第12期",
                            address="西湖区文三路 478 号", **fields)




def emails(app) -> list[Email]:
    return outbox_messages(app)


@pytest.fixture
def camp(app) -> int:
    return make_camp(app)


# --- who sees a ticket ---------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_login(app, client, student, camp):
    seat = book(app, student, camp, at=BOOKED_AT)
    response = client.get(f"/me/registrations/{seat}")
    assert response.status_code == 302
    assert "/account/login?next=" in response.headers["Location"]


def test_a_ticket_is_its_owners_only(app, student_client, student, camp):
    other = make_user(app, "other@example.com", Role.STUDENT, "王五", "13900000009")
    theirs = book(app, other, camp, at=BOOKED_AT)
    mine = book(app, student, camp, at=BOOKED_AT)
    assert student_client.get(f"/me/registrations/{mine}").status_code == 200
    response = student_client.get(f"/me/registrations/{theirs}")
    assert response.status_code == 404
    assert stored_registration(app, theirs).ticket_code not in response.get_data(as_text=True)
    assert student_client.get("/me/registrations/999999").status_code == 404


def test_staff_see_only_their_own_tickets_here_too(app, staff_client, student, camp):
    seat = book(app, student, camp, at=BOOKED_AT)
    assert staff_client.get(f"/me/registrations/{seat}").status_code == 404


# --- what a ticket shows -------------------------------------------------------------------

def test_a_confirmed_ticket_shows_the_code_and_its_qr_code(app, student_client, student, camp):
    seat = stored_registration(app, book(app, student, camp, at=BOOKED_AT))
    page = student_client.get(f"/me/registrations/{seat.id}").get_data(as_text=True)
    assert "快速玩转小红书成长特训营" in page and "已确认" in page
    assert "2027年9月17日 – 9月19日" in page and "第12期" in page
    assert "玺承集团培训中心" in page and "西湖区文三路 478 号" in page
    assert "张喆" in page  # whose ticket it is
    assert format_ticket_code(seat.ticket_code) in page
    assert "入场时出示票码或二维码" in page

    # The QR code is exactly segno's for the ticket link: WeChat's scanner opens it, the door reads the code in it.
    assert expected_qr(link_of(app, seat.ticket_code)) in page
    assert page.count("<svg") == 1
    assert 'viewBox="0 0 37 37"' in page  # version 3 (29 modules) and the quiet zone: not Micro QR, not huge
    assert expected_qr(link_of(app, seat.ticket_code)) != expected_qr(link_of(app, "ABCDEFGHJKMN"))


def test_the_qr_code_read_by_a_camera_opens_the_ticket_and_checks_in_at_the_door(
        app, student_client, staff_client, student, camp, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://xue.example.com/")
    seat = stored_registration(app, book(app, student, camp, at=BOOKED_AT))
    with app.app_context():
        [payload] = read_qr(ticket_qr_png(seat.ticket_code))
    assert payload == f"https://xue.example.com/t/{seat.ticket_code}"  # no double slash
    # The holder's phone opens their ticket from the link.
    path = payload.removeprefix("https://xue.example.com")
    assert student_client.get(path).headers["Location"] == f"/me/registrations/{seat.id}"
    # The door's scanner sends the link as read; the door takes the code out of it.
    monkeypatch.setattr(roster, "utcnow", lambda: datetime(2027, 9, 18, 1, 0, tzinfo=UTC))
    door = submit_form(staff_client, f"/staff/sessions/{camp}/checkin", {"code": payload}).get_data(as_text=True)
    assert "✓ 已签到" in door and "张喆" in door


def test_waitlisted_and_cancelled_tickets_have_no_code_or_qr(app, student_client, student):
    small = make_camp(app, capacity=1)
    first = make_user(app, "first@example.com", Role.STUDENT, "钱先", "13900000008")
    book(app, first, small, at=BOOKED_AT)
    waiting = stored_registration(app, book(app, student, small, at=BOOKED_AT))

    page = student_client.get(f"/me/registrations/{waiting.id}").get_data(as_text=True)
    assert "候补第 1 位" in page
    assert "<svg" not in page
    assert waiting.ticket_code not in page and format_ticket_code(waiting.ticket_code) not in page

    with app.test_request_context():
        booking.cancel_registration(waiting.id, db.session.get(User, student), now=BOOKED_AT)
    page = student_client.get(f"/me/registrations/{waiting.id}").get_data(as_text=True)
    assert "已取消" in page
    assert "<svg" not in page
    assert format_ticket_code(waiting.ticket_code) not in page


def test_my_registrations_links_every_card_to_its_ticket(app, student_client, student, camp):
    other_camp = make_camp(app)
    seats = [book(app, student, camp, at=BOOKED_AT), book(app, student, other_camp, at=BOOKED_AT)]
    page = student_client.get("/me/registrations").get_data(as_text=True)
    for seat in seats:
        assert f'href="/me/registrations/{seat}"' in page
    assert page.count("电子票 · 入场二维码") == 2


# --- the ticket in the emails ---------------------------------------------------------------

def ticket_link(app, registration_id: int) -> str:
    return app.config["SITE_URL"].rstrip("/") + f"/me/registrations/{registration_id}"


def assert_has_ticket(app, body: str, registration_id: int) -> None:
    code = stored_registration(app, registration_id).ticket_code
    assert f"票码：{format_ticket_code(code)}" in body
    assert ticket_link(app, registration_id) in body
    assert "入场时出示票码或二维码" in body


def test_the_confirmation_email_has_the_ticket_code_and_link(app, student_client, student, camp, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://xue.example.com/")
    response = submit_form(student_client, f"/sessions/{camp}/book",
                           {"source": "web"})
    assert response.status_code == 302
    [message] = emails(app)
    [seat] = re.findall(r"/me/registrations/(\d+)", message.body_text)
    assert_has_ticket(app, message.body_text, int(seat))
    assert "https://xue.example.com/me/registrations/" in message.body_text  # no double slash
    # The link in the email opens the ticket.
    link_path = re.search(r"https://xue\.example\.com(/me/registrations/\d+)", message.body_text).group(1)
    assert student_client.get(link_path).status_code == 200


def test_promoted_moved_and_staff_added_seats_get_the_ticket_too(app, student, staff, camp):
    with app.app_context():
        course_id = db.session.get(CampSession, camp).course_id
    small = make_camp(app, capacity=1, course_id=course_id)  # moves stay within a course
    first = make_user(app, "first@example.com", Role.STUDENT, "钱先", "13900000008")
    walk_in = make_user(app, "walkin@example.com", Role.STUDENT, "孙来", "13900000007")
    first_seat = book(app, first, small, at=BOOKED_AT)
    waiting = book(app, student, small, at=BOOKED_AT)
    [_, waitlisted_email] = emails(app)
    assert "票码" not in waitlisted_email.body_text  # no ticket while waiting

    with app.test_request_context():
        booking.cancel_registration(first_seat, db.session.get(User, first), now=BOOKED_AT)
    promoted = [m for m in emails(app) if m.subject == "候补成功：您已获得正式名额"]
    assert [m.to_address for m in promoted] == ["student@example.com"]
    assert_has_ticket(app, promoted[0].body_text, waiting)

    with app.test_request_context():
        booking.move_registration(waiting, camp, db.session.get(User, staff), now=BOOKED_AT)
    moved = emails(app)[-1]
    assert moved.subject.startswith("报名场次已调整")
    assert_has_ticket(app, moved.body_text, waiting)

    with app.test_request_context():
        added = booking.staff_add(camp, db.session.get(User, walk_in), db.session.get(User, staff)).id
    assert_has_ticket(app, emails(app)[-1].body_text, added)


def test_the_confirmation_email_carries_the_door_qr_code_as_an_image(app, student_client, student, camp):
    """Mail apps show an attached PNG; its QR code is the one the ticket page shows."""
    submit_form(student_client, f"/sessions/{camp}/book", {"source": "web"})
    [message] = emails(app)
    attachments = {a["filename"]: a for a in message.attachments}
    assert set(attachments) == {"camp.ics", "ticket-qr.png"}
    png = base64.b64decode(attachments["ticket-qr.png"]["data_b64"])
    assert attachments["ticket-qr.png"]["content_type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    [seat] = re.findall(r"/me/registrations/(\d+)", message.body_text)
    code = stored_registration(app, int(seat)).ticket_code
    with app.app_context():
        assert png == ticket_qr_png(code)
    assert read_qr(png) == [link_of(app, code)]  # what WeChat's scanner reads: the ticket link
    buffer = io.BytesIO()
    segno.make_qr(link_of(app, code), error="m").save(buffer, kind="png", scale=8, border=4)
    assert png == buffer.getvalue()


def test_ticket_codes_use_only_unmistakable_letters_and_every_one_anywhere():
    """12 characters without 0/O/1/I/L, read aloud or typed from a screenshot; each position draws
    from the whole alphabet (a code that left letters out would be easier to guess)."""
    from app.booking.tickets import ALPHABET, LENGTH, new_ticket_code

    codes = [new_ticket_code() for _ in range(3000)]

    assert all(len(code) == LENGTH and set(code) <= set(ALPHABET) for code in codes)
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(codes)) == len(codes)
    for position in (0, LENGTH // 2, LENGTH - 1):
        assert {code[position] for code in codes} == set(ALPHABET)
