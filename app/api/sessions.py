"""Camp sessions over the API: the upcoming ones, and one by id."""
from __future__ import annotations

from app.api import bp
from app.api.schemas import session_json, session_list_json
from app.catalog import service as catalog
from app.common.time import utcnow


@bp.get("/sessions")
def list_sessions():
    now = utcnow()
    return session_list_json(catalog.upcoming_published_sessions(now), now)


@bp.get("/sessions/<int:session_id>")
def get_session(session_id: int):
    return session_json(catalog.published_session(session_id), utcnow())
