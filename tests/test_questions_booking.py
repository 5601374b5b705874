"""Booking a session that asks registration questions, on the booking page and through the booking
service: the questions as form fields, errors per field in Chinese with nothing typed lost, the
answers stored with the registration in its transaction, kept as asked whatever is edited later."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import Registration
from app.catalog.models import CampSession
from app.extensions import db
from app.questions import service as questions
from app.questions.answers import InvalidAnswers
from app.questions.models import Answer, QuestionKind
from tests.factories import (
    PASSWORD,
    make_course,
    make_question,
    make_session,
    make_user,
    new_course,
    new_session,
    xhs_questions,
)
from tests.helpers import (
    csrf_token_from,
    field_errors,
    login,
    recorded_statements,
    run_together,
    submit_form,
    text_of,
)

COMPANY = "宁波𠮷祥家居有限公司（䶮）"


@pytest.fixture
def camp(app) -> tuple[int, dict[str, int]]:
    """A free session of a course asking the 小红书 camp's questions: (session id, {label: question id})."""
    course_id = new_course(app)
    return new_session(app, course_id, capacity=5), xhs_questions(app, course_id)


def _filled(ids: dict[str, int], **changes) -> dict[str, object]:
    """The booking page's fields of a complete set of answers (the shop's name only when asked)."""
    fields = {"公司名称": COMPANY, "店铺类型": "小红书", "主营类目": "家居日用", "年营业额": "500万–2000万",
              "是否已开通小红书店铺": "yes", "小红书店铺名称": "吉祥好物铺", "想解决的问题": "笔记有流量\r\n但不转化"}
    fields.update(changes)
    return {f"q{ids[label]}": value for label, value in fields.items() if value is not None}


def _answers(app, session_id: int | None = None) -> list[tuple[str, str, str]]:
    """(label as asked, kind, value) of every stored answer (of one session's registrations)."""
    with app.app_context():
        query = select(Answer).join(Registration, Registration.id == Answer.registration_id)
        if session_id is not None:
            query = query.where(Registration.session_id == session_id)
        found = [(a.label, a.kind, a.value) for a in db.session.scalars(query.order_by(Answer.id))]
        db.session.remove()
    return found


def _registrations(app, session_id: int) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(Registration.id).where(Registration.session_id == session_id)))
        db.session.remove()
    return ids


# --- the page -----------------------------------------------------------------------------------

def test_the_booking_page_asks_the_questions_as_fields(app, student_client, camp):
    session_id, ids = camp

    page = text_of(student_client.get(f"/sessions/{session_id}/book"))

    assert f'<label class="field-label" for="q{ids["公司名称"]}">公司名称</label>' in page
    for shop in ("淘宝", "天猫", "抖音", "小红书", "其他"):
        assert f'type="radio"\n                name="q{ids["店铺类型"]}" value="{shop}"' in page
    assert "个人卖家可填写店铺名称" in page  # the help text
    assert "想解决的问题<span class=\"muted\">（选填）</span>" in page
    # Shown only for 是: the condition travels with the field for static/js/questions.js.
    assert f'data-show-if="q{ids["是否已开通小红书店铺"]}" data-show-value="yes"' in page
    assert "/static/js/questions.js" in page


def test_missing_and_wrong_answers_are_shown_per_field_and_nothing_typed_is_lost(app, student_client, camp):
    session_id, ids = camp

    response = submit_form(student_client, f"/sessions/{session_id}/book",
                           _filled(ids, 店铺类型=None, 年营业额="一个亿", 小红书店铺名称=None))

    assert response.status_code == 200
    assert field_errors(response) == ["请选择「店铺类型」", "请从给出的选项中选择", "请填写「小红书店铺名称」"]
    page = text_of(response)
    assert "报名信息有误，请按提示修改后重新提交" in page
    assert f'value="{COMPANY}"' in page  # typed, kept
    assert 'value="yes" checked' in page
    assert "但不转化</textarea>" in page
    assert _registrations(app, session_id) == [] and _answers(app) == []


def test_complete_answers_book_and_are_stored_exactly_as_typed(app, student_client, camp):
    session_id, ids = camp

    response = submit_form(student_client, f"/sessions/{session_id}/book", _filled(ids))

    assert response.status_code == 302
    [registration_id] = _registrations(app, session_id)
    assert _answers(app, session_id) == [
        ("公司名称", "short_text", COMPANY), ("店铺类型", "single_choice", "小红书"),
        ("主营类目", "short_text", "家居日用"),
        ("年营业额", "single_choice", "500万–2000万"), ("是否已开通小红书店铺", "yes_no", "yes"),
        ("小红书店铺名称", "short_text", "吉祥好物铺"), ("想解决的问题", "long_text", "笔记有流量\n但不转化"),
    ]
    ticket = text_of(student_client.get(f"/me/registrations/{registration_id}"))
    assert "报名信息" in ticket and COMPANY in ticket and "<dd class=\"break\">是</dd>" in ticket


def test_a_hidden_questions_answer_is_dropped(app, student_client, camp):
    session_id, ids = camp

    submit_form(student_client, f"/sessions/{session_id}/book", _filled(ids, 是否已开通小红书店铺="no"))

    stored = {label: value for label, _kind, value in _answers(app, session_id)}
    assert stored["是否已开通小红书店铺"] == "no" and "小红书店铺名称" not in stored


def test_a_nul_in_an_answer_is_a_400_and_stores_nothing(app, student_client, camp):
    session_id, ids = camp

    response = submit_form(student_client, f"/sessions/{session_id}/book", _filled(ids, 主营类目="女\x00装"))

    assert response.status_code == 400
    assert field_errors(response) == ["含有不可见的控制字符，请删除后重试"]
    assert _registrations(app, session_id) == []


def test_a_newcomer_sees_the_profiles_and_the_answers_errors_at_once(app, client, camp):
    session_id, ids = camp
    make_user(app, "new@example.com", name=None, phone=None)
    login(client, "new@example.com", PASSWORD)

    response = submit_form(client, f"/sessions/{session_id}/book",
                           {"name": "王𠮷", "phone": "12", **_filled(ids, 公司名称=None)})

    assert field_errors(response) == ["请输入 11 位中国大陆手机号，例如 13800138000", "请填写「公司名称」"]
    assert 'value="王𠮷"' in text_of(response) and 'value="小红书" checked' in text_of(response)


# --- the service: one transaction, one set of answers ---------------------------------------------

def _book(app, user_id: int, session_id: int, answers: dict) -> tuple[int, bool, int | None]:
    """(registration id, whether new, place on the waitlist) of a booking with these answers."""
    with app.test_request_context():
        outcome = booking.complete_profile_and_book(db.session.get(User, user_id), session_id, answers=answers)
        booked = outcome.registration.id, outcome.created, outcome.waitlist_position
        db.session.remove()
    return booked


def _as_sent(ids: dict[str, int], **changes) -> dict[int, object]:
    return {int(name[1:]): value for name, value in _filled(ids, **changes).items()}


def test_a_repeated_booking_stores_no_second_set_of_answers(app, student, camp):
    session_id, ids = camp

    first_id, first_new, _place = _book(app, student, session_id, _as_sent(ids))
    again_id, again_new, _place = _book(app, student, session_id, _as_sent(ids, 公司名称="另一家公司"))

    assert first_new and not again_new and again_id == first_id
    assert len(_answers(app, session_id)) == 7
    assert ("公司名称", "short_text", COMPANY) in _answers(app, session_id)


def test_parallel_taps_of_one_person_store_one_registration_and_one_set_of_answers(app, student, camp):
    """Eight requests of the same booking at once (a double tap, a retry): one registration, and its
    answers once; the others get that registration back. Real threads, each with its connection."""
    session_id, ids = camp

    def tap():
        outcome = booking.complete_profile_and_book(db.session.get(User, student), session_id,
                                                    answers=_as_sent(ids))
        return outcome.registration.id, outcome.created

    results, _ = run_together(app, [tap] * 8)

    assert len({registration_id for registration_id, _new in results}) == 1
    assert [new for _id, new in results].count(True) == 1
    assert len(_answers(app, session_id)) == 7


def test_the_answers_commit_with_the_registration_or_not_at_all(app, student, camp, monkeypatch):
    """Written in the booking's transaction: if storing them fails, the seat is not taken either."""
    session_id, ids = camp

    def fail_after_writing(registration_id, answers):
        store(registration_id, answers)
        raise RuntimeError("the disk is full")

    store = questions.record_answers
    monkeypatch.setattr(questions, "record_answers", fail_after_writing)
    with pytest.raises(RuntimeError):
        _book(app, student, session_id, _as_sent(ids))

    assert _registrations(app, session_id) == [] and _answers(app) == []
    with app.app_context():
        assert db.session.get(CampSession, session_id).seats_taken == 0


def test_wrong_answers_book_nothing(app, student, camp):
    session_id, ids = camp

    with app.test_request_context(), pytest.raises(InvalidAnswers) as refused:
        booking.complete_profile_and_book(db.session.get(User, student), session_id,
                                          answers=_as_sent(ids, 店铺类型="拼多多"))

    assert refused.value.errors == {ids["店铺类型"]: "请从给出的选项中选择"}
    assert _registrations(app, session_id) == []


def test_a_waitlisted_booking_keeps_its_answers_too(app, student, camp):
    session_id, ids = camp
    with app.app_context():
        booking.change_capacity(session_id, 0)

    _id, _new, place = _book(app, student, session_id, _as_sent(ids))

    assert place == 1 and len(_answers(app, session_id)) == 7


def test_a_session_with_questions_adds_only_the_answers_insert_to_the_booking(app, student_client, camp):
    """The booking's own statements, then (in a savepoint inside the same transaction) one INSERT of
    every answer; a session without questions writes what it always wrote (test_booking_pages)."""
    session_id, ids = camp
    page = text_of(student_client.get(f"/sessions/{session_id}/book"))
    with app.app_context():
        dialect = db.engine.dialect.name
    with recorded_statements(app) as seen:
        response = student_client.post(f"/sessions/{session_id}/book",
                                       data={"source": "web", "csrf_token": csrf_token_from(page), **_filled(ids)})
    assert response.status_code == 302
    writes = [sql for sql in seen if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH"))]
    answers = [sql for sql in writes if "registration_answers" in sql]
    assert len(answers) == 1
    assert len(writes) == (1 if dialect == "postgresql" else 4) + 1, writes


# --- answers keep the question as it was asked ---------------------------------------------------

def test_editing_or_deleting_a_question_never_changes_earlier_answers(app, student, camp):
    session_id, ids = camp
    _book(app, student, session_id, _as_sent(ids))
    with app.app_context():
        questions.update_question(ids["年营业额"], questions.QuestionInput(
            kind=QuestionKind.SINGLE_CHOICE, label="2025 年销售额", required=True,
            choices=["1000万以下", "1000万以上"]))
        questions.delete_question(ids["主营类目"])
        db.session.remove()

    stored = _answers(app, session_id)

    assert ("年营业额", "single_choice", "500万–2000万") in stored
    assert ("主营类目", "short_text", "家居日用") in stored
    with app.app_context():
        kept = db.session.scalar(select(Answer).where(Answer.question_id == ids["年营业额"]))
        assert kept.choices == ["100万以下", "100万–500万", "500万–2000万", "2000万–1亿", "1亿以上"]
        db.session.remove()
    # The next person is asked the question as it is now, and no longer the deleted one.
    newcomer = make_user(app, "next@example.com", name="李四", phone="13900000001")
    with pytest.raises(InvalidAnswers) as refused:
        _book(app, newcomer, session_id, _as_sent(ids))
    assert refused.value.errors == {ids["年营业额"]: "请从给出的选项中选择",
                                    str(ids["主营类目"]): "本场次没有这个问题，请刷新页面后重新填写"}


def test_a_session_with_its_own_questions_asks_them_instead_of_its_courses(app, student, student_client):
    with app.app_context():
        course_id = make_course(slug="own")
        make_question("公司名称", course_id=course_id, required=True)
        session_id = make_session(course_id)
        other_id = make_session(course_id, starts_in_days=60)
        questions.use_own_questions(session_id)
        make_question("企业微信号", session_id=session_id, required=True)
        db.session.remove()

    page = text_of(student_client.get(f"/sessions/{session_id}/book"))
    assert ">公司名称<" in page and ">企业微信号<" in page  # the copy of the course's, and its own
    assert ">企业微信号<" not in text_of(student_client.get(f"/sessions/{other_id}/book"))

    with app.app_context():
        questions.use_course_questions(session_id)
        db.session.remove()
    assert ">企业微信号<" not in text_of(student_client.get(f"/sessions/{session_id}/book"))


def test_a_session_without_questions_books_as_before(app, student, student_client):
    session_id = new_session(app)

    response = submit_form(student_client, f"/sessions/{session_id}/book", {})

    assert response.status_code == 302 and "报名信息" not in text_of(student_client.get("/me/registrations"))
    assert len(_registrations(app, session_id)) == 1 and _answers(app) == []
