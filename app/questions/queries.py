"""Reading questions and answers. Nothing here writes."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, bindparam, exists, or_, select

from app.catalog.models import CampSession
from app.extensions import db
from app.questions.models import Answer, Question, SessionOwnQuestions


def _questions_for_session_statement():
    """The statement of questions_for_session, built once: every booking of a session with
    questions runs it (a booking without answers too, to refuse a missing required one), and
    building it anew each time cost about as much CPU as the booking's own statement."""
    session_id = bindparam("session_id")
    own = exists().where(SessionOwnQuestions.session_id == session_id)
    course_id = select(CampSession.course_id).where(CampSession.id == session_id).scalar_subquery()
    return (
        select(Question)
        .where(Question.deleted_at.is_(None),
               or_(and_(Question.session_id == session_id, own),
                   and_(Question.course_id == course_id, ~own)))
        .order_by(Question.position, Question.id)
    )


_QUESTIONS_FOR_SESSION = _questions_for_session_statement()


def questions_for_session(session_id: int) -> list[Question]:
    """The questions a booking of this session asks, in order: the session's own when it has them
    (SessionOwnQuestions), else its course's. One statement."""
    return list(db.session.scalars(_QUESTIONS_FOR_SESSION, {"session_id": session_id}))


def questions_of(course_id: int | None = None, session_id: int | None = None) -> list[Question]:
    """A course's own questions, or a session's own (not its course's), in order."""
    owner = Question.course_id == course_id if course_id is not None else Question.session_id == session_id
    return list(db.session.scalars(
        select(Question).where(owner, Question.deleted_at.is_(None)).order_by(Question.position, Question.id)))


def has_own_questions(session_id: int) -> bool:
    return db.session.get(SessionOwnQuestions, session_id) is not None


def answers_of(registration_id: int) -> list[Answer]:
    """A registration's answers, in the order they were asked."""
    return list(db.session.scalars(
        select(Answer).where(Answer.registration_id == registration_id).order_by(Answer.position, Answer.id)))


def answers_by_registration(registration_ids: list[int]) -> dict[int, list[Answer]]:
    """The answers of these registrations, in the order asked, in one statement."""
    found: dict[int, list[Answer]] = defaultdict(list)
    if registration_ids:
        for answer in db.session.scalars(
            select(Answer).where(Answer.registration_id.in_(registration_ids))
            .order_by(Answer.registration_id, Answer.position, Answer.id)
        ):
            found[answer.registration_id].append(answer)
    return found
