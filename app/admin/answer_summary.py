"""The registration questions' answers added up, per question, for one session or a whole course: how
many chose each option (a choice or yes/no question), how many answered (any other kind).

Counted over the registrations that still hold a seat or a place in the queue (confirmed, held for a
payment, waiting): who is coming, not who once booked. One grouped statement for the counts, one
for the questions they belong to.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.booking.models import ACTIVE_STATUSES, Registration
from app.catalog.models import CampSession, Course
from app.extensions import db
from app.questions.models import CHOICE_SEPARATOR, Answer, Question, QuestionKind
from app.questions.queries import questions_for_session, questions_of


@dataclass(frozen=True)
class OptionCount:
    text: str
    count: int
    share: float  # of the people who answered the question (several choices: can add up past 1)


@dataclass(frozen=True)
class QuestionSummary:
    label: str
    kind: QuestionKind
    answered: int  # people who answered it
    options: list[OptionCount]  # a choice or yes/no question's options, in order; [] for other kinds
    deleted: bool  # no longer asked (its answers stay)


@dataclass(frozen=True)
class AnswerSummary:
    people: int  # registrations counted
    questions: list[QuestionSummary]


def summary_for(session_id: int | None = None, course_id: int | None = None) -> AnswerSummary:
    """The summary of one session's registrations, or of all the sessions of a course."""
    scope = Registration.session_id == session_id if session_id is not None else Registration.session_id.in_(
        select(CampSession.id).where(CampSession.course_id == course_id))
    active = Registration.status.in_(ACTIVE_STATUSES)
    people = db.session.scalar(select(func.count()).select_from(Registration).where(scope, active)) or 0
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for question_id, value, count in db.session.execute(
        select(Answer.question_id, Answer.value, func.count())
        .join(Registration, Registration.id == Answer.registration_id)
        .where(scope, active, Answer.question_id.is_not(None))
        .group_by(Answer.question_id, Answer.value)
    ):
        counts[question_id][value] = count
    asked = questions_for_session(session_id) if session_id is not None else questions_of(course_id=course_id)
    answered_elsewhere = set(counts) - {q.id for q in asked}
    others = list(db.session.scalars(
        select(Question).where(Question.id.in_(answered_elsewhere)).order_by(Question.position, Question.id)
    )) if answered_elsewhere else []
    return AnswerSummary(people, [_summarise(q, counts.get(q.id, {})) for q in (*asked, *others)])


def _summarise(question: Question, counts: dict[str, int]) -> QuestionSummary:
    """One question's counts: {stored value: registrations} (several choices: per combination)."""
    answered = sum(counts.values())
    options: list[OptionCount] = []
    if question.kind.can_be_condition:
        chosen: dict[str, int] = defaultdict(int)
        for value, count in counts.items():
            for option in value.split(CHOICE_SEPARATOR):
                chosen[option] += count
        offered = [value for value, _text in question.options]
        # An option since removed from the question still counts for those who chose it.
        for value in [*offered, *sorted(set(chosen) - set(offered))]:
            text = dict(question.options).get(value, value)
            options.append(OptionCount(text, chosen.get(value, 0), chosen.get(value, 0) / answered if answered else 0))
    return QuestionSummary(question.label, question.kind, answered, options, question.deleted_at is not None)


@dataclass(frozen=True)
class SummaryChoices:
    """What the summary page offers to add up: courses with questions, and their sessions."""

    courses: list[Course]
    sessions: list[CampSession]


def summary_choices() -> SummaryChoices:
    live = Question.deleted_at.is_(None)
    asking_courses = select(Question.course_id).where(Question.course_id.is_not(None), live)
    asking_sessions = select(CampSession.course_id).join(Question, Question.session_id == CampSession.id).where(live)
    courses = list(db.session.scalars(
        select(Course).where(or_(Course.id.in_(asking_courses), Course.id.in_(asking_sessions)))
        .order_by(Course.id.desc())))
    sessions = list(db.session.scalars(
        select(CampSession).where(CampSession.course_id.in_([course.id for course in courses]))
        .options(joinedload(CampSession.course)).order_by(CampSession.starts_at.desc(), CampSession.id.desc())
    )) if courses else []
    return SummaryChoices(courses, sessions)
