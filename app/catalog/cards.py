"""Session cards with live seats in pages that are otherwise kept (app/common/page_cache.py).

A page lists its sessions as slots (`session_slot`, an empty element naming the session); before
it is sent, `fill_session_cards` puts in each slot the session's card as it is now, from one query
for all of them. The page can then be rendered once for every anonymous reader while its seats
stay exact: only a card's rendering is kept, keyed by what it shows.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import get_template_attribute
from markupsafe import Markup

from app.catalog.models import CampSession
from app.catalog.service import published_sessions
from app.common import page_cache

_SLOT = re.compile(r'<div class="session-card-slot" data-session-id="(\d+)" data-show-course="([01])"></div>')


def session_slot(camp: CampSession, show_course: bool = False) -> Markup:
    """Where a session's card goes (a template global); filled by fill_session_cards."""
    return Markup(f'<div class="session-card-slot" data-session-id="{int(camp.id)}" '
                  f'data-show-course="{int(show_course)}"></div>')


def fill_session_cards(html: str, now: datetime, shown: list | None = None) -> Markup:
    """The page with each slot replaced by its session's card (page_cache.live_parts: a few
    seconds old at most); a session no longer published leaves nothing. `shown` gets the cards, for
    the page's ETag."""
    slots = list(dict.fromkeys((int(found), course == "1") for found, course in _SLOT.findall(html)))
    cards = page_cache.live_parts("session", slots, lambda missing: _render_cards(missing, now))
    if shown is not None:
        shown.extend(cards[slot] for slot in slots)
    return Markup(_SLOT.sub(lambda match: cards.get((int(match.group(1)), match.group(2) == "1"), ""), html))


def _render_cards(slots: list[tuple[int, bool]], now: datetime) -> dict[tuple[int, bool], str]:
    """The cards of these (session id, show course) slots as they are now: one query."""
    sessions = published_sessions(session_id for session_id, _course in slots)
    session_card = get_template_attribute("catalog/_macros.html", "session_card")
    return {(session_id, show_course): str(session_card(sessions[session_id], now, show_course=show_course))
            for session_id, show_course in slots if session_id in sessions}
