"""Writing audit entries: in the transaction of the change they describe.

`entry` builds an entry's row and `record` inserts it; the PostgreSQL booking statement selects the
same row from the registration it inserts (app/booking/statements.py), so a student's booking is
audited without another round trip while the session is locked.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert

from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.common.sql import json_value
from app.common.time import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User

NOTE_MAX = 200  # AuditEntry.note


def entry(action, actor_id, at, *, registration_id=None, session_id=None, account_id=None, article_id=None,
          before: dict | None = None, after: dict | None = None, note: str = "") -> dict:
    """An audit entry's row: column -> value. Any value, and any of a state's, may be a SQL
    expression (a statement's column or parameter); subjects left None are left out."""
    row = {"action": action, "actor_id": actor_id, "created_at": at, "registration_id": registration_id,
           "session_id": session_id, "account_id": account_id, "article_id": article_id,
           "before": json_value(before) if before is not None else None,
           "after": json_value(after) if after is not None else None,
           "note": (note[:NOTE_MAX] or None) if isinstance(note, str) else note}  # "": the column's default
    return {column: value for column, value in row.items() if value is not None}


@functools.cache
def _insert_sql():
    return insert(AuditEntry.__table__)


def record(action: AuditAction, actor: User | None, *, registration_id: int | None = None,
           session_id: int | None = None, account_id: int | None = None, article_id: int | None = None,
           before: dict | None = None, after: dict | None = None, note: str = "", at: datetime | None = None) -> None:
    """Add an entry to the caller's transaction. `actor`: who did it (None: the system, on its own)."""
    if not isinstance(action, AuditAction):
        raise TypeError(f"audit action {action!r} is not an AuditAction")
    row = entry(action.value, actor.id if actor else None, at or utcnow(), registration_id=registration_id,
                session_id=session_id, account_id=account_id, article_id=article_id, before=before, after=after,
                note=note)
    db.session.execute(_insert_sql(), row)  # flushes the ORM's pending changes first (the rows it names)
