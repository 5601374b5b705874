"""Registration questions over the API: GET /sessions/<id> lists them, a booking's body carries the
answers, a wrong or missing one is a 400 naming the field, hostile values never a 500, and a
person's registrations show what they answered."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.booking.models import Registration
from app.catalog.models import CampSession
from app.extensions import db
from app.mail.models import OutboxMessage
from app.questions import service as questions_service
from app.questions.models import Answer, QuestionKind
from app.questions.queries import questions_for_session
from tests.factories import make_course, make_question, make_session, new_course, new_session, xhs_questions
from tests.helpers import API, api_book, assert_error, recorded_statements, student_headers

COMPANY = "上海䶮木美妆有限公司（𠮷）"


@pytest.fixture
def headers(app, client):
    return student_headers(app, client, "student@example.com", "13800000003", name="张喆")


@pytest.fixture
def camp(app) -> tuple[int, dict[str, int]]:
    course_id = new_course(app)
    return new_session(app, course_id, capacity=5), xhs_questions(app, course_id)


def _answers(ids: dict[str, int], **changes) -> dict[str, object]:
    answers = {"公司名称": COMPANY, "店铺类型": "抖音", "主营类目": "美妆个护", "年营业额": "100万以下",
               "是否已开通小红书店铺": False, "想解决的问题": "起号慢"}
    answers.update(changes)
    return {str(ids[label]): value for label, value in answers.items()}


def _book(client, session_id: int, headers: dict, body=None):
    """POST a booking; `body` as JSON with every non-ASCII character escaped (a lone surrogate too)."""
    data = json.dumps(body) if body is not None else None
    return client.post(f"{API}/sessions/{session_id}/registrations", headers=headers, data=data,
                       content_type="application/json" if data else None)


def _stored_answers(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Answer))
        db.session.remove()
    return count


def test_a_session_lists_its_questions(client, camp):
    session_id, ids = camp

    questions = client.get(f"{API}/sessions/{session_id}").get_json()["questions"]

    assert [q["label"] for q in questions] == ["公司名称", "店铺类型", "主营类目", "年营业额", "是否已开通小红书店铺",
                                               "小红书店铺名称", "想解决的问题"]
    shop_type = questions[1]
    assert shop_type == {"id": ids["店铺类型"], "label": "店铺类型", "type": "single_choice", "required": True,
                         "help": "", "choices": ["淘宝", "天猫", "抖音", "小红书", "其他"], "show_if": None}
    assert questions[0]["choices"] is None and questions[0]["help"] == "个人卖家可填写店铺名称"
    assert questions[5]["show_if"] == {"question_id": ids["是否已开通小红书店铺"], "value": "yes"}
    assert questions[6]["required"] is False and questions[6]["type"] == "long_text"


def test_a_booking_without_the_required_answers_is_400_naming_each(client, camp, headers):
    session_id, ids = camp

    body = assert_error(_book(client, session_id, headers), 400, "invalid_answers")

    assert body["message"] == "报名信息有误，请按提示修改后重新提交"
    assert body["fields"] == {
        f"answers.{ids['公司名称']}": "请填写「公司名称」", f"answers.{ids['店铺类型']}": "请选择「店铺类型」",
        f"answers.{ids['主营类目']}": "请填写「主营类目」", f"answers.{ids['年营业额']}": "请选择「年营业额」",
        f"answers.{ids['是否已开通小红书店铺']}": "请选择「是否已开通小红书店铺」",
    }


def test_a_booking_without_the_required_answers_writes_nothing(app, client, camp, headers):
    """Refused in the booking's transaction (its statements run first, then the questions are read,
    as the statements said the session has some): rolled back whole, seat, email and audit entry."""
    session_id, _ids = camp

    assert_error(_book(client, session_id, headers), 400, "invalid_answers")

    with app.app_context():
        assert db.session.get(CampSession, session_id).seats_taken == 0
        assert db.session.get(CampSession, session_id).waitlist_issued == 0
        for written in (Registration, OutboxMessage, AuditEntry):
            assert db.session.scalar(select(func.count()).select_from(written)) == 0, written
        db.session.remove()


def _no_questions(course_id: int, session_id: int, other_id: int) -> None:
    pass


def _another_courses(course_id: int, session_id: int, other_id: int) -> None:
    make_question("公司名称", course_id=make_course(title="抖音电商特训营", slug="dy"), required=True)


def _another_sessions_own(course_id: int, session_id: int, other_id: int) -> None:
    questions_service.use_own_questions(other_id)
    make_question("企业微信号", session_id=other_id, required=True)


def _course_question_deleted(course_id: int, session_id: int, other_id: int) -> None:
    questions_service.delete_question(make_question("公司名称", course_id=course_id, required=True))


def _course_optional(course_id: int, session_id: int, other_id: int) -> None:
    make_question("想解决的问题", course_id=course_id)


def _course_required(course_id: int, session_id: int, other_id: int) -> None:
    make_question("公司名称", course_id=course_id, required=True)


def _own_required(course_id: int, session_id: int, other_id: int) -> None:
    questions_service.use_own_questions(session_id)
    make_question("企业微信号", session_id=session_id, required=True)


def _own_set_empty_course_required(course_id: int, session_id: int, other_id: int) -> None:
    """The session asks its own set, which is empty: its course's required question is not asked."""
    questions_service.use_own_questions(session_id)
    make_question("公司名称", course_id=course_id, required=True)


def _own_deleted_course_optional(course_id: int, session_id: int, other_id: int) -> None:
    questions_service.use_own_questions(session_id)
    questions_service.delete_question(make_question("企业微信号", session_id=session_id, required=True))
    make_question("想解决的问题", course_id=course_id)


# (set-up, whether the booking reads the session's questions, its status)
_WITHOUT_ANSWERS = [
    (_no_questions, False, 201),
    (_another_courses, False, 201),
    (_another_sessions_own, False, 201),
    (_course_question_deleted, False, 201),
    (_course_optional, True, 201),
    (_course_required, True, 400),
    (_own_required, True, 400),
    (_own_set_empty_course_required, True, 201),
    (_own_deleted_course_optional, True, 201),
]


@pytest.mark.parametrize(("set_up", "reads", "status"), _WITHOUT_ANSWERS, ids=[c[0].__name__ for c in _WITHOUT_ANSWERS])
def test_a_booking_without_answers_reads_the_questions_only_when_the_session_may_ask_some(
        app, client, headers, set_up, reads, status):
    """The booking statements say whether the session or its course has questions (the rush path
    of a session without any reads none); when they do, the rule of which it asks
    (questions_for_session) decides, so a required question is never skipped."""
    with app.app_context():
        course_id = make_course()
        session_id, other_id = make_session(course_id), make_session(course_id, starts_in_days=60)
        set_up(course_id, session_id, other_id)
        asked = questions_for_session(session_id)
        db.session.remove()

    with recorded_statements(app) as seen:
        response = _book(client, session_id, headers)

    read = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT") and "registration_questions" in sql]
    assert bool(read) == reads, seen
    assert response.status_code == status, response.get_json()
    # The invariant the flag keeps: a session that asks questions has them read.
    assert reads or not asked
    if status == 201:
        assert response.get_json()["answers"] == []


def test_a_booking_with_answers_is_201_and_shows_them(app, client, camp, headers):
    session_id, ids = camp

    response = _book(client, session_id, headers, {"answers": _answers(ids, 是否已开通小红书店铺=True,
                                                                        小红书店铺名称="䶮木小店",
                                                                        店铺类型="小红书")})

    assert response.status_code == 201, response.get_json()
    answers = response.get_json()["answers"]
    assert answers[0] == {"question_id": ids["公司名称"], "label": "公司名称", "type": "short_text", "value": COMPANY,
                          "text": COMPANY}
    assert answers[4] == {"question_id": ids["是否已开通小红书店铺"], "label": "是否已开通小红书店铺", "type": "yes_no",
                          "value": True, "text": "是"}
    assert [a["label"] for a in answers][5] == "小红书店铺名称"
    registration_id = response.get_json()["id"]
    assert client.get(f"{API}/registrations/{registration_id}", headers=headers).get_json()["answers"] == answers
    assert client.get(f"{API}/me/registrations", headers=headers).get_json()["items"][0]["answers"] == answers
    cancelled = client.delete(f"{API}/registrations/{registration_id}", headers=headers).get_json()
    assert cancelled["answers"] == answers  # a cancelled registration keeps what was answered


def test_booking_again_is_200_and_stores_no_second_set(app, client, camp, headers):
    session_id, ids = camp
    first = _book(client, session_id, headers, {"answers": _answers(ids)})
    stored = _stored_answers(app)

    again = _book(client, session_id, headers, {"answers": _answers(ids, 公司名称="另一家")})

    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["answers"] == first.get_json()["answers"]
    assert _stored_answers(app) == stored == 6


def test_several_choices_go_as_a_list_and_come_back_as_one(app, client, headers):
    course_id = new_course(app)
    with app.app_context():
        platforms = make_question("在哪些平台开店", QuestionKind.MULTIPLE_CHOICE, course_id=course_id, required=True,
                                  choices=("淘宝", "抖音", "小红书"))
        turnover = make_question("去年营业额（万元）", QuestionKind.NUMBER, course_id=course_id)
        db.session.remove()
    session_id = new_session(app, course_id)

    response = _book(client, session_id, headers, {"answers": {str(platforms): ["小红书", "淘宝"],
                                                               str(turnover): 1250.5}})

    assert response.status_code == 201, response.get_json()
    assert [(a["value"], a["text"]) for a in response.get_json()["answers"]] == [
        (["淘宝", "小红书"], "淘宝、小红书"), ("1250.5", "1250.5")]


@pytest.mark.parametrize(("value", "message"), [
    (None, "请填写「公司名称」"),
    ("a\u0000b", "含有不可见的控制字符，请删除后重试"),
    ("\ud800", "含有无法识别的字符（不成对的代理字符），请删除后重试"),
    (123, "请填写文字"),
    (["x"], "请填写文字"),
    ("长" * 10_000, "最多 200 个字，现在 10000 个字"),
])
def test_a_wrong_answer_is_400_with_its_reason(app, client, camp, headers, value, message):
    session_id, ids = camp

    body = assert_error(_book(client, session_id, headers, {"answers": _answers(ids, 公司名称=value)}), 400,
                        "invalid_answers")

    assert body["fields"] == {f"answers.{ids['公司名称']}": message}
    assert _stored_answers(app) == 0


@pytest.mark.parametrize("raw", [
    '{"answers": {"1": NaN}}', '{"answers": {"1": 1e400}}', '{"answers": {"1": {"a": 1}}}',
    '{"answers": {"1": [1, 2]}}', '{"answers": {"abc": "x"}}', '{"answers": {"99999999999": "x"}}',
    '{"answers": ["x"]}', '{"answers": null}', '{"answers": "x"}', '[]', '"answers"', '{"answers": {',
    '{"answers": {"' + '1' * 5000 + '": "x"}}',
])
def test_hostile_bodies_are_400_never_500(app, client, camp, headers, raw):
    session_id, _ids = camp

    response = client.post(f"{API}/sessions/{session_id}/registrations", headers=headers, data=raw,
                           content_type="application/json")

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["code"] in {"invalid_request", "invalid_answers"}
    assert _stored_answers(app) == 0


def test_hostile_values_of_every_kind_are_400_never_500(app, client, headers):
    """Each hostile JSON value as the answer to a question of each kind."""
    course_id = new_course(app)
    with app.app_context():
        ids = {kind: make_question(kind.label, kind, course_id=course_id,
                                   choices=("甲", "乙") if kind.has_choices else ())
               for kind in QuestionKind}
        db.session.remove()
    session_id = new_session(app, course_id)
    refused_by_every_kind = ['"\\u0000"', '"\\ud800"', '"\\u001b[31m"', "1e400", "-1e400", "NaN", "Infinity",
                             "99999999999999999999", "{}", "[null]", '"' + "长" * 3000 + '"']
    fine_for_some_kinds = ['"0001-01-01"', '"9999-12-31"', "[]", "true"]  # a text, an empty list, a yes
    failures = []
    for kind, question_id in ids.items():
        for value in refused_by_every_kind + fine_for_some_kinds:
            response = client.post(f"{API}/sessions/{session_id}/registrations", headers=headers,
                                   data=f'{{"answers": {{"{question_id}": {value}}}}}', content_type="application/json")
            allowed = {400, 201} if value in fine_for_some_kinds else {400}
            if response.status_code not in allowed:
                failures.append((kind.value, value, response.status_code))
            if response.status_code == 201:
                client.delete(f"{API}/registrations/{response.get_json()['id']}", headers=headers)
    assert failures == []


def test_a_session_without_questions_books_with_no_body_or_an_empty_one(client, headers):
    assert api_book(client, new_session(client.application), headers).status_code == 201
    response = _book(client, new_session(client.application, starts_in_days=40), headers, {})
    assert response.status_code == 201 and response.get_json()["answers"] == []


def test_the_document_describes_the_questions_and_the_answers(client):
    document = client.get(f"{API}/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    book = document["paths"]["/sessions/{session_id}/registrations"]["post"]
    assert book["requestBody"] == {"required": False, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/BookingRequest"}}}}
    assert "invalid_answers" in book["responses"]["400"]["description"]
    answers = schemas["BookingRequest"]["properties"]["answers"]
    assert answers["type"] == "object" and answers["additionalProperties"] is False
    assert list(answers["patternProperties"]) == ["^[0-9]{1,10}$"]
    detail = document["paths"]["/sessions/{session_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SessionDetailOut"}
    question = schemas["QuestionOut"]
    assert set(question["required"]) >= {"id", "label", "type", "required", "choices"}
    assert question["properties"]["type"]["enum"] == [
        "short_text", "long_text", "single_choice", "multiple_choice", "number", "date", "phone", "email", "yes_no"]
    assert "answers" in schemas["RegistrationOut"]["required"]
