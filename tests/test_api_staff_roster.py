"""GET /api/v1/staff/sessions/<id>/registrations: staff read a session's roster over the API, with
each person's answers to the registration questions, filtered and paged as on the roster page.
Students are refused; bad query strings are 400 with a Chinese message, never 500."""
from __future__ import annotations

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.demo.questions import demo_answers
from app.extensions import db
from app.questions import queries
from tests.factories import make_person, make_students, new_course, new_session, xhs_questions
from tests.helpers import API, assert_error, bearer, token_for


def roster(client, session_id: int, headers: dict, **query):
    return client.get(f"{API}/staff/sessions/{session_id}/registrations", headers=headers, query_string=query)


def book_answering(app, user_id: int, session_id: int, number: int, **override) -> int:
    with app.test_request_context():
        asked = queries.questions_for_session(session_id)
        answers = {**demo_answers(asked, number), **{next(q.id for q in asked if q.label == k): v
                                                     for k, v in override.items()}}
        registration = booking.complete_profile_and_book(db.session.get(User, user_id), session_id,
                                                         answers=answers).registration
        db.session.remove()
        return registration.id


@pytest.fixture
def camp(app):
    course_id = new_course(app)
    xhs_questions(app, course_id)
    return new_session(app, course_id, capacity=2)


def test_staff_read_the_roster_with_each_persons_answers(app, client, staff, camp):
    rare = make_person(app, "王𠮷", "13700000001", "wangji@example.com")
    others = make_students(app, 2)
    first = book_answering(app, rare, camp, 1, 公司名称="䶮记电商")
    for number, user_id in enumerate(others, start=2):
        book_answering(app, user_id, camp, number)

    answer = roster(client, camp, bearer(token_for(client, "staff@example.com")))

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
    assert [item["status"] for item in body["items"]] == ["confirmed", "confirmed", "waitlisted"]
    top = body["items"][0]
    assert top["id"] == first and top["person"] == {"name": "王𠮷", "phone": "13700000001",
                                                     "email": "wangji@example.com"}
    assert {"label": "公司名称", "text": "䶮记电商"}.items() <= next(
        a for a in top["answers"] if a["label"] == "公司名称").items()
    assert body["items"][2]["waitlist_position"] == 1 and body["items"][2]["ticket_code"] is None


def test_filters_and_pages_as_the_roster_page(app, client, admin, camp):
    for number, user_id in enumerate(make_students(app, 3), start=1):
        book_answering(app, user_id, camp, number)
    headers = bearer(token_for(client, "admin@example.com"))

    waiting = roster(client, camp, headers, status="waitlisted").get_json()
    second_page = roster(client, camp, headers, per_page=2, page=2).get_json()
    found = roster(client, camp, headers, q="学员1").get_json()

    assert [i["status"] for i in waiting["items"]] == ["waitlisted"] and waiting["total"] == 1
    assert len(second_page["items"]) == 1 and second_page["total"] == 3
    assert [i["person"]["name"] for i in found["items"]] == ["学员1"]


def test_students_and_strangers_are_refused(app, client, student, camp):
    assert_error(roster(client, camp, {}), 401, "authentication_required")
    assert_error(roster(client, camp, bearer(token_for(client, "student@example.com"))), 403, "forbidden")


@pytest.mark.parametrize("query", [{"status": "maybe"}, {"page": "0"}, {"page": "x"}, {"per_page": "201"},
                                   {"q": "a\x00b"}, {"q": "x" * 101}, {"colour": "red"}])
def test_a_bad_query_string_is_400(app, client, staff, camp, query):
    answer = roster(client, camp, bearer(token_for(client, "staff@example.com")), **query)

    assert_error(answer, 400, "invalid_request")


def test_an_unknown_session_is_404(app, client, staff):
    assert_error(roster(client, 999_999, bearer(token_for(client, "staff@example.com"))), 404, "session_not_found")
