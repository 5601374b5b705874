"""The admins' builder of registration questions: a course's set, a session's own set (or its
course's), each question added, edited, deleted and put in order (dragged, or ↑ ↓ without script).

Pages are addressed by the set's owner: /admin/questions/course/<id> or /admin/questions/session/<id>.
Admins only, like the rest of the catalogue's admin pages.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.accounts.permissions import admin_required
from app.catalog.models import CampSession, Course
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.extensions import db
from app.questions import queries
from app.questions import service as questions
from app.questions.forms import QuestionActionForm, QuestionForm, ReorderForm, typed_values
from app.questions.models import Question

bp = Blueprint("questions_admin", __name__, url_prefix="/admin/questions")
# The booking page's question fields re-show what was sent (templates/questions/_macros.html).
bp.add_app_template_global(typed_values)

_OWNERS = "any(course, session)"


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every page of this blueprint is for admins."""


@dataclass(frozen=True)
class QuestionSet:
    """A course's questions, or a session's own: what the builder's page shows and changes."""

    owner: str  # "course" or "session"
    owner_id: int
    course: Course
    camp: CampSession | None
    own: bool  # a session: whether it asks its own questions (else its course's)

    @property
    def service_args(self) -> dict:
        return {"course_id": self.owner_id} if self.owner == "course" else {"session_id": self.owner_id}

    @property
    def questions(self) -> list[Question]:
        if self.owner == "course" or not self.own:
            return queries.questions_of(course_id=self.course.id)
        return queries.questions_of(session_id=self.owner_id)

    @property
    def url(self) -> str:
        return url_for("questions_admin.builder", owner=self.owner, owner_id=self.owner_id)


def _set(owner: str, owner_id: int) -> QuestionSet:
    if owner == "course":
        return QuestionSet("course", owner_id, db.get_or_404(Course, owner_id), None, True)
    camp = db.get_or_404(CampSession, owner_id, options=[joinedload(CampSession.course)])
    return QuestionSet("session", owner_id, camp.course, camp, queries.has_own_questions(owner_id))


def _set_of(question: Question) -> QuestionSet:
    if question.course_id is not None:
        return _set("course", question.course_id)
    return _set("session", question.session_id)


def _live_question(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.deleted_at is not None:
        abort(404)
    return question


@bp.route(f"/<{_OWNERS}:owner>/<int:owner_id>")
def builder(owner: str, owner_id: int):
    question_set = _set(owner, owner_id)
    return render_template("questions/builder.html", question_set=question_set, questions=question_set.questions,
                           action_form=QuestionActionForm(), reorder_form=ReorderForm())


@bp.route(f"/<{_OWNERS}:owner>/<int:owner_id>/new", methods=["GET", "POST"])
def new_question(owner: str, owner_id: int):
    question_set = _set(owner, owner_id)
    if not question_set.own:
        return redirect(question_set.url)  # the session asks its course's questions: nothing of its own to add to
    form = QuestionForm()
    form.offer(question_set.questions)
    if form.validate_on_submit():
        try:
            questions.add_question(form.question_input(), **question_set.service_args)
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("问题已添加"), "success")
            return redirect(question_set.url)
    return render_template("questions/question_form.html", form=form, question_set=question_set, question=None)


@bp.route("/<int:question_id>/edit", methods=["GET", "POST"])
def edit_question(question_id: int):
    question = _live_question(question_id)
    question_set = _set_of(question)
    form = QuestionForm()
    form.offer([q for q in question_set.questions if (q.position, q.id) < (question.position, question.id)])
    if not form.is_submitted():
        form.show(question)
    if form.validate_on_submit():
        try:
            questions.update_question(question.id, form.question_input())
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            flash(_("问题已保存；已报名学员的回答保留报名时的问题"), "success")
            return redirect(question_set.url)
    return render_template("questions/question_form.html", form=form, question_set=question_set, question=question)


def _act(question_set: QuestionSet, action, success: str):
    """Run a builder action posted from its button, then back to the set's page."""
    if not QuestionActionForm().validate_on_submit():
        abort(400)
    try:
        action()
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        if success:
            flash(success, "success")
    return redirect(question_set.url)


@bp.post("/<int:question_id>/delete")
def delete_question(question_id: int):
    question = _live_question(question_id)
    return _act(_set_of(question), lambda: questions.delete_question(question.id),
                _("问题已删除；已报名学员的回答仍然保留"))


@bp.post("/<int:question_id>/<any(up, down):direction>")
def move_question(question_id: int, direction: str):
    question = _live_question(question_id)
    return _act(_set_of(question), lambda: questions.move_question(question.id, -1 if direction == "up" else 1), "")


@bp.post(f"/<{_OWNERS}:owner>/<int:owner_id>/order")
def reorder(owner: str, owner_id: int):
    question_set = _set(owner, owner_id)
    form = ReorderForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ids = [int(part) for part in form.order.data.split(",")]
    except ValueError:
        abort(400)
    try:
        questions.reorder_questions(ids, **question_set.service_args)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("顺序已保存"), "success")
    return redirect(question_set.url)


@bp.post("/session/<int:owner_id>/own")
def use_own(owner_id: int):
    question_set = _set("session", owner_id)
    return _act(question_set, lambda: questions.use_own_questions(owner_id),
                _("本场次已单独设置报名问题（从课程的问题复制），修改不影响课程的其他场次"))


@bp.post("/session/<int:owner_id>/inherit")
def use_course(owner_id: int):
    question_set = _set("session", owner_id)
    return _act(question_set, lambda: questions.use_course_questions(owner_id), _("本场次已恢复使用课程的报名问题"))
