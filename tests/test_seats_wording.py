"""仅剩 N 席 only when seats are really few: seats have gone and at most 10, or a fifth of the
session, are left (CampSession.few_seats_left); otherwise 剩余 N 席. Reported: a new, empty
30-seat session said 仅剩 30 席. The catalogue, the home page, the booking page and an article's
booking card all ask the same property, so they say the same thing."""
from __future__ import annotations

import re

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.catalog.models import CampSession
from app.extensions import db
from tests.factories import make_course, make_editor, make_session, make_user, write_article


@pytest.mark.parametrize("capacity, taken, few", [
    (30, 0, False),    # the report: an empty session is not "only 30 left"
    (8, 0, False),     # nor a small empty one
    (30, 19, False),   # 11 left: more than 10 and more than a fifth
    (30, 20, True),    # 10 left
    (3, 1, True),      # 2 of 3 left: 10 is few whatever the size
    (1, 0, False),
    (200, 159, False),  # 41 left
    (200, 160, True),   # 40 left, a fifth: four fifths sold
    (60, 60, False),   # full: the pages say 已满 instead
])
def test_few_seats_left(capacity, taken, few):
    assert CampSession(capacity=capacity, seats_taken=taken).few_seats_left is few


def _badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge badge-\w+">([^<]*席)</span>', html)


def _book(app, session_id: int, how_many: int) -> None:
    for number in range(how_many):
        user_id = make_user(app, f"seat{number}@example.com", name="欧阳堃", phone=f"1360000{number:04d}")
        with app.test_request_context():
            booking.book_seat(db.session.get(User, user_id), session_id)
            db.session.remove()


def test_every_page_says_the_same_for_an_empty_and_a_nearly_full_session(app, client):
    make_editor(app)
    with app.app_context():
        course_id = make_course("快速玩转小红书成长特训营", slug="xhs")
        empty = make_session(course_id, capacity=30, starts_in_days=20)
        nearly_full = make_session(course_id, capacity=12, starts_in_days=40)
        write_article("两张卡片", slug="cards", body=f"[[session:{empty}]]\n\n[[session:{nearly_full}]]")
        db.session.remove()
    _book(app, nearly_full, 2)  # 10 of 12 left

    urls = ("/", "/courses/", "/courses/xhs", "/articles/cards")
    pages = {url: client.get(url).get_data(as_text=True) for url in urls}
    for url, html in pages.items():
        assert "仅剩 30 席" not in html, url
    assert _badges(pages["/courses/xhs"]) == ["报名中 · 剩余 30 席", "名额有限，仅剩 10 席"]
    assert _badges(pages["/articles/cards"]) == ["剩余 30 席", "仅剩 10 席"]
    assert "报名中 · 剩余 30 席" in pages["/"] and "名额有限，仅剩 10 席" in pages["/"]
