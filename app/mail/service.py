"""Queueing email: add an outbox row to the caller's transaction. Delivery is in sender.py.

A message is queued in one of two ways:
- composed now (`queue_email`): subject and bodies rendered into the row;
- composed when sent (`queue_templated`): the row holds a template name and a small context (ids),
  and the composer registered for that template (`@composer`) renders it when the sender takes it.
  Booking emails go this way: rendering them, their calendar entry and QR code in the request
  would hold the session's lock longer in a rush, for a message nobody reads in that second.
"""
from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from app.common.driver_statements import DriverStatement, insert_columns
from app.common.sql import json_value
from app.common.time import utcnow
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


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    body_text: str
    body_html: str | None
    attachments: list[dict]  # Attachment.as_json() each


Composer = Callable[[str, dict], ComposedEmail]
_composers: dict[str, Composer] = {}
_labels: dict[str, str] = {}


def composer(templates: dict[str, str]) -> Callable[[Composer], Composer]:
    """Register the function that composes messages queued with these template names (each with
    a label for the admin's outbox, until the message is composed); it is called with the
    template name and the row's context, inside the app (not a request)."""

    def register(compose_function: Composer) -> Composer:
        for template, label in templates.items():
            _composers[template] = compose_function
            _labels[template] = label
        return compose_function

    return register


def template_label(template: str | None) -> str:
    return str(_labels.get(template, template or ""))


class UnknownTemplate(LookupError):
    pass


def compose(message: OutboxMessage) -> ComposedEmail:
    """What this message says: as stored, or composed now from its template and context."""
    if message.body_text is not None:
        return ComposedEmail(message.subject or "", message.body_text, message.body_html, message.attachments or [])
    compose_function = _composers.get(message.template)
    if compose_function is None:
        raise UnknownTemplate(f"no composer for email template {message.template!r}")
    return compose_function(message.template, message.context or {})


def render_email(subject: str, template: str, attachments: list[Attachment] | tuple[Attachment, ...] = (),
                 **context) -> ComposedEmail:
    """`templates/mail/<template>.txt` (and `.html` if present) rendered, for a composer."""
    html_template = f"mail/{template}.html"
    return ComposedEmail(
        subject=subject,
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(html_template, **context) if _template_exists(html_template) else None,
        attachments=[a.as_json() for a in attachments],
    )


@functools.cache
def _template_exists(name: str) -> bool:
    # Cached: looking for a template that is not there searches the disk every time.
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def queue_email(
    to: str | None,
    subject: str,
    template: str,
    attachments: list[Attachment] | tuple[Attachment, ...] = (),
    **context,
) -> OutboxMessage | None:
    """Render a message into a pending outbox row, added to the caller's transaction.

    It does not commit: the message becomes real only if the caller's transaction commits.
    No address (a walk-in staff added with a phone number alone): nothing is queued.
    """
    if not to:
        return None
    email = render_email(subject, template, attachments, **context)
    message = OutboxMessage(to_address=to, subject=email.subject, body_text=email.body_text,
                            body_html=email.body_html, attachments=email.attachments)
    db.session.add(message)
    return message


def templated_message(to_address, template, context: dict, queued_at) -> dict:
    """The outbox row of a message composed when sent (see `composer`): column -> value. Any value,
    and any of the context's, may be a SQL expression, for a statement that queues its message from
    the rows it writes (the PostgreSQL booking, app/booking/statements.py); queue_templated inserts
    the row of plain values. Status, attempts and when it is due take the columns' defaults
    (pending, 0, at once)."""
    return {"to_address": to_address, "template": template, "context": json_value(context), "attachments": [],
            "created_at": queued_at}


TEMPLATED_COLUMNS = ("to_address", "template", "context", "attachments", "created_at")  # templated_message's
# Run straight on the driver (app/common/driver_statements.py): a booking queues its email while every
# other booking of the session waits.
_insert_templated = DriverStatement(lambda: insert_columns(OutboxMessage.__table__, TEMPLATED_COLUMNS))


def queue_templated(to: str | None, template: str, **context) -> None:
    """Queue a message to be composed when sent, with one INSERT added to the caller's transaction
    (built once: this runs under the session's lock in a booking rush). The context must be JSON:
    ids and plain values, not objects. No address (a walk-in staff added with a phone number
    alone): nothing is queued."""
    queue_message(templated_message(to, template, context, utcnow()))


def queue_message(row: dict) -> None:
    """Insert a templated_message() of plain values in the caller's transaction, on its connection
    (pending ORM changes are not flushed first); none without an address."""
    if row["to_address"]:
        _insert_templated.execute(db.session.connection(), row)
