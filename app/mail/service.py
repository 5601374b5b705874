"""Queueing email: add an outbox row to the caller's transaction. Delivery is in sender.py."""
from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import insert

from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    def as_json(self) -> dict:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "data_b64": base64.b64encode(self.data).decode("ascii"),
        }


@functools.cache
def _template_exists(name: str) -> bool:
    # Cached: looking for a template that is not there searches the disk every time.
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def render_message(
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    **context,
) -> dict:
    """The outbox row's values: `templates/mail/<template>.txt` (and `.html` if present) rendered."""
    html_template = f"mail/{template}.html"
    return {
        "to_address": to,
        "subject": subject,
        "body_text": render_template(f"mail/{template}.txt", **context),
        "body_html": render_template(html_template, **context) if _template_exists(html_template) else None,
        "attachments": [a.as_json() for a in attachments],
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
    }


def queue_email(
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    **context,
) -> OutboxMessage:
    """Render a message into a pending outbox row, added to the caller's transaction.

    It does not commit: the message becomes real only if the caller's transaction commits.
    """
    message = OutboxMessage(**render_message(to, subject, template, attachments, **context))
    db.session.add(message)
    return message


@functools.cache
def _insert_sql():
    return insert(OutboxMessage.__table__)


def insert_rendered(values: dict) -> None:
    """Queue an already rendered message with one INSERT, skipping the ORM's unit of work
    (for the booking rush, where this runs while the session's lock is held; the statement is
    built once and takes the values as parameters)."""
    db.session.connection().execute(_insert_sql(), values)
