"""Writing audit entries: called inside the transaction of the action they describe."""
from __future__ import annotations

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.extensions import db


def record(action: str, actor: User | None, *, registration_id: int | None = None, session_id: int | None = None,
           before: dict | None = None, after: dict | None = None, note: str = "") -> None:
    db.session.add(AuditEntry(
        action=action, actor_id=actor.id if actor else None, registration_id=registration_id,
        session_id=session_id, before=before, after=after, note=note[:200],
    ))
