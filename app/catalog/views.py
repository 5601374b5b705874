"""The public catalogue: courses and their upcoming sessions with live availability."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.catalog import service
from app.catalog.availability import session_availability
from app.common.time import utcnow

bp = Blueprint("catalog", __name__, url_prefix="/courses")
# Whether a session can be booked, and if not why, in every template (catalogue, home page, booking
# page, article booking cards): the one rule, asked, never re-derived in a template.
bp.add_app_template_global(session_availability)


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
