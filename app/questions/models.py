"""Registration questions (报名问题): what a course, or one of its sessions, asks on its booking form,
and each registration's answers, kept as they were asked.

A course's questions apply to all its sessions; a session with a `SessionOwnQuestions` row asks its
own questions instead (possibly none). An answer keeps a copy of its question as it was asked
(label, type, choices): editing or deleting a question later never changes what earlier
registrants answered to. Questions are deleted softly (deleted_at), so the answers given to a
deleted question still share its id (one export column, one line of the summary).

Answers are written only by the booking service (with the registration, in its transaction), through
app/questions/service.py. The tables refer to registrations by name: questions sit below booking
and never import it.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class QuestionKind(enum.StrEnum):
    """The kinds of question; the value is what the API calls the question's `type`."""

    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMBER = "number"
    DATE = "date"
    PHONE = "phone"
    EMAIL = "email"
    YES_NO = "yes_no"

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {QuestionKind.SHORT_TEXT: _("单行文字"), QuestionKind.LONG_TEXT: _("多行文字"),
                QuestionKind.SINGLE_CHOICE: _("单选"), QuestionKind.MULTIPLE_CHOICE: _("多选"),
                QuestionKind.NUMBER: _("数字"), QuestionKind.DATE: _("日期"), QuestionKind.PHONE: _("手机号"),
                QuestionKind.EMAIL: _("邮箱"), QuestionKind.YES_NO: _("是 / 否")}[self]

    @property
    def has_choices(self) -> bool:
        return self in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)

    @property
    def can_be_condition(self) -> bool:
        """A later question may be shown only for one of this question's answers."""
        return self.has_choices or self is QuestionKind.YES_NO


# Canonical values of a yes/no answer, and how pages, exports and the summary say them.
YES, NO = "yes", "no"
# A multiple-choice answer is stored as its options joined by this (an option never contains it):
# plain text both databases can filter with LIKE.
CHOICE_SEPARATOR = "\n"


def yes_no_label(value: str) -> str:
    from flask_babel import gettext as _

    return _("是") if value == YES else _("否") if value == NO else value


def answer_text(kind: str, value: str) -> str:
    """An answer as people read it (pages, exports): 是 / 否, several choices joined by 、."""
    if kind == QuestionKind.YES_NO:
        return yes_no_label(value)
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return "、".join(value.split(CHOICE_SEPARATOR))
    return value


class Question(db.Model):
    __tablename__ = "registration_questions"
    __table_args__ = (
        # A course's question or a session's, never both or neither.
        CheckConstraint("(course_id IS NULL) <> (session_id IS NULL)", name="course_or_session"),
        # A condition names its answer. (Not the reverse: the question it names may go with its
        # course or session, SET NULL, and a value without a question is no condition: always shown.)
        CheckConstraint("condition_question_id IS NULL OR condition_value IS NOT NULL", name="condition_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"), index=True)
    # Order on the form (1, 2, 3 ... within its course or session).
    position: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(
        Enum(QuestionKind, native_enum=False, length=20, values_callable=lambda kinds: [k.value for k in kinds],
             create_constraint=True, name="question_kind"))
    label: Mapped[str] = mapped_column(String(100))
    help_text: Mapped[str] = mapped_column(String(300), default="", server_default="")
    required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The options of a choice question, in their order; [] for the other kinds.
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Shown only when the answer to this earlier question is (or, for several choices, includes)
    # condition_value: one of its options, or yes / no. Hidden, it is not asked (nor required).
    condition_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration_questions.id", ondelete="SET NULL"))
    condition_value: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def options(self) -> list[tuple[str, str]]:
        """(value, text) of each answer a choice or yes/no question offers."""
        if self.kind is QuestionKind.YES_NO:
            return [(YES, yes_no_label(YES)), (NO, yes_no_label(NO))]
        return [(choice, choice) for choice in self.choices]

    @property
    def condition_text(self) -> str:
        """The condition's value as the builder shows it (是 / 否 for a yes/no question)."""
        return yes_no_label(self.condition_value) if self.condition_value is not None else ""


class SessionOwnQuestions(db.Model):
    """A session that asks its own questions (registration_questions.session_id), possibly none,
    instead of its course's."""

    __tablename__ = "session_own_questions"

    session_id: Mapped[int] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())


class Answer(db.Model):
    """One registration's answer to one question, with the question as it was asked."""

    __tablename__ = "registration_answers"
    __table_args__ = (
        # One answer per question and registration: a repeated booking never adds a second.
        UniqueConstraint("registration_id", "question_id", name="uq_registration_answers_question"),
        # The roster's filter and the summary read a question's answers. Not on value: a long
        # answer (2,000 characters, 6 kB in UTF-8) is beyond what a PostgreSQL index entry holds.
        Index("ix_registration_answers_question_id", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    # None only if its question row went with its course or session (a deleted question keeps its row).
    question_id: Mapped[int | None] = mapped_column(ForeignKey("registration_questions.id", ondelete="SET NULL"))
    # The question as asked: its place on the form, label, kind and options.
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    # The answer in one canonical form per kind: text as typed (trimmed), an option, options joined
    # by CHOICE_SEPARATOR, a number as 12.5, a date as 2026-09-17, 11 digits, yes / no.
    value: Mapped[str] = mapped_column(Text)

    @property
    def text(self) -> str:
        return answer_text(self.kind, self.value)
