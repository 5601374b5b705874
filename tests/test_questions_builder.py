"""The admins' builder of registration questions: pages, permissions, and the rules of a set
(options, conditions on earlier questions, order, a session's own set)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.questions import queries
from app.questions import service as questions
from app.questions.models import Question, QuestionKind
from app.questions.service import QuestionInput, QuestionRefused
from tests.factories import make_question, new_course, new_session, xhs_questions
from tests.helpers import field_errors, submit_form, text_of

K = QuestionKind


def _labels(app, course_id: int | None = None, session_id: int | None = None) -> list[str]:
    with app.app_context():
        labels = [q.label for q in queries.questions_of(course_id=course_id, session_id=session_id)]
        db.session.remove()
    return labels


def _refusal(app, action) -> str:
    with app.app_context(), pytest.raises(QuestionRefused) as refused:
        action()
    return str(refused.value.message)


# --- who may -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["student_client", "staff_client"])
def test_only_admins_open_the_builder(app, request, role):
    course_id = new_course(app)
    assert request.getfixturevalue(role).get(f"/admin/questions/course/{course_id}").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    course_id = new_course(app)
    response = client.get(f"/admin/questions/course/{course_id}")
    assert response.status_code == 302 and "/account/login" in response.location


# --- the pages -----------------------------------------------------------------------------------

def test_an_admin_builds_a_courses_questions(app, admin_client):
    course_id = new_course(app)
    builder = f"/admin/questions/course/{course_id}"
    assert "还没有报名问题" in text_of(admin_client.get(builder))

    response = submit_form(admin_client, f"{builder}/new", {"label": "店铺类型", "kind": "single_choice",
                                                          "choices": "淘宝\r\n天猫\r\n\r\n抖音 ", "required": "y"})
    assert response.status_code == 302 and response.location.endswith(builder)
    with app.app_context():
        shop_type = db.session.scalar(select(Question))
        assert (shop_type.kind, shop_type.choices, shop_type.required) == \
            (K.SINGLE_CHOICE, ["淘宝", "天猫", "抖音"], True)
        shop_type_id = shop_type.id
        db.session.remove()

    # The condition select offers the earlier question's options.
    form_page = text_of(admin_client.get(f"{builder}/new"))
    assert f'<option value="{shop_type_id}:抖音">「店铺类型」= 抖音</option>' in form_page
    submit_form(admin_client, f"{builder}/new", {"label": "抖音店铺名称", "kind": "short_text",
                                                "condition": f"{shop_type_id}:抖音"})

    page = text_of(admin_client.get(builder))
    assert "1. 店铺类型" in page and "2. 抖音店铺名称" in page
    assert "仅当「店铺类型」回答「抖音」时显示" in page
    assert "/static/js/questions.js" in page and "data-reorder" in page


def test_the_form_shows_the_rules_refusal_next_to_its_field(app, admin_client):
    course_id = new_course(app)

    response = submit_form(admin_client, f"/admin/questions/course/{course_id}/new",
                           {"label": "店铺类型", "kind": "single_choice", "choices": "淘宝"})

    assert response.status_code == 200
    assert field_errors(response) == ["请填写 2 到 30 个选项，每行一个"]
    assert _labels(app, course_id) == []


def test_editing_keeps_the_form_filled_and_saves(app, admin_client):
    course_id = new_course(app)
    ids = xhs_questions(app, course_id)
    url = f"/admin/questions/{ids['年营业额']}/edit"
    assert "100万以下\n100万–500万" in text_of(admin_client.get(url))

    response = submit_form(admin_client, url, {"label": "年销售额", "kind": "single_choice", "choices": "少\n多",
                                               "required": "y"})

    assert response.status_code == 302
    assert "年销售额" in _labels(app, course_id)


def test_moving_deleting_and_reordering_from_the_page(app, admin_client):
    course_id = new_course(app)
    ids = xhs_questions(app, course_id)
    builder = f"/admin/questions/course/{course_id}"

    submit_form(admin_client, f"/admin/questions/{ids['主营类目']}/up", {}, form_page=builder)
    assert _labels(app, course_id)[:3] == ["公司名称", "主营类目", "店铺类型"]

    submit_form(admin_client, f"/admin/questions/{ids['公司名称']}/delete", {}, form_page=builder)
    assert "公司名称" not in _labels(app, course_id)

    order = [ids[label] for label in ("想解决的问题", "年营业额", "是否已开通小红书店铺", "小红书店铺名称", "店铺类型",
                                      "主营类目")]
    response = submit_form(admin_client, f"{builder}/order", {"order": ",".join(map(str, order))}, form_page=builder)
    assert response.status_code == 302
    assert _labels(app, course_id) == ["想解决的问题", "年营业额", "是否已开通小红书店铺", "小红书店铺名称", "店铺类型",
                                       "主营类目"]
    # Garbage instead of ids is a 400, not a 500.
    assert submit_form(admin_client, f"{builder}/order", {"order": "1,x"}, form_page=builder).status_code == 400


def test_a_session_asks_its_courses_questions_until_given_its_own(app, admin_client):
    course_id = new_course(app)
    xhs_questions(app, course_id)
    session_id = new_session(app, course_id)
    builder = f"/admin/questions/session/{session_id}"

    page = text_of(admin_client.get(builder))
    assert "本场次使用课程的报名问题" in page and "公司名称" in page and "data-reorder" not in page
    assert admin_client.get(f"{builder}/new").status_code == 302  # nothing of its own to add to yet

    submit_form(admin_client, f"{builder}/own", {}, form_page=builder)
    assert _labels(app, session_id=session_id) == _labels(app, course_id)
    submit_form(admin_client, f"{builder}/new", {"label": "企业微信号", "kind": "short_text"})
    assert _labels(app, session_id=session_id)[-1] == "企业微信号"
    assert "企业微信号" not in _labels(app, course_id)

    submit_form(admin_client, f"{builder}/inherit", {}, form_page=builder)
    with app.app_context():
        assert [q.label for q in queries.questions_for_session(session_id)] == _labels(app, course_id)
        db.session.remove()


def test_the_catalogue_links_to_the_questions(app, admin_client):
    course_id = new_course(app)
    session_id = new_session(app, course_id)
    page = text_of(admin_client.get("/admin/courses/"))
    assert f'href="/admin/questions/course/{course_id}"' in page
    assert f'href="/admin/questions/session/{session_id}"' in page


# --- the rules of a set ----------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"label": "  "}, "请填写问题"),
    ({"label": "问" * 101}, "问题最多 100 个字"),
    ({"choices": ["淘宝", "淘宝", "天猫"]}, "选项不能重复"),
    ({"choices": [str(n) for n in range(31)]}, "请填写 2 到 30 个选项，每行一个"),
    ({"choices": ["淘宝", "长" * 101]}, "每个选项最多 100 个字"),
])
def test_a_question_must_make_sense(app, changes, message):
    course_id = new_course(app)
    data = {"kind": K.SINGLE_CHOICE, "label": "店铺类型", "choices": ["淘宝", "天猫"], **changes}
    assert _refusal(app, lambda: questions.add_question(QuestionInput(**data), course_id=course_id)) == message


def test_a_condition_names_an_earlier_choice_question_and_one_of_its_answers(app):
    course_id = new_course(app)
    with app.app_context():
        company = make_question("公司名称", course_id=course_id)
        has_shop = make_question("是否已开通小红书店铺", K.YES_NO, course_id=course_id)
        db.session.remove()

    def add(condition_id, value):
        data = QuestionInput(K.SHORT_TEXT, "店铺名称", condition_question_id=condition_id, condition_value=value)
        return lambda: questions.add_question(data, course_id=course_id)

    assert _refusal(app, add(company, "x")) == "显示条件只能选排在前面的单选、多选或是/否问题"
    assert _refusal(app, add(has_shop, "maybe")) == "显示条件的选项已不存在，请重新选择"
    with app.app_context():
        shop_name = questions.add_question(QuestionInput(K.SHORT_TEXT, "店铺名称", condition_question_id=has_shop,
                                                         condition_value="yes"), course_id=course_id).id
        db.session.remove()
    # Nor on itself, nor on a later question (the set's order decides what is earlier).
    assert _refusal(app, lambda: questions.update_question(has_shop, QuestionInput(
        K.YES_NO, "是否已开通小红书店铺", condition_question_id=shop_name, condition_value="yes"))) == \
        "显示条件只能选排在前面的单选、多选或是/否问题"


def test_what_others_depend_on_cannot_go(app):
    course_id = new_course(app)
    ids = xhs_questions(app, course_id)
    has_shop, shop_name = ids["是否已开通小红书店铺"], ids["小红书店铺名称"]

    assert _refusal(app, lambda: questions.delete_question(has_shop)) == \
        "「小红书店铺名称」的显示条件取决于本题，请先修改或删除它"
    assert _refusal(app, lambda: questions.update_question(has_shop, QuestionInput(K.SHORT_TEXT, "有店吗"))) == \
        "「小红书店铺名称」只在本题回答「是」时显示，请先修改它的显示条件"
    assert _refusal(app, lambda: questions.move_question(shop_name, -1)) == \
        "「小红书店铺名称」的显示条件取决于「是否已开通小红书店铺」，只能排在它后面"
    order = [ids[label] for label in ("公司名称", "店铺类型", "主营类目", "年营业额", "小红书店铺名称",
                                      "是否已开通小红书店铺", "想解决的问题")]
    assert _refusal(app, lambda: questions.reorder_questions(order, course_id=course_id)) == \
        "「小红书店铺名称」的显示条件取决于「是否已开通小红书店铺」，只能排在它后面"
    assert _refusal(app, lambda: questions.reorder_questions(order[:-1], course_id=course_id)) == \
        "问题列表已有变化，请刷新页面后重新排序"


def test_a_sessions_own_set_is_a_copy_with_its_conditions(app):
    course_id = new_course(app)
    ids = xhs_questions(app, course_id)
    session_id = new_session(app, course_id)

    with app.app_context():
        copies = questions.use_own_questions(session_id)
        shop_name = next(q for q in copies if q.label == "小红书店铺名称")
        has_shop = next(q for q in copies if q.label == "是否已开通小红书店铺")
        assert (shop_name.condition_question_id, shop_name.condition_value) == (has_shop.id, "yes")
        assert {q.id for q in copies}.isdisjoint(ids.values())
        assert [q.id for q in queries.questions_for_session(session_id)] == [q.id for q in copies]
        db.session.remove()
