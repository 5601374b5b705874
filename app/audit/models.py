"""Who did what, when, with the state before and after: read by staff on a registration's page."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_registration", "registration_id", "created_at"),
        Index("ix_audit_entries_session", "session_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for what the system did on its own (a promotion from the waitlist after a cancellation).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))  # "registration.cancel", "attendance.set", ...
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    actor: Mapped[User | None] = relationship()
