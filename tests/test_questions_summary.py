"""The answers added up per question (/admin/answers/, from the dashboard): counts per option for a
session or a whole course, over the people still coming."""
from __future__ import annotations

import re

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.extensions import db
from app.questions import service as questions
from app.questions.models import QuestionKind
from tests.factories import make_question, make_students, new_course, new_session
from tests.helpers import text_of

K = QuestionKind


@pytest.fixture
def course(app) -> dict:
    """Two sessions of a course asking 店铺类型 (one choice), 平台 (several) and 有店吗 (yes/no): four
    people in the first (one of whom cancelled), one in the second."""
    course_id = new_course(app)
    with app.app_context():
        shops = ("淘宝", "抖音", "小红书")
        ids = {"店铺类型": make_question("店铺类型", K.SINGLE_CHOICE, course_id=course_id, choices=shops),
               "平台": make_question("平台", K.MULTIPLE_CHOICE, course_id=course_id, choices=shops),
               "有店吗": make_question("有店吗", K.YES_NO, course_id=course_id)}
        db.session.remove()
    first, second = new_session(app, course_id), new_session(app, course_id, starts_in_days=60)
    people = make_students(app, 5)
    given = [(first, "小红书", ["淘宝", "小红书"], True), (first, "小红书", ["小红书"], False),
             (first, "抖音", ["抖音", "小红书"], True), (first, "淘宝", ["淘宝"], True),
             (second, "淘宝", ["淘宝"], False)]
    with app.test_request_context():
        for user_id, (session_id, shop, platforms, has_shop) in zip(people, given, strict=True):
            outcome = booking.complete_profile_and_book(
                db.session.get(User, user_id), session_id,
                answers={ids["店铺类型"]: shop, ids["平台"]: platforms, ids["有店吗"]: has_shop})
            if shop == "淘宝" and session_id == first:
                booking.cancel_registration(outcome.registration.id, db.session.get(User, user_id))
        db.session.remove()
    return {"course_id": course_id, "first": first, "second": second, "ids": ids}


def _counts(page: str) -> dict[str, list[tuple[str, int]]]:
    """{question: [(option, count)]} as the page shows them."""
    found: dict[str, list[tuple[str, int]]] = {}
    for block in page.split('<div class="dash-panel">')[1:]:
        label = re.search(r'<h3 class="section-title">(.*?) <span', block).group(1)
        options = re.findall(r"<li><span>(.*?)</span><span class=\"nowrap\">(\d+)（", block)
        found[label] = [(text, int(n)) for text, n in options]
    return found


def test_a_sessions_answers_are_counted_per_option(admin_client, course):
    page = text_of(admin_client.get("/admin/answers/", query_string={"session": course["first"]}))

    assert "统计 3 人" in page  # the cancelled registration is not counted
    assert _counts(page) == {
        "店铺类型": [("淘宝", 0), ("抖音", 1), ("小红书", 2)],
        "平台": [("淘宝", 1), ("抖音", 1), ("小红书", 3)],
        "有店吗": [("是", 2), ("否", 1)],
    }
    assert "小红书</span><span class=\"nowrap\">3（100%）" in page  # of the 3 who answered 平台


def test_a_course_adds_up_all_its_sessions(admin_client, course):
    page = text_of(admin_client.get("/admin/answers/", query_string={"course": course["course_id"]}))

    assert "统计 4 人" in page
    assert _counts(page)["店铺类型"] == [("淘宝", 1), ("抖音", 1), ("小红书", 2)]


def test_a_deleted_question_and_a_removed_option_still_count(app, admin_client, course):
    ids = course["ids"]
    with app.app_context():
        questions.update_question(ids["店铺类型"], questions.QuestionInput(K.SINGLE_CHOICE, "店铺类型",
                                                                            choices=["淘宝", "抖音"]))
        questions.delete_question(ids["平台"])
        db.session.remove()

    page = text_of(admin_client.get("/admin/answers/", query_string={"session": course["first"]}))

    counts = _counts(page)
    assert counts["店铺类型"] == [("淘宝", 0), ("抖音", 1), ("小红书", 2)]
    assert counts["平台"] == [("淘宝", 1), ("抖音", 1), ("小红书", 3)] and "已删除" in page


def _page_without_token(response) -> str:
    """The page as text, less its CSRF token (signed with the second it was made in)."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", text_of(response))


def test_the_default_is_the_soonest_session_and_odd_ids_change_nothing(admin_client, course):
    admin_client.get("/admin/")  # the login's welcome shown
    default = _page_without_token(admin_client.get("/admin/answers/"))
    assert "统计 3 人" in default
    for odd in ("99999999999999999999", "-1", "x", "2147483647"):
        assert _page_without_token(admin_client.get("/admin/answers/", query_string={"session": odd})) == default


def test_the_dashboard_links_to_it_and_only_admins_see_it(admin_client, staff_client, course):
    assert 'href="/admin/answers/"' in text_of(admin_client.get("/admin/"))
    assert staff_client.get("/admin/answers/").status_code == 403


def test_without_questions_it_says_where_to_add_them(admin_client):
    assert "还没有课程设置报名问题" in text_of(admin_client.get("/admin/answers/"))
