"""Queueing email: add an outbox row to the caller's transaction. Delivery is in sender.py."""
from __future__ import annotations

import base64
import functools
from dataclasses import dataclass

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from app.extensions import db
from app.mail.models import OutboxMessage


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


def queue_email(
    to: str,
    subject: str,
    template: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    **context,
) -> OutboxMessage:
    """Render `templates/mail/<template>.txt` (and `.html` if present) into a pending outbox row.

    It does not commit: the message becomes real only if the caller's transaction commits.
    """
    body_text = render_template(f"mail/{template}.txt", **context)
    html_template = f"mail/{template}.html"
    body_html = render_template(html_template, **context) if _template_exists(html_template) else None
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attachments=[a.as_json() for a in attachments],
    )
    db.session.add(message)
    return message
