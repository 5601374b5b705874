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
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.catalog.availability import session_availability
from app.catalog.models import CampSession, Course
from app.common import page_cache
from app.extensions import db

_SLOT = re.compile(r'<div class="session-card-slot" data-session-id="(\d+)" data-show-course="([01])"></div>')


def session_slot(camp: CampSession, show_course: bool = False) -> Markup:
    """Where a session's card goes (a template global); filled by fill_session_cards."""
    return Markup(f'<div class="session-card-slot" data-session-id="{int(camp.id)}" '
                  f'data-show-course="{int(show_course)}"></div>')


def fill_session_cards(html: str, now: datetime, shown: list | None = None) -> Markup:
    """The page with each slot replaced by its session's card now (a session no longer published
    leaves nothing). `shown` gets what each card showed, for the page's ETag."""
    ids = {int(found) for found, _course in _SLOT.findall(html)}
    sessions = {}
    if ids:
        sessions = {camp.id: camp for camp in db.session.scalars(
            select(CampSession).join(Course)
            .where(CampSession.id.in_(ids), CampSession.is_published.is_(True), Course.is_published.is_(True))
            .options(joinedload(CampSession.course)))}
    shown = [] if shown is None else shown

    def card(match: re.Match) -> str:
        camp = sessions.get(int(match.group(1)))
        if camp is None:
            return ""
        show_course = match.group(2) == "1"
        offer = session_availability(camp, now)
        state = (camp.id, show_course, camp.seats_taken, camp.capacity, camp.waitlisted_count, offer.refusal,
                 offer.opens_at, offer.waitlist)
        shown.append(state)
        session_card = get_template_attribute("catalog/_macros.html", "session_card")
        return page_cache.kept_fragment(f"session:{state}",
                                        lambda: str(session_card(camp, now, show_course=show_course)))

    return Markup(_SLOT.sub(card, html))
