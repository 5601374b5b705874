"""Registration questions' answers on the staff side: a session's answer columns (roster and
exports), the roster's filter by an answer, and the answers of a page or batch of registrations.

A session's columns are the questions it asks now, in their order, then any other question its
registrations answered (deleted since, or asked before the session got its own set), named as they
were last asked: nothing answered is ever left out of an export.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select

from app.booking.models import Registration
from app.common.routing import MAX_ID
from app.extensions import db
from app.questions.models import CHOICE_SEPARATOR, Answer, answer_text
from app.questions.queries import questions_for_session

# The roster's ?answer= filter: "<question id>:<answer>".
_FILTER = re.compile(r"^(\d{1,10}):(.{1,100})$", re.DOTALL)


@dataclass(frozen=True)
class AnswerColumn:
    question_id: int
    label: str
    # (value, text) of the answers staff may filter by: a choice or yes/no question the session
    # asks now; empty for the others.
    options: tuple[tuple[str, str], ...] = ()


def answer_columns(session_id: int) -> list[AnswerColumn]:
    """The session's answer columns: its questions now, then the others its registrations answered."""
    asked = questions_for_session(session_id)
    columns = [AnswerColumn(q.id, q.label, tuple(q.options) if q.kind.can_be_condition else ()) for q in asked]
    # The last answer to each question not asked now: its label as last asked.
    latest = (select(func.max(Answer.id))
              .join(Registration, Registration.id == Answer.registration_id)
              .where(Registration.session_id == session_id, Answer.question_id.is_not(None),
                     Answer.question_id.not_in([q.id for q in asked]))
              .group_by(Answer.question_id))
    others = db.session.execute(
        select(Answer.question_id, Answer.label).where(Answer.id.in_(latest))
        .order_by(Answer.position, Answer.question_id))
    return columns + [AnswerColumn(question_id, label) for question_id, label in others]


def parse_answer_filter(value: str | None) -> tuple[int, str] | None:
    """The roster's ?answer=<question id>:<answer>, or None for anything else."""
    match = _FILTER.match(value or "")
    if not match or int(match.group(1)) > MAX_ID:  # beyond an id column: no question has it
        return None
    return int(match.group(1)), match.group(2)


def answered(question_id: int, value: str):
    """SQL: the registration answered `value` to the question (one of its choices, for several)."""
    given = Answer.value
    return exists().where(
        Answer.registration_id == Registration.id, Answer.question_id == question_id,
        or_(given == value,
            given.startswith(value + CHOICE_SEPARATOR, autoescape=True),
            given.endswith(CHOICE_SEPARATOR + value, autoescape=True),
            given.contains(CHOICE_SEPARATOR + value + CHOICE_SEPARATOR, autoescape=True)))


def answer_texts(registration_ids: list[int]) -> dict[int, dict[int, str]]:
    """{registration id: {question id: the answer as people read it}}, in one statement."""
    found: dict[int, dict[int, str]] = defaultdict(dict)
    if registration_ids:
        for registration_id, question_id, kind, value in db.session.execute(
            select(Answer.registration_id, Answer.question_id, Answer.kind, Answer.value)
            .where(Answer.registration_id.in_(registration_ids), Answer.question_id.is_not(None))
        ):
            found[registration_id][question_id] = answer_text(kind, value)
    return found
