from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS; kept with its last error for an operator

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {OutboxStatus.PENDING: _("待发送"), OutboxStatus.SENT: _("已发送"),
                OutboxStatus.FAILED: _("发送失败")}[self]


class OutboxMessage(db.Model):
    """An email waiting to be delivered.

    It is written in the same transaction as the action that causes it, so a rolled-back action
    sends nothing and a committed one always has its message; `flask outbox send` delivers it.

    A message is queued either composed (subject and bodies) or as a `template` and its `context`
    (ids and a few values; see `composer` in app/mail/service.py), composed by the sender when it
    takes the message; the composed text is then stored, so the row shows what was sent.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        CheckConstraint("body_text IS NOT NULL OR template IS NOT NULL", name="composed_or_template"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(60))
    context: Mapped[dict | None] = mapped_column(JSON)
    # [{"filename": ..., "content_type": "text/calendar", "data_b64": ...}]
    attachments: Mapped[list[dict]] = mapped_column(JSON, default=list)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s],
             create_constraint=True, name="outbox_status"),
        default=OutboxStatus.PENDING,
        server_default=OutboxStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
