"""The rule of an answer, one per kind of question, for the booking page and the API alike.

`check_answers(questions, given)` takes what a person sent (the page's fields as strings, or the
API's JSON values) and returns the answers to store, in one canonical form per kind, or raises
InvalidAnswers with a Chinese message per question. Text is kept exactly as typed (trimmed: rare
characters such as 𠮷 and 䶮 untouched); what a database cannot store (NUL, other control
characters, lone surrogates) is refused, as the site's forms refuse it. Numbers, dates and phone
numbers are read as people paste them (full-width digits, 1,000, 2026/9/17, +86 138-0013-8000).
A question hidden by its condition is not asked: not required, and an answer sent for it dropped.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError
from app.common.validators import is_mobile_number, normalise_newlines, normalise_phone, unstorable_text_reason
from app.questions.models import CHOICE_SEPARATOR, NO, YES, Question, QuestionKind, answer_text

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 2000
EMAIL_MAX = 254
# A number answer: up to 12 digits before the point and 4 after (a turnover in yuan, a head count).
NUMBER_LIMIT = Decimal(10) ** 12
NUMBER_PLACES = 4
# Dates people are asked for (a birthday, a shop's opening day) lie in these years.
FIRST_YEAR, LAST_YEAR = 1900, 2100

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_YES_WORDS = {"yes", "true", "是", "1"}
_NO_WORDS = {"no", "false", "否", "0"}


class InvalidAnswers(DomainError):
    """Some answers are missing or wrong: `errors` maps each question's id (or, for an id the
    session does not ask, the key as sent) to its message."""

    code = "invalid_answers"
    message = _l("报名信息有误，请按提示修改后重新提交")

    def __init__(self, errors: dict[int | str, str], unstorable: bool = False) -> None:
        super().__init__()
        self.errors = errors
        # Refused for text no person types (a NUL): the booking page answers 400, as the site's forms do.
        self.unstorable = unstorable

    @property
    def fields(self) -> dict[str, str]:
        """The API's `fields`: answers.<question id> -> message."""
        return {f"answers.{key}": message for key, message in self.errors.items()}


@dataclass(frozen=True)
class GivenAnswer:
    """An answer accepted for storing, with the question as it was asked."""

    question_id: int
    position: int
    label: str
    kind: QuestionKind
    choices: list[str] | None
    value: str

    @property
    def text(self) -> str:
        return answer_text(self.kind, self.value)


class _Refused(Exception):
    """An answer's reason for refusal, in Chinese (raised by the readers below)."""

    def __init__(self, message: str, unstorable: bool = False) -> None:
        super().__init__(message)
        self.unstorable = unstorable


def check_answers(questions: Iterable[Question], given: Mapping[object, object],
                  require: bool = True) -> list[GivenAnswer]:
    """The answers to store for `questions` (in their order) from `given` ({question id: value}; the
    id as an int or a string of digits). Empty answers (None, "", [], spaces) are not stored.
    `require`: a required question left unanswered is an error (False: staff adding a walk-in, who
    may not have asked; what they do fill in is checked all the same)."""
    questions = sorted(questions, key=lambda q: (q.position, q.id))
    by_id = {question.id: question for question in questions}
    values, errors = _values_by_id(given, by_id)
    accepted: dict[int, GivenAnswer] = {}
    unstorable = False
    for question in questions:
        if not _shown(question, accepted):
            continue  # not asked: whatever was sent for it is dropped
        try:
            value = _read(question, values.get(question.id))
        except _Refused as refused:
            errors[question.id] = str(refused)
            unstorable = unstorable or refused.unstorable
            continue
        if value is None:
            if question.required and require:
                errors[question.id] = _missing(question)
            continue
        accepted[question.id] = GivenAnswer(
            question_id=question.id, position=question.position, label=question.label, kind=question.kind,
            choices=list(question.choices) if question.kind.has_choices else None, value=value)
    if errors:
        raise InvalidAnswers(errors, unstorable)
    return list(accepted.values())


def _shown(question: Question, accepted: dict[int, GivenAnswer]) -> bool:
    """Whether `question` is asked, given the answers accepted so far: no condition, or the earlier
    question's answer is (several choices: includes) its value. Conditions name earlier questions,
    so one pass in order decides every question, chains included."""
    if question.condition_question_id is None:
        return True
    earlier = accepted.get(question.condition_question_id)
    return earlier is not None and question.condition_value in earlier.value.split(CHOICE_SEPARATOR)


def _question_id(key: object) -> int | None:
    """A key of the answers as a question id: an int, or a string of at most 10 ASCII digits."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 10:
        return int(key)
    return None


def _values_by_id(given: Mapping[object, object], by_id: dict[int, Question]) -> tuple[dict, dict]:
    """The values sent, by question id; and an error for each key that names no question asked."""
    values: dict[int, object] = {}
    errors: dict[int | str, str] = {}
    for key, value in given.items():
        question_id = _question_id(key)
        if question_id is None or question_id not in by_id:
            errors[str(key)[:20]] = _("本场次没有这个问题，请刷新页面后重新填写")
        else:
            values[question_id] = value
    return values, errors


def _missing(question: Question) -> str:
    if question.kind.has_choices or question.kind is QuestionKind.YES_NO:
        return _("请选择「%(label)s」", label=question.label)
    return _("请填写「%(label)s」", label=question.label)


# --- one reader per kind: the canonical value, None for an empty answer, or _Refused ------------

def _read(question: Question, value: object) -> str | None:
    if value is None or value == [] or (isinstance(value, str) and not value.strip()):
        return None
    return _READERS[question.kind](question, value)


def _text(value: object) -> str:
    """A string answer, trimmed, newlines as LF; refused if it is no string or cannot be stored."""
    if not isinstance(value, str):
        raise _Refused(_("请填写文字"))
    text = normalise_newlines(value).strip()
    reason = unstorable_text_reason(text)
    if reason:
        raise _Refused(reason, unstorable=True)
    return text


def _limited(text: str, limit: int) -> str:
    if len(text) > limit:
        raise _Refused(_("最多 %(n)s 个字，现在 %(count)s 个字", n=limit, count=len(text)))
    return text


def _short_text(question: Question, value: object) -> str:
    # A single line: pasted line breaks become spaces.
    return _limited(" ".join(_text(value).split("\n")), SHORT_TEXT_MAX)


def _long_text(question: Question, value: object) -> str:
    return _limited(_text(value), LONG_TEXT_MAX)


def _one_choice(question: Question, value: object) -> str:
    choice = _text(value)
    if choice not in question.choices:
        raise _Refused(_("请从给出的选项中选择"))
    return choice


def _several_choices(question: Question, value: object) -> str | None:
    chosen = [value] if isinstance(value, str) else value
    if not isinstance(chosen, list) or not all(isinstance(choice, str) for choice in chosen):
        raise _Refused(_("请从给出的选项中选择"))
    picked = {choice.strip() for choice in chosen} - {""}
    if not picked <= set(question.choices):
        raise _Refused(_("请从给出的选项中选择"))
    # In the options' order, whatever order they came in.
    return CHOICE_SEPARATOR.join(choice for choice in question.choices if choice in picked) or None


def _number(question: Question, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Refused(_("请填写数字"))
    if isinstance(value, str):
        # Full-width digits, thousands separators and spaces as people paste them.
        typed = re.sub(r"[\s,，]", "", unicodedata.normalize("NFKC", _text(value)))
        if len(typed) > 40 or not _NUMBER.match(typed):
            raise _Refused(_("请填写数字，例如 120 或 3.5"))
        number = Decimal(typed)
    elif isinstance(value, float):
        if not math.isfinite(value):  # JSON's NaN and Infinity, which Python's parser lets through
            raise _Refused(_("请填写数字，例如 120 或 3.5"))
        number = Decimal(repr(value))  # 0.1 as 0.1, not as the binary fraction nearest to it
    else:
        number = Decimal(value) if abs(value) < NUMBER_LIMIT else NUMBER_LIMIT
    if abs(number) >= NUMBER_LIMIT:
        raise _Refused(_("数字太大了"))
    if -number.as_tuple().exponent > NUMBER_PLACES:
        raise _Refused(_("最多 %(n)s 位小数", n=NUMBER_PLACES))
    text = format(number.normalize(), "f")
    return "0" if text == "-0" else text


def _date(question: Question, value: object) -> str:
    typed = unicodedata.normalize("NFKC", _text(value))
    match = _DATE.match(typed)
    try:
        day = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        raise _Refused(_("请填写日期，例如 2026-09-17"))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _Refused(_("请填写 %(first)s 至 %(last)s 年之间的日期", first=FIRST_YEAR, last=LAST_YEAR))
    return day.isoformat()


def _phone(question: Question, value: object) -> str:
    phone = normalise_phone(_text(value))
    if not is_mobile_number(phone):
        raise _Refused(_("请输入 11 位中国大陆手机号，例如 13800138000"))
    return phone


def _email(question: Question, value: object) -> str:
    email = _text(value).lower()
    if len(email) > EMAIL_MAX:
        raise _Refused(_("邮箱太长了"))
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise _Refused(_("邮箱格式不正确，例如 name@example.com")) from None
    return email


def _yes_no(question: Question, value: object) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    word = _text(value).lower()
    if word in _YES_WORDS:
        return YES
    if word in _NO_WORDS:
        return NO
    raise _Refused(_("请选择「是」或「否」"))


_READERS = {
    QuestionKind.SHORT_TEXT: _short_text,
    QuestionKind.LONG_TEXT: _long_text,
    QuestionKind.SINGLE_CHOICE: _one_choice,
    QuestionKind.MULTIPLE_CHOICE: _several_choices,
    QuestionKind.NUMBER: _number,
    QuestionKind.DATE: _date,
    QuestionKind.PHONE: _phone,
    QuestionKind.EMAIL: _email,
    QuestionKind.YES_NO: _yes_no,
}
