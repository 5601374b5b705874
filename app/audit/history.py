"""Audit entries in words, as the history lists of the staff and admin pages show them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from app.audit.models import AuditEntry


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    who: str
    what: str
    before: str
    after: str
    note: str


def history_line(entry: AuditEntry, what: str, before: str, after: str, note: str | None = None) -> HistoryLine:
    """One entry's line: when and by whom from the entry, the words for the change from the
    feature that knows them. `note`: the entry's note as it should read (default: as written)."""
    return HistoryLine(
        at=entry.created_at,
        who=entry.actor.display_name if entry.actor else _("系统"),
        what=what,
        before=before,
        after=after,
        note=(entry.note or "") if note is None else note,
    )
