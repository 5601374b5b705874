"""GET /admin/answers/: the registration questions' answers added up, per question, for one session
or a whole course (app/admin/answer_summary.py counts). Reached from the dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from app.accounts.permissions import admin_required
from app.admin.answer_summary import summary_choices, summary_for
from app.common.pagination import id_arg
from app.common.time import utcnow

bp = Blueprint("admin_answers", __name__, url_prefix="/admin/answers")


@bp.before_request
@admin_required
def _admin_only() -> None:
    """Every page here is for admins."""


@bp.get("/")
def summary():
    choices = summary_choices()
    session_id, course_id = id_arg(request.args, "session"), id_arg(request.args, "course")
    camp = next((c for c in choices.sessions if c.id == session_id), None)
    course = next((c for c in choices.courses if c.id == course_id), None) if camp is None else None
    if camp is None and course is None:
        # By default the soonest session that has not started (else the latest one), else a course.
        now = utcnow()
        upcoming = [c for c in choices.sessions if c.starts_at >= now]
        camp = upcoming[-1] if upcoming else next(iter(choices.sessions), None)
        course = next(iter(choices.courses), None) if camp is None else None
    found = summary_for(session_id=camp.id) if camp else summary_for(course_id=course.id) if course else None
    return render_template("admin/answers.html", choices=choices, camp=camp, course=course, summary=found)
