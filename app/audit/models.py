"""Who did what, when, with the state before and after: read on the staff registration page, the
admin account page and the article editor's history."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit.actions import AuditAction
from app.common.time import UtcDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:  # the audit trail is below accounts: it names users by table, never imports them
    from app.accounts.models import User


class AuditEntry(db.Model):
    """One change. Its subject columns say what it is about, so a history is one indexed query:
    `registration_id` and `session_id` for a registration's change (and `account_id`, its person),
    `session_id` alone for a session's, `account_id` for an account's, `article_id` for an article's."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_registration", "registration_id", "created_at"),
        Index("ix_audit_entries_session", "session_id", "created_at"),
        Index("ix_audit_entries_account", "account_id", "created_at"),
        # Partial: most entries are about registrations and name no article, and a booking in a rush
        # should not pay for an index it never appears in.
        Index("ix_audit_entries_article", "article_id", "created_at", postgresql_where=text("article_id IS NOT NULL"),
              sqlite_where=text("article_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for what the system did on its own (a promotion from the waitlist after a cancellation).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Stored as its value ("registration.cancel"); no CHECK, so adding a member needs no migration.
    action: Mapped[AuditAction] = mapped_column(
        Enum(AuditAction, native_enum=False, create_constraint=False, length=40,
             values_callable=lambda actions: [action.value for action in actions]))
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("camp_sessions.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    actor: Mapped[User | None] = relationship("User", foreign_keys=[actor_id])
