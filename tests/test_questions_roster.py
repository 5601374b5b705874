"""Answers on the staff side: a registration's page, the roster's optional columns and its filter by
an answer, and the exports (CSV and XLSX: one column per question, as asked; a deleted question's
answers still there under the label they were given to)."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.accounts.models import User
from app.booking import service as booking
from app.extensions import db
from app.questions import service as questions
from app.questions.models import QuestionKind
from app.roster import exports
from tests.factories import make_question, make_students, new_course, new_session
from tests.helpers import recorded_statements, submit_form, text_of

# A choice with LIKE's own wildcards in it: the filter must match it literally.
FABRICS = ["纯棉", "100%_真丝", "羊毛"]


@pytest.fixture
def camp(app) -> dict:
    """A session asking 公司名称 (text), 店铺类型 (one choice), 面料 (several) and 有店吗 (yes/no);
    three people booked: 王𠮷's shop sells 100%_真丝 and 羊毛, 李四 纯棉 only, 赵䶮 answered no 面料."""
    course_id = new_course(app)
    with app.app_context():
        ids = {
            "公司名称": make_question("公司名称", course_id=course_id, required=True),
            "店铺类型": make_question("店铺类型", QuestionKind.SINGLE_CHOICE, course_id=course_id,
                                  choices=("淘宝", "抖音", "小红书")),
            "面料": make_question("面料", QuestionKind.MULTIPLE_CHOICE, course_id=course_id, choices=tuple(FABRICS)),
            "有店吗": make_question("有店吗", QuestionKind.YES_NO, course_id=course_id),
        }
        db.session.remove()
    session_id = new_session(app, course_id, capacity=10)
    people = make_students(app, 3)
    given = [
        {"公司名称": "𠮷祥丝绸", "店铺类型": "小红书", "面料": ["羊毛", "100%_真丝"], "有店吗": True},
        {"公司名称": "=HYPERLINK(\"http://x\")", "店铺类型": "抖音", "面料": ["纯棉"], "有店吗": False},
        {"公司名称": "䶮记", "店铺类型": "小红书"},
    ]
    registrations = []
    with app.test_request_context():
        for user_id, answers in zip(people, given, strict=True):
            sent = {ids[label]: value for label, value in answers.items()}
            outcome = booking.complete_profile_and_book(db.session.get(User, user_id), session_id, answers=sent)
            registrations.append(outcome.registration.id)
        db.session.remove()
    return {"session_id": session_id, "course_id": course_id, "ids": ids, "registrations": registrations}


def _roster(staff_client, camp, **args):
    return text_of(staff_client.get(f"/staff/sessions/{camp['session_id']}/roster", query_string=args))


def _names(page: str) -> list[str]:
    return [name for name in ("学员0", "学员1", "学员2") if f">{name}</a>" in page]


def _csv(staff_client, camp) -> list[list[str]]:
    body = staff_client.get(f"/staff/sessions/{camp['session_id']}/roster.csv").get_data(as_text=True)
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_a_registrations_page_shows_its_answers(staff_client, camp):
    page = text_of(staff_client.get(f"/staff/registrations/{camp['registrations'][0]}"))

    assert "报名信息" in page
    assert "<dt>面料</dt><dd class=\"break\">100%_真丝、羊毛</dd>" in page
    assert "<dt>有店吗</dt><dd class=\"break\">是</dd>" in page


def test_the_roster_shows_answer_columns_only_when_asked(staff_client, camp):
    ids = camp["ids"]
    plain = _roster(staff_client, camp)
    assert '<th class="answer">' not in plain and "显示报名信息列" in plain

    page = _roster(staff_client, camp, col=[ids["公司名称"], ids["面料"]])

    assert '<th class="answer">公司名称</th><th class="answer">面料</th>' in page
    assert '<td class="answer">𠮷祥丝绸</td>' in page and '<td class="answer">100%_真丝、羊毛</td>' in page
    assert '<td class="answer">—</td>' in page  # 赵䶮 gave no 面料


@pytest.mark.parametrize(("label", "value", "expected"), [
    ("店铺类型", "小红书", ["学员0", "学员2"]),
    ("店铺类型", "淘宝", []),
    ("面料", "100%_真丝", ["学员0"]),  # inside a list of several, wildcards taken literally
    ("面料", "羊毛", ["学员0"]),
    ("面料", "纯棉", ["学员1"]),
    ("有店吗", "no", ["学员1"]),
])
def test_the_roster_filters_by_an_answer(staff_client, camp, label, value, expected):
    page = _roster(staff_client, camp, answer=f"{camp['ids'][label]}:{value}")
    assert _names(page) == expected


def test_the_filter_offers_the_choice_questions_and_links_keep_it(staff_client, camp):
    ids = camp["ids"]
    page = _roster(staff_client, camp, answer=f"{ids['店铺类型']}:小红书", col=ids["公司名称"])

    assert f'<option value="{ids["有店吗"]}:yes" >有店吗：是</option>' in page
    assert '<optgroup label="公司名称">' not in page  # text answers are columns, not filters
    # The status tabs keep the answer filter and the columns.
    assert f"answer={ids['店铺类型']}:%E5%B0%8F%E7%BA%A2%E4%B9%A6" in page.replace("%3A", ":")
    assert f"col={ids['公司名称']}" in page


def test_a_filter_that_names_nothing_shows_everyone(staff_client, camp):
    assert _names(_roster(staff_client, camp, answer="garbage")) == ["学员0", "学员1", "学员2"]
    assert _names(_roster(staff_client, camp, answer="99999:小红书")) == []
    assert _names(_roster(staff_client, camp, answer="9999999999:小红书")) == ["学员0", "学员1", "学员2"]


def test_the_csv_has_one_column_per_question_as_asked(staff_client, camp):
    rows = _csv(staff_client, camp)

    header = rows[0]
    start = header.index("支付状态") + 1
    assert header[start:start + 4] == ["公司名称", "店铺类型", "面料", "有店吗"]
    assert [row[start:start + 4] for row in rows[1:]] == [
        ["𠮷祥丝绸", "小红书", "100%_真丝、羊毛", "是"],
        ["'=HYPERLINK(\"http://x\")", "抖音", "纯棉", "否"],  # never run as a formula
        ["䶮记", "小红书", "", ""],
    ]


def test_a_deleted_or_renamed_question_is_exported_as_it_was_asked(app, staff_client, camp):
    ids = camp["ids"]
    with app.app_context():
        questions.delete_question(ids["面料"])
        questions.update_question(ids["店铺类型"], questions.QuestionInput(
            QuestionKind.SINGLE_CHOICE, "主要店铺", choices=["天猫", "京东"]))
        db.session.remove()

    header, first, *_ = _csv(staff_client, camp)

    start = header.index("支付状态") + 1
    # The questions asked now (店铺类型 under its new label), then the deleted one under the label it was answered to.
    assert header[start:start + 4] == ["公司名称", "主要店铺", "有店吗", "面料"]
    assert first[start:start + 4] == ["𠮷祥丝绸", "小红书", "是", "100%_真丝、羊毛"]


def test_a_session_given_its_own_questions_still_exports_the_courses_answers(app, staff_client, camp):
    with app.app_context():
        questions.use_own_questions(camp["session_id"])
        questions.use_course_questions(camp["session_id"])  # back and forth: its own set deleted again
        questions.use_own_questions(camp["session_id"])
        db.session.remove()

    header = _csv(staff_client, camp)[0]

    start = header.index("支付状态") + 1
    # The copies asked now, then the originals answered.
    assert header[start:start + 8] == ["公司名称", "店铺类型", "面料", "有店吗"] * 2


def test_the_xlsx_has_the_same_columns(staff_client, camp):
    response = staff_client.get(f"/staff/sessions/{camp['session_id']}/roster.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    start = rows[0].index("支付状态") + 1
    assert rows[0][start:start + 4] == ["公司名称", "店铺类型", "面料", "有店吗"]
    assert rows[1][start:start + 4] == ["𠮷祥丝绸", "小红书", "100%_真丝、羊毛", "是"]
    assert rows[2][start] == '=HYPERLINK("http://x")'  # text, not a formula
    assert sheet.cell(row=3, column=start + 1).data_type == "s"


def test_answers_are_read_once_per_batch(app, camp):
    with app.test_request_context():
        camp_row = exports.session_for_export(camp["session_id"])
        for batch_size, batches in ((500, 1), (1, 3)):
            with recorded_statements(app) as statements:
                rows = [row for batch in exports.roster_batches(camp_row, batch_size=batch_size) for row in batch]
            assert len(rows) == 3
            assert len([s for s in statements if "registration_answers.registration_id IN (" in s]) == batches
        db.session.remove()


def _add(staff_client, session_id: int, data: dict):
    return submit_form(staff_client, f"/staff/sessions/{session_id}/add", data)


def test_staff_adding_a_walk_in_may_fill_in_the_questions_or_leave_them(app, staff_client, camp):
    ids, session_id = camp["ids"], camp["session_id"]
    page = text_of(staff_client.get(f"/staff/sessions/{session_id}/add"))
    assert "报名问题（选填" in page and "店铺类型" in page

    answered = _add(staff_client, session_id, {
        "name": "欧阳䶮", "phone": "13911112222", "add_new": "1",
        f"n-q{ids['公司名称']}": "䶮记家居", f"n-q{ids['店铺类型']}": "抖音"})
    skipped = _add(staff_client, session_id, {"name": "钱多多", "phone": "13911113333", "add_new": "1"})

    assert answered.status_code == 302 and skipped.status_code == 302  # 公司名称 is required of students only
    rows = {row[0]: row for row in _csv(staff_client, camp)}
    header = _csv(staff_client, camp)[0]
    company, shop = header.index("公司名称"), header.index("店铺类型")
    assert (rows["欧阳䶮"][company], rows["欧阳䶮"][shop]) == ("䶮记家居", "抖音")
    assert (rows["钱多多"][company], rows["钱多多"][shop]) == ("", "")


def test_a_wrong_answer_from_staff_is_shown_and_nobody_is_added(app, staff_client, camp):
    ids, session_id = camp["ids"], camp["session_id"]

    response = _add(staff_client, session_id, {
        "login": "racer1@example.com", "add_existing": "1", f"e-q{ids['店铺类型']}": "拼多多"})

    assert response.status_code == 200
    page = text_of(response)
    assert "报名信息有误" in page and "拼多多" in page  # the typed value is kept
    assert len(_csv(staff_client, camp)) == 4  # the header and the three booked before
