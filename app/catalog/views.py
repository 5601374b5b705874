"""The public catalogue: courses and their upcoming sessions with live availability."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.catalog import service
from app.common.time import utcnow

bp = Blueprint("catalog", __name__, url_prefix="/courses")


@bp.route("/")
def courses():
    now = utcnow()
    listed = [(course, service.upcoming_sessions(course, now)) for course in service.published_courses()]
    return render_template("catalog/courses.html", listed=listed, now=now)


@bp.route("/<slug>")
def course(slug: str):
    course = service.published_course_by_slug(slug) or abort(404)
    now = utcnow()
    sessions = service.upcoming_sessions(course, now)
    return render_template("catalog/course.html", course=course, sessions=sessions, now=now)
