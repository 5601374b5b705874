"""Registration questions: the admins' builder (add, edit, delete, reorder; a session's own set) and
the booking's two steps (check the answers before the booking's transaction, store them in it).

The rules of a question set, kept here whatever page or script changes it:
- a choice question has 2 to 30 distinct options of one line each; other kinds have none;
- a condition names an earlier question of the same set, a choice or yes/no one, and one of its
  options (or yes / no); so a question can never depend on itself or on a later one, and the
  booking form can decide what is shown in one pass;
- a question others depend on cannot be deleted, nor lose the option they depend on.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select

from app.catalog.models import CampSession, Course
from app.common.db import in_write_transaction, write_transaction
from app.common.errors import DomainError
from app.common.time import utcnow
from app.extensions import db
from app.questions import queries
from app.questions.answers import GivenAnswer, check_answers
from app.questions.models import NO, YES, Answer, Question, QuestionKind, SessionOwnQuestions

LABEL_MAX = 100
HELP_MAX = 300
CHOICE_MAX = 100
MIN_CHOICES, MAX_CHOICES = 2, 30
MAX_QUESTIONS = 50  # per course or session: a booking form, not a survey


class QuestionNotFound(DomainError):
    code = "question_not_found"
    message = _l("找不到这个问题，可能已被删除")


class QuestionRefused(DomainError):
    """A question set's rule said no; `field`: the builder form's field it concerns."""

    code = "question_refused"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class QuestionInput:
    """A question as the builder's form gives it."""

    kind: QuestionKind
    label: str
    help_text: str = ""
    required: bool = False
    choices: list[str] = field(default_factory=list)
    condition_question_id: int | None = None
    condition_value: str | None = None


# --- the booking's steps --------------------------------------------------------------------------

def answers_for_booking(session_id: int, given: Mapping[object, object] | None) -> list[GivenAnswer]:
    """The answers a booking of this session will store, checked (InvalidAnswers otherwise): one
    read, the session's questions. Called before the booking's write transaction; for a booking
    that sent no answers, in it, and only when its statements say the session may ask questions
    (booking/service.py: _book), so the rush on a session without questions reads none."""
    return check_answers(queries.questions_for_session(session_id), given or {})


def answers_for_staff(session_id: int, given: Mapping[object, object] | None) -> list[GivenAnswer]:
    """The answers staff typed for a person they add (a walk-in, a phone booking), checked as a
    booking's are, except that none is required: they may not have asked."""
    return check_answers(queries.questions_for_session(session_id), given or {}, require=False)


def record_answers(registration_id: int, answers: list[GivenAnswer]) -> None:
    """Store a new registration's answers: a step of the booking's write transaction, after its
    statements (one INSERT; the unique index refuses a second answer to a question)."""
    if not in_write_transaction():
        raise RuntimeError("record_answers runs inside the booking's write transaction")
    db.session.execute(insert(Answer), [
        {"registration_id": registration_id, "question_id": answer.question_id, "position": answer.position,
         "label": answer.label, "kind": answer.kind.value, "choices": answer.choices, "value": answer.value}
        for answer in answers
    ])


def replace_answers(registration_id: int, answers: list[GivenAnswer]) -> None:
    """A registration's answers are now another person's (团体报名's 换人): the old ones go, the new
    ones are stored, in the caller's write transaction."""
    db.session.execute(delete(Answer).where(Answer.registration_id == registration_id))
    if answers:
        record_answers(registration_id, answers)


# --- the builder ----------------------------------------------------------------------------------

def condition_values(kind: QuestionKind, choices: list[str]) -> list[str]:
    """The answers of a question (of this kind, with these options) a later question may be shown for."""
    if kind is QuestionKind.YES_NO:
        return [YES, NO]
    return list(choices) if kind.has_choices else []


def _set_questions(course_id: int | None, session_id: int | None) -> list[Question]:
    return queries.questions_of(course_id=course_id, session_id=session_id)


def _question(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.deleted_at is not None:
        raise QuestionNotFound()
    return question


def _clean(data: QuestionInput) -> QuestionInput:
    label = " ".join(data.label.split())
    if not label:
        raise QuestionRefused(_("请填写问题"), "label")
    if len(label) > LABEL_MAX:
        raise QuestionRefused(_("问题最多 %(n)s 个字", n=LABEL_MAX), "label")
    help_text = data.help_text.strip()
    if len(help_text) > HELP_MAX:
        raise QuestionRefused(_("说明最多 %(n)s 个字", n=HELP_MAX), "help_text")
    choices: list[str] = []
    if data.kind.has_choices:
        choices = [" ".join(choice.split()) for choice in data.choices]
        choices = [choice for choice in choices if choice]
        if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
            raise QuestionRefused(_("请填写 %(min)s 到 %(max)s 个选项，每行一个", min=MIN_CHOICES, max=MAX_CHOICES),
                                  "choices")
        if len(set(choices)) != len(choices):
            raise QuestionRefused(_("选项不能重复"), "choices")
        if any(len(choice) > CHOICE_MAX for choice in choices):
            raise QuestionRefused(_("每个选项最多 %(n)s 个字", n=CHOICE_MAX), "choices")
    condition_id = data.condition_question_id
    return QuestionInput(kind=data.kind, label=label, help_text=help_text, required=data.required, choices=choices,
                         condition_question_id=condition_id,
                         condition_value=data.condition_value if condition_id is not None else None)


def _check_condition(data: QuestionInput, earlier: list[Question]) -> None:
    """The condition names one of the `earlier` questions and one of its answers."""
    if data.condition_question_id is None:
        return
    source = next((q for q in earlier if q.id == data.condition_question_id), None)
    if source is None or not source.kind.can_be_condition:
        raise QuestionRefused(_("显示条件只能选排在前面的单选、多选或是/否问题"), "condition")
    if data.condition_value not in condition_values(source.kind, source.choices):
        raise QuestionRefused(_("显示条件的选项已不存在，请重新选择"), "condition")


def _check_dependents(question: Question, data: QuestionInput, questions: list[Question]) -> None:
    """A question others are shown for keeps what they depend on: its kind and the option."""
    kept = condition_values(data.kind, data.choices)
    for dependent in questions:
        if dependent.condition_question_id == question.id and dependent.condition_value not in kept:
            raise QuestionRefused(
                _("「%(other)s」只在本题回答「%(value)s」时显示，请先修改它的显示条件", other=dependent.label,
                  value=dependent.condition_text), "choices")


def _check_order(questions: list[Question]) -> None:
    """Every condition names a question placed before it."""
    seen: set[int] = set()
    for question in questions:
        if question.condition_question_id is not None and question.condition_question_id not in seen:
            source = next((q.label for q in questions if q.id == question.condition_question_id), "")
            raise QuestionRefused(_("「%(label)s」的显示条件取决于「%(source)s」，只能排在它后面",
                                    label=question.label, source=source))
        seen.add(question.id)


def _fill(question: Question, data: QuestionInput) -> None:
    question.kind = data.kind
    question.label = data.label
    question.help_text = data.help_text
    question.required = data.required
    question.choices = data.choices
    question.condition_question_id = data.condition_question_id
    question.condition_value = data.condition_value


@write_transaction
def add_question(data: QuestionInput, course_id: int | None = None, session_id: int | None = None) -> Question:
    """A new question at the end of a course's set, or of a session's own set."""
    if (course_id is None) == (session_id is None):
        raise ValueError("a question belongs to a course or to a session")
    if course_id is not None and db.session.get(Course, course_id) is None:
        raise QuestionNotFound()
    if session_id is not None and not queries.has_own_questions(session_id):
        raise QuestionRefused(_("本场次使用课程的报名问题；请先为本场次单独设置问题"))
    data = _clean(data)
    questions = _set_questions(course_id, session_id)
    if len(questions) >= MAX_QUESTIONS:
        raise QuestionRefused(_("最多 %(n)s 个问题", n=MAX_QUESTIONS))
    _check_condition(data, questions)
    question = Question(course_id=course_id, session_id=session_id,
                        position=max((q.position for q in questions), default=0) + 1)
    _fill(question, data)
    db.session.add(question)
    db.session.flush()
    return question


@write_transaction
def update_question(question_id: int, data: QuestionInput) -> Question:
    """Change a question. Answers already given keep the question as it was asked."""
    question = _question(question_id)
    data = _clean(data)
    questions = _set_questions(question.course_id, question.session_id)
    earlier = [q for q in questions if (q.position, q.id) < (question.position, question.id)]
    _check_condition(data, earlier)
    _check_dependents(question, data, questions)
    _fill(question, data)
    db.session.flush()
    return question


@write_transaction
def delete_question(question_id: int) -> Question:
    """Take a question off the form; answers already given to it stay, with it as it was asked."""
    question = _question(question_id)
    questions = _set_questions(question.course_id, question.session_id)
    dependent = next((q for q in questions if q.condition_question_id == question.id), None)
    if dependent is not None:
        raise QuestionRefused(_("「%(other)s」的显示条件取决于本题，请先修改或删除它", other=dependent.label))
    question.deleted_at = utcnow()
    db.session.flush()
    return question


def _renumber(questions: list[Question]) -> None:
    _check_order(questions)
    for position, question in enumerate(questions, start=1):
        question.position = position
    db.session.flush()


@write_transaction
def move_question(question_id: int, step: int) -> Question:
    """One place up (step -1) or down (+1); the first stays first, the last last."""
    question = _question(question_id)
    questions = _set_questions(question.course_id, question.session_id)
    index = next(i for i, q in enumerate(questions) if q.id == question.id)
    target = min(max(index + step, 0), len(questions) - 1)
    questions.insert(target, questions.pop(index))
    _renumber(questions)
    return question


@write_transaction
def reorder_questions(question_ids: list[int], course_id: int | None = None,
                      session_id: int | None = None) -> list[Question]:
    """The whole set in a new order (the builder's drag and drop): every question once."""
    questions = _set_questions(course_id, session_id)
    by_id = {q.id: q for q in questions}
    if sorted(question_ids) != sorted(by_id):
        raise QuestionRefused(_("问题列表已有变化，请刷新页面后重新排序"))
    ordered = [by_id[question_id] for question_id in question_ids]
    _renumber(ordered)
    return ordered


@write_transaction
def use_own_questions(session_id: int) -> list[Question]:
    """The session asks questions of its own from now on: a copy of its course's to start from
    (conditions pointing at the copies). Its course's questions are left as they are."""
    camp = db.session.get(CampSession, session_id)
    if camp is None:
        raise QuestionNotFound()
    if queries.has_own_questions(session_id):
        return _set_questions(None, session_id)
    db.session.add(SessionOwnQuestions(session_id=session_id))
    copies: dict[int, Question] = {}
    for original in _set_questions(camp.course_id, None):
        copy = Question(session_id=session_id, position=original.position, kind=original.kind, label=original.label,
                        help_text=original.help_text, required=original.required, choices=list(original.choices))
        db.session.add(copy)
        db.session.flush()
        if original.condition_question_id in copies:
            copy.condition_question_id = copies[original.condition_question_id].id
            copy.condition_value = original.condition_value
        copies[original.id] = copy
    db.session.flush()
    return list(copies.values())


@write_transaction
def use_course_questions(session_id: int) -> None:
    """The session asks its course's questions again; its own are deleted (answers given to them stay)."""
    own = db.session.get(SessionOwnQuestions, session_id)
    if own is None:
        return
    now = utcnow()
    for question in db.session.scalars(
        select(Question).where(Question.session_id == session_id, Question.deleted_at.is_(None))
    ):
        question.deleted_at = now
    db.session.delete(own)
    db.session.flush()
