"""The public catalogue: courses and their upcoming sessions with live availability."""
from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, render_template

from app.catalog import service
from app.catalog.availability import session_availability
from app.catalog.cards import fill_session_cards, session_slot
from app.common import page_cache
from app.common.time import utcnow

bp = Blueprint("catalog", __name__, url_prefix="/courses")
# Whether a session can be booked, and if not why, in every template (catalogue, home page, booking
# page, article booking cards): the one rule, asked, never re-derived in a template.
bp.add_app_template_global(session_availability)
bp.add_app_template_global(session_slot)


@bp.route("/")
def courses():
    now = utcnow()
    listed = [(course, service.upcoming_sessions(course, now)) for course in service.published_courses()]
    return render_template("catalog/courses.html", listed=listed, now=now)


@bp.route("/<slug>")
def course(slug: str):
    now = utcnow()
    if not page_cache.is_shared_page_request():
        return fill_session_cards(_course_page(slug, now), now)
    # Rendered once per content generation (editing or unpublishing a course starts a new one);
    # a 404 is never kept.
    key, page = page_cache.shared_page(f"course:{slug}", partial(_course_page, slug, now))
    shown: list = []
    html = fill_session_cards(page, now, shown)
    return page_cache.shared_response(html, (key, *shown))


def _course_page(slug: str, now) -> str:
    """The course's page with its sessions as slots (filled with live seats by the caller)."""
    course = service.published_course_by_slug(slug) or abort(404)
    return render_template("catalog/course.html", course=course, sessions=service.upcoming_sessions(course, now),
                           now=now)
