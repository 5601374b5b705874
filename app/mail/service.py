"""Queueing email: add an outbox row to the caller's transaction. Delivery is in sender.py."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from flask import render_template

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
    try:
        body_html = render_template(f"mail/{template}.html", **context)
    except Exception as error:  # noqa: BLE001 - only a missing template is expected here
        from jinja2 import TemplateNotFound

        if not isinstance(error, TemplateNotFound):
            raise
        body_html = None
    message = OutboxMessage(
        to_address=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attachments=[a.as_json() for a in attachments],
    )
    db.session.add(message)
    return message
