"""The 小红书 camp's registration questions, the answers its demo registrants gave, and their booking."""
from __future__ import annotations

from datetime import datetime

from app.accounts.models import User
from app.booking import service as booking
from app.catalog.models import CampSession
from app.questions import queries
from app.questions import service as questions
from app.questions.models import NO, YES, Question, QuestionKind
from app.questions.service import QuestionInput

SHOP_TYPES = ["淘宝", "天猫", "抖音", "小红书", "其他"]
TURNOVER_BANDS = ["100万以下", "100万–500万", "500万–2000万", "2000万–1亿", "1亿以上"]

# (label, kind, required, help, choices); the last one is shown only to those who have a shop.
XHS_QUESTIONS = [
    ("公司名称", QuestionKind.SHORT_TEXT, True, "个人卖家可填写店铺名称", []),
    ("店铺类型", QuestionKind.SINGLE_CHOICE, True, "", SHOP_TYPES),
    ("主营类目", QuestionKind.SHORT_TEXT, True, "例如 女装、美妆个护、食品", []),
    ("年营业额", QuestionKind.SINGLE_CHOICE, True, "", TURNOVER_BANDS),
    ("是否已开通小红书店铺", QuestionKind.YES_NO, True, "", []),
    ("小红书店铺名称", QuestionKind.SHORT_TEXT, True, "", []),
    ("想解决的问题", QuestionKind.LONG_TEXT, False, "课前告诉我们，讲师会在课上重点讲解", []),
]
SHOP_NAME_LABEL = "小红书店铺名称"
HAS_SHOP_LABEL = "是否已开通小红书店铺"

_COMPANIES = ["杭州悦己服饰有限公司", "宁波𠮷祥家居有限公司", "义乌小满日用品商行", "上海䶮木美妆有限公司",
              "广州拾光食品有限公司"]
_CATEGORIES = ["女装", "家居日用", "美妆个护", "食品", "母婴"]
_PROBLEMS = ["笔记有流量但不转化，想学商品卡和直播。", "", "刚开店，不知道从哪里起步。", "",
             "投放 ROI 低，想系统学聚光。"]


def seed_questions(course_id: int, specs: list[tuple] = XHS_QUESTIONS) -> list[Question]:
    """`specs` (the 小红书 camp's example set by default) on the course, unless it already has
    questions (seed-demo runs twice)."""
    existing = queries.questions_of(course_id=course_id)
    if existing:
        return existing
    added: dict[str, Question] = {}
    for label, kind, required, help_text, choices in specs:
        condition = {}
        if label == SHOP_NAME_LABEL:
            condition = {"condition_question_id": added[HAS_SHOP_LABEL].id, "condition_value": YES}
        added[label] = questions.add_question(
            QuestionInput(kind=kind, label=label, help_text=help_text, required=required, choices=choices,
                          **condition), course_id=course_id)
    return list(added.values())


def demo_answers(asked: list[Question], number: int) -> dict[int, object]:
    """The answers of the `number`th demo registrant to these questions (as a client would send them)."""
    by_label = {question.label: question.id for question in asked}
    has_shop = number % 3 != 0
    answers: dict[str, object] = {
        "公司名称": _COMPANIES[number % len(_COMPANIES)],
        "店铺类型": SHOP_TYPES[number % len(SHOP_TYPES)],
        "主营类目": _CATEGORIES[number % len(_CATEGORIES)],
        "年营业额": TURNOVER_BANDS[(number * 2) % len(TURNOVER_BANDS)],
        HAS_SHOP_LABEL: YES if has_shop else NO,
        "想解决的问题": _PROBLEMS[number % len(_PROBLEMS)],
    }
    if has_shop:
        answers[SHOP_NAME_LABEL] = f"{_CATEGORIES[number % len(_CATEGORIES)]}好物铺"
    return {by_label[label]: value for label, value in answers.items() if label in by_label}


def book_answering(user: User, camp: CampSession, number: int, at: datetime,
                   source: str = "web") -> booking.BookingOutcome:
    """Book at `at` as the booking page does, answering the session's registration questions (if
    any) as the `number`th demo registrant."""
    answers = demo_answers(queries.questions_for_session(camp.id), number)
    return booking.complete_profile_and_book(user, camp.id, answers=answers, source=source, now=at)
