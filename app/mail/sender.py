"""Delivering the outbox over SMTP, with retries and exponential backoff.

Each message is claimed, sent and marked in its own short transactions, so one bad address or
an SMTP outage never holds up or loses the others. A message queued as a template is composed
between the claim and the sending, outside any write transaction, and the composed text is stored
with the outcome, so the row shows what was sent. On PostgreSQL, rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several senders can run at once without sending a message twice;
on SQLite the write lock serialises them.
"""
from __future__ import annotations

import base64
import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select

from app.common.db import begin_write
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.service import ComposedEmail, compose

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed


def build_email(message_id: int, to_address: str, composed: ComposedEmail, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to_address
    email["Subject"] = composed.subject
    # A stable id lets a mail client drop the duplicate if a crash after sending causes a resend.
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message_id}")
    email.set_content(composed.body_text)
    if composed.body_html:
        email.add_alternative(composed.body_html, subtype="html")
    for attachment in composed.attachments:
        maintype, _, subtype = attachment["content_type"].partition("/")
        email.add_attachment(
            base64.b64decode(attachment["data_b64"]),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment["filename"],
        )
    return email


def retry_delay(attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """Wait base, 2×base, 4×base ... after the 1st, 2nd, 3rd failure, never more than max."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(attempts - 1, 0)))


def _smtp_send(email: EmailMessage) -> None:
    config = current_app.config
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def _console_send(email: EmailMessage) -> None:
    body = email.get_body(preferencelist=("plain",))
    text = body.get_content() if body else ""
    log.warning("MAIL_BACKEND=console, not sent:\nTo: %s\nSubject: %s\n\n%s", email["To"], email["Subject"], text)


def is_temporary(error: Exception) -> bool:
    """Worth retrying: the network, a 4xx answer, or our own SMTP settings (an operator fixes
    those). A malformed message or a 5xx refusal of the address will fail the same way again."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500 or error.smtp_code < 0
    return isinstance(error, smtplib.SMTPServerDisconnected | OSError)


# While a message is being sent it is leased: if the sender dies mid-way, the message becomes
# due again after this long instead of being lost or stuck.
SEND_LEASE = timedelta(minutes=5)


@dataclass
class _Claimed:
    message_id: int
    email: EmailMessage | None = None
    composed: ComposedEmail | None = None  # set when composed now, to be stored with the outcome
    error: Exception | None = None  # the message could not be composed or built


def _claim_next_due(now: datetime) -> int | None:
    """Lease the next due message in a short transaction: its id, or None when nothing is due.

    The SMTP conversation (and composing a templated message) happens outside any write
    transaction: on SQLite a transaction holds the database's only write lock, and bookings must
    not wait for a slow mail server.
    """
    begin_write()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    message = db.session.scalars(query).first()
    if message is None:
        db.session.rollback()
        return None
    message.attempts += 1
    message.next_attempt_at = now + SEND_LEASE
    message_id = message.id
    db.session.commit()
    return message_id


def _prepare(message_id: int) -> _Claimed:
    """The leased message as an email ready to send. A message that cannot be composed or built
    (its registration deleted, a line break in a header) comes back with its error, so it is
    marked failed instead of stopping the sender at the same message forever."""
    claimed = _Claimed(message_id)
    message = db.session.get(OutboxMessage, message_id)
    try:
        composed = compose(message)
        if message.body_text is None:
            claimed.composed = composed
        claimed.email = build_email(message_id, message.to_address, composed, current_app.config["MAIL_DEFAULT_SENDER"])
    except Exception as error:  # noqa: BLE001 - any malformed message is this message's problem only
        claimed.error = error
    db.session.rollback()  # end the read transaction before talking to the mail server
    return claimed


def _record_outcome(claimed: _Claimed, now: datetime, error: Exception | None) -> OutboxStatus:
    config = current_app.config
    begin_write()
    message = db.session.get(OutboxMessage, claimed.message_id)
    if claimed.composed is not None and message.body_text is None:
        message.subject = claimed.composed.subject[:200]
        message.body_text = claimed.composed.body_text
        message.body_html = claimed.composed.body_html
        message.attachments = claimed.composed.attachments
    if error is None:
        message.status = OutboxStatus.SENT
        message.sent_at = utcnow()
        message.last_error = None
    else:
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        if message.attempts >= config["MAIL_MAX_ATTEMPTS"] or not is_temporary(error):
            message.status = OutboxStatus.FAILED
            log.error("outbox message %s failed for good: %s", claimed.message_id, message.last_error)
        else:
            message.next_attempt_at = now + retry_delay(
                message.attempts, config["MAIL_RETRY_BASE_SECONDS"], config["MAIL_RETRY_MAX_SECONDS"]
            )
            log.warning("outbox message %s will be retried: %s", claimed.message_id, message.last_error)
    status = message.status
    db.session.commit()
    return status


def deliver_due(now: datetime | None = None, limit: int = 100) -> DeliveryReport:
    """Try every message that is due, at most `limit`; return what happened."""
    send = _console_send if current_app.config["MAIL_BACKEND"] == "console" else _smtp_send
    report = DeliveryReport()
    now = now or utcnow()
    while report.attempted < limit:
        message_id = _claim_next_due(now)
        if message_id is None:
            break
        claimed = _prepare(message_id)
        if claimed.error is not None:
            outcome = _record_outcome(claimed, now, claimed.error)
        else:
            try:
                send(claimed.email)
            except Exception as error:  # noqa: BLE001 - recorded on the message; the loop goes on
                outcome = _record_outcome(claimed, now, error)
            else:
                outcome = _record_outcome(claimed, now, None)
        if outcome is OutboxStatus.SENT:
            report.sent += 1
        elif outcome is OutboxStatus.FAILED:
            report.failed += 1
        else:
            report.retried += 1
    return report


def run_worker(interval_seconds: float, stop_after: int | None = None) -> None:
    """Deliver forever (or `stop_after` rounds), sleeping between rounds that found nothing."""
    rounds = 0
    while stop_after is None or rounds < stop_after:
        report = deliver_due()
        rounds += 1
        if report.attempted:
            log.info("outbox: %s sent, %s to retry, %s failed", report.sent, report.retried, report.failed)
        else:
            time.sleep(interval_seconds)
