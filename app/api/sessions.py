"""Camp sessions over the API: the upcoming ones, and one by id (with its registration questions)."""
from __future__ import annotations

from app.api import bp
from app.api.schemas import session_detail_json, session_list_json
from app.catalog import service as catalog
from app.common.time import utcnow
from app.questions.queries import questions_for_session


@bp.get("/sessions")
def list_sessions():
    now = utcnow()
    return session_list_json(catalog.upcoming_published_sessions(now), now)


@bp.get("/sessions/<int:session_id>")
def get_session(session_id: int):
    """The session, with the registration questions its booking asks."""
    camp = catalog.published_session(session_id)
    return session_detail_json(camp, questions_for_session(camp.id), utcnow())
