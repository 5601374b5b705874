"""Searching a roster the way staff type at the door: pinyin (full, spaced, initials), names with
or without their middle dot, ticket codes as read off a phone; with paging still right. Runs on
SQLite and on PostgreSQL (TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.search import name_search_key
from app.common.time import utcnow
from app.extensions import db
from tests.factories import book, make_person
from tests.helpers import stored_registration, submit_form, text_of
from tests.test_roster_pages import roster_names, running_session


@pytest.fixture
def door(app, staff):
    """A session with the names staff struggle to type."""
    session_id = running_session(app, capacity=20)
    early = utcnow() - timedelta(days=3)
    people = [("王吉", "13800000101"), ("王𠮷", "13800000102"), ("司马·光", "13800000103"),
              ("阿依古丽・买买提", "13800000104"),  # stored with the katakana middle dot U+30FB
              ("司马迁", "13800000105"), ("张喆", "13800000106"), ("李䶮", "13800000107"),
              ("Anna Müller", "13800000108"), ("汪继", "13800000109")]
    ids = {name: book(app, make_person(app, name, phone), session_id, at=early) for name, phone in people}
    return {"session": session_id, "ids": ids}


def search(client, session_id: int, q: str, **args) -> list[str]:
    response = client.get(f"/staff/sessions/{session_id}/roster", query_string={"q": q, **args})
    assert response.status_code == 200
    return roster_names(text_of(response))


@pytest.mark.parametrize(("q", "expected"), [
    ("wangji", ["王吉", "王𠮷", "汪继"]),  # homophones all come up: staff pick by face and phone
    ("wang ji", ["王吉", "王𠮷", "汪继"]),
    ("Wang Ji", ["王吉", "王𠮷", "汪继"]),
    ("ＷＡＮＧＪＩ", ["王吉", "王𠮷", "汪继"]),  # typed with a Chinese IME in full-width mode
    ("wj", ["王吉", "王𠮷", "汪继"]),
    ("wan", ["王吉", "王𠮷", "汪继"]),  # as they type
    ("wáng jí", ["王吉", "王𠮷", "汪继"]),  # tone marks, if someone types them, are dropped
    ("simaguang", ["司马·光"]),
    ("smg", ["司马·光"]),
    ("sima", ["司马·光", "司马迁"]),
    ("司马光", ["司马·光"]),
    ("司马·光", ["司马·光"]),
    ("司马•光", ["司马·光"]),  # U+2022
    ("司马‧光", ["司马·光"]),  # U+2027
    ("司马 光", ["司马·光"]),
    ("《司马光》", []),  # book-title brackets are not a name's punctuation
    ("阿依古丽买买提", ["阿依古丽・买买提"]),
    ("阿依古丽·买买提", ["阿依古丽・买买提"]),  # typed with U+00B7, stored with U+30FB
    ("买买提", ["阿依古丽・买买提"]),
    ("maimaiti", ["阿依古丽・买买提"]),
    ("ayglmmt", ["阿依古丽・买买提"]),
    ("𠮷", ["王𠮷"]),
    ("liyan", ["李䶮"]),
    ("zhangzhe", ["张喆"]),
    ("anna müller", ["Anna Müller"]),
    ("ANNA-MÜLLER", ["Anna Müller"]),
    ("muller", ["Anna Müller"]),
    ("13800000103", ["司马·光"]),
    ("%", []),
    ("x" * 5000, []),
])
def test_search_finds_people_as_staff_type_their_names(staff_client, door, q, expected):
    assert sorted(search(staff_client, door["session"], q)) == sorted(expected)


def test_a_search_holding_a_control_character_is_refused_with_a_reason(staff_client, door):
    response = staff_client.get(f"/staff/sessions/{door['session']}/roster", query_string={"q": "王\x00"})
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_search_finds_a_ticket_code_typed_any_way(app, staff_client, door):
    wanted = stored_registration(app, door["ids"]["司马·光"]).ticket_code
    grouped = "-".join(wanted[i:i + 4] for i in range(0, 12, 4))
    for typed in (wanted, wanted.lower(), grouped, grouped.lower(), f"  {wanted[:4]} {wanted[4:8]} {wanted[8:]} ",
                  f"{wanted[:6]}-{wanted[6:]}"):
        assert search(staff_client, door["session"], typed) == ["司马·光"], typed
    # Only the whole code: part of one is not a match (ticket codes are what lets someone in).
    assert search(staff_client, door["session"], wanted[:8]) == []


def test_a_ticket_of_another_session_is_not_found_here(app, staff_client, door):
    other = running_session(app, capacity=5)
    outsider = book(app, make_person(app, "赵六", "13800000199"), other, at=utcnow() - timedelta(days=3))
    code = stored_registration(app, outsider).ticket_code
    assert search(staff_client, door["session"], code) == []
    assert search(staff_client, other, code) == ["赵六"]


def test_pinyin_search_pages_through_every_match_once(app, staff_client):
    session_id = running_session(app, capacity=30)
    early = utcnow() - timedelta(days=3)
    names = [f"王{given}" for given in "吉继极季记纪计技寄济际剂"]  # all wang ji, twelve of them
    for n, name in enumerate(names):
        book(app, make_person(app, name, f"139{n:08d}"), session_id, at=early + timedelta(minutes=n))
    book(app, make_person(app, "李四", "13700000000"), session_id, at=early)

    pages = [search(staff_client, session_id, "wang ji", per_page=5, page=page) for page in (1, 2, 3, 4)]

    assert [len(page) for page in pages] == [5, 5, 2, 0]
    assert [name for page in pages for name in page] == names  # booking order, none twice, none lost
    html = text_of(staff_client.get(f"/staff/sessions/{session_id}/roster",
                                      query_string={"q": "wang ji", "per_page": 5}))
    assert "共 12 人" in html
    assert "q=wang+ji" in html  # the page links keep the search


def test_the_key_follows_the_name_whoever_changes_it(app, ctx):
    user = User(email="a@example.com", name="王吉", phone="13800000301", password_hash="x")
    assert user.search_key == "王吉 wangji wj"
    user.name = "司马·光"
    assert user.search_key == "司马光 simaguang smg"
    user.name = None
    assert user.search_key is None


def test_profile_edits_change_what_staff_find(app, staff_client, door, student_client, student):
    running = door["session"]
    book(app, student, running, at=utcnow() - timedelta(days=3))
    assert search(staff_client, running, "ouyang") == []
    response = submit_form(student_client, "/account/profile",
                           {"name": "欧阳·娜娜", "phone": "13800000003", "email": "student@example.com"})
    assert response.status_code == 302
    assert search(staff_client, running, "ouyangnana") == ["欧阳·娜娜"]
    assert search(staff_client, running, "欧阳娜娜") == ["欧阳·娜娜"]
    with app.app_context():
        key = db.session.scalar(select(User.search_key).where(User.id == student))
    assert key == name_search_key("欧阳·娜娜")
