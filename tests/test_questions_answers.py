"""The rule of an answer, per kind of question (app/questions/answers.py): what is accepted, in
which canonical form, and the Chinese message for what is not. The booking page and the API both
go through check_answers, so these are the rules of both."""
from __future__ import annotations

import pytest

from app.questions.answers import InvalidAnswers, check_answers
from app.questions.models import Question, QuestionKind

K = QuestionKind
SHOPS = ["淘宝", "天猫", "抖音", "小红书", "其他"]


def _question(kind: QuestionKind, *, id: int = 1, position: int = 1, label: str = "问题", required: bool = True,
              choices: list[str] | None = None, shown_if: tuple[int, str] | None = None) -> Question:
    condition_id, condition_value = shown_if or (None, None)
    return Question(id=id, position=position, kind=kind, label=label, required=required,
                    choices=choices or ([] if not kind.has_choices else SHOPS), help_text="",
                    condition_question_id=condition_id, condition_value=condition_value)


def _value(kind: QuestionKind, sent, **kwargs) -> str:
    [answer] = check_answers([_question(kind, **kwargs)], {1: sent})
    return answer.value


def _refusal(kind: QuestionKind, sent, **kwargs) -> str:
    with pytest.raises(InvalidAnswers) as refused:
        check_answers([_question(kind, **kwargs)], {1: sent})
    return refused.value.errors[1]


@pytest.mark.parametrize(("kind", "sent", "stored"), [
    (K.SHORT_TEXT, "  杭州悦己服饰有限公司 ", "杭州悦己服饰有限公司"),
    (K.SHORT_TEXT, "王𠮷的店\r\n第二行", "王𠮷的店 第二行"),  # one line; rare characters exactly as typed
    (K.LONG_TEXT, "第一行\r\n第二行 䶮", "第一行\n第二行 䶮"),
    (K.SINGLE_CHOICE, "小红书", "小红书"),
    (K.MULTIPLE_CHOICE, ["小红书", "淘宝", "淘宝"], "淘宝\n小红书"),  # the options' order, each once
    (K.MULTIPLE_CHOICE, "抖音", "抖音"),  # one box ticked on the page: a single value
    (K.NUMBER, "１,２００", "1200"),  # full-width digits and a thousands separator, as pasted
    (K.NUMBER, 3.5, "3.5"),
    (K.NUMBER, 12, "12"),
    (K.NUMBER, "-0.50", "-0.5"),
    (K.DATE, "2026-09-17", "2026-09-17"),
    (K.DATE, "2026/9/7", "2026-09-07"),
    (K.DATE, "2026年9月17日", "2026-09-17"),
    (K.PHONE, "+86 138-0013-8000", "13800138000"),
    (K.PHONE, "１３８００１３８０００", "13800138000"),
    (K.EMAIL, " Wang.Zhe@Example.COM ", "wang.zhe@example.com"),
    (K.YES_NO, True, "yes"),
    (K.YES_NO, "no", "no"),
    (K.YES_NO, "是", "yes"),
])
def test_each_kind_stores_one_canonical_form(ctx, kind, sent, stored):
    assert _value(kind, sent) == stored


@pytest.mark.parametrize(("kind", "sent", "message"), [
    (K.SHORT_TEXT, "店" * 201, "最多 200 个字，现在 201 个字"),
    (K.LONG_TEXT, "问" * 2001, "最多 2000 个字，现在 2001 个字"),
    (K.SHORT_TEXT, "a\x00b", "含有不可见的控制字符，请删除后重试"),
    (K.LONG_TEXT, "a\x1bb", "含有不可见的控制字符，请删除后重试"),
    (K.SHORT_TEXT, "\ud800", "含有无法识别的字符（不成对的代理字符），请删除后重试"),
    (K.SHORT_TEXT, 42, "请填写文字"),
    (K.SHORT_TEXT, ["a"], "请填写文字"),
    (K.SINGLE_CHOICE, "拼多多", "请从给出的选项中选择"),
    (K.SINGLE_CHOICE, ["淘宝"], "请填写文字"),
    (K.MULTIPLE_CHOICE, ["淘宝", "京东"], "请从给出的选项中选择"),
    (K.MULTIPLE_CHOICE, [1, 2], "请从给出的选项中选择"),
    (K.MULTIPLE_CHOICE, {"淘宝": True}, "请从给出的选项中选择"),
    (K.NUMBER, "一百", "请填写数字，例如 120 或 3.5"),
    (K.NUMBER, "1e5", "请填写数字，例如 120 或 3.5"),
    (K.NUMBER, "NaN", "请填写数字，例如 120 或 3.5"),
    (K.NUMBER, float("inf"), "请填写数字，例如 120 或 3.5"),
    (K.NUMBER, float("nan"), "请填写数字，例如 120 或 3.5"),
    (K.NUMBER, 10**400, "数字太大了"),
    (K.NUMBER, 1e300, "数字太大了"),
    (K.NUMBER, "1000000000000", "数字太大了"),
    (K.NUMBER, "1.23456", "最多 4 位小数"),
    (K.NUMBER, True, "请填写数字"),
    (K.DATE, "2026-02-30", "请填写日期，例如 2026-09-17"),
    (K.DATE, "下周三", "请填写日期，例如 2026-09-17"),
    (K.DATE, "1899-12-31", "请填写 1900 至 2100 年之间的日期"),
    (K.PHONE, "12345", "请输入 11 位中国大陆手机号，例如 13800138000"),
    (K.PHONE, "02888888888", "请输入 11 位中国大陆手机号，例如 13800138000"),
    (K.EMAIL, "wangzhe@", "邮箱格式不正确，例如 name@example.com"),
    (K.EMAIL, "a" * 250 + "@x.cn", "邮箱太长了"),
    (K.YES_NO, "也许", "请选择「是」或「否」"),
])
def test_a_wrong_answer_is_refused_with_a_chinese_message(ctx, kind, sent, message):
    assert _refusal(kind, sent) == message


def test_ten_megabytes_of_text_are_refused_not_stored(ctx):
    assert _refusal(K.LONG_TEXT, "长" * 10_000_000) == "最多 2000 个字，现在 10000000 个字"


@pytest.mark.parametrize("empty", [None, "", "   ", []])
def test_a_missing_required_answer_names_the_question(ctx, empty):
    asked = [_question(K.SHORT_TEXT, id=1, label="公司名称"), _question(K.SINGLE_CHOICE, id=2, label="店铺类型"),
             _question(K.SHORT_TEXT, id=3, label="主营类目", required=False)]

    with pytest.raises(InvalidAnswers) as refused:
        check_answers(asked, {1: empty, 2: empty, 3: empty})

    assert refused.value.errors == {1: "请填写「公司名称」", 2: "请选择「店铺类型」"}
    assert refused.value.fields == {"answers.1": "请填写「公司名称」", "answers.2": "请选择「店铺类型」"}
    assert str(refused.value.message) == "报名信息有误，请按提示修改后重新提交"


def test_an_optional_question_left_empty_stores_nothing(ctx):
    assert check_answers([_question(K.LONG_TEXT, required=False)], {1: "  "}) == []
    assert check_answers([_question(K.MULTIPLE_CHOICE, required=False)], {1: ["", " "]}) == []


def test_a_question_hidden_by_its_condition_is_not_required_and_its_answer_dropped(ctx):
    has_shop = _question(K.YES_NO, id=5, position=1, label="是否已开通小红书店铺")
    shop_name = _question(K.SHORT_TEXT, id=6, position=2, label="小红书店铺名称", shown_if=(5, "yes"))

    without_shop = check_answers([has_shop, shop_name], {"5": False, "6": "早已关掉的店"})
    assert [(a.question_id, a.value) for a in without_shop] == [(5, "no")]

    with pytest.raises(InvalidAnswers) as refused:
        check_answers([has_shop, shop_name], {"5": True})
    assert refused.value.errors == {6: "请填写「小红书店铺名称」"}

    with_shop = check_answers([has_shop, shop_name], {"5": True, "6": "悦己小铺"})
    assert [(a.question_id, a.value) for a in with_shop] == [(5, "yes"), (6, "悦己小铺")]


def test_a_condition_on_several_choices_holds_when_that_option_is_ticked(ctx):
    platforms = _question(K.MULTIPLE_CHOICE, id=1, position=1, label="在哪些平台开店")
    xhs_since = _question(K.DATE, id=2, position=2, label="小红书开店日期", shown_if=(1, "小红书"))

    assert len(check_answers([platforms, xhs_since], {1: ["淘宝", "小红书"], 2: "2025-03-01"})) == 2
    assert len(check_answers([platforms, xhs_since], {1: ["淘宝"], 2: "2025-03-01"})) == 1
    # A chain: a question shown for a hidden question's answer is hidden too.
    third = _question(K.SHORT_TEXT, id=3, position=3, label="店铺链接", shown_if=(2, "2025-03-01"))
    assert [a.question_id for a in check_answers([platforms, xhs_since, third], {1: ["淘宝"], 3: "x"})] == [1]


@pytest.mark.parametrize("key", ["99", 99, "abc", "-1", "1.0", "１"])
def test_an_answer_to_a_question_not_asked_is_refused(ctx, key):
    with pytest.raises(InvalidAnswers) as refused:
        check_answers([_question(K.SHORT_TEXT, required=False)], {key: "x"})
    assert refused.value.errors == {str(key): "本场次没有这个问题，请刷新页面后重新填写"}


def test_answers_keep_the_question_as_asked_and_come_in_its_order(ctx):
    later = _question(K.SINGLE_CHOICE, id=7, position=2, label="店铺类型")
    first = _question(K.SHORT_TEXT, id=9, position=1, label="公司名称")

    answers = check_answers([later, first], {"7": "抖音", "9": "拾光食品"})

    assert [(a.question_id, a.position, a.label, a.kind, a.value) for a in answers] == [
        (9, 1, "公司名称", K.SHORT_TEXT, "拾光食品"), (7, 2, "店铺类型", K.SINGLE_CHOICE, "抖音")]
    assert answers[0].choices is None and answers[1].choices == SHOPS
