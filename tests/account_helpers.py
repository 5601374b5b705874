"""Helpers for the accounts tests: read accounts back from the database, ask the app who is logged in.

Reads run in their own application context, so they always see what was committed and never reuse
a session (or, on SQLite, a read snapshot) left over from an earlier step of the test.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.mail.models import OutboxMessage
from app.mail.service import compose
from tests.helpers import submit_form

_FIELD_ERROR_RE = re.compile(r'<p class="field-error" role="alert">(.*?)</p>')
_CSRF_VALUE_RE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')

VALID_SIGNUP = {
    "name": "王喆",
    "phone": "13912345678",
    "email": "wangzhe@example.com",
    "password": "abcdefgh1",
    "confirm": "abcdefgh1",
}


def signup(client, **changes):
    """Fill in the sign-up form with valid data, changed by `changes`, and submit it."""
    return submit_form(client, "/account/signup", {**VALID_SIGNUP, **changes})


def find_user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def get_user(app, user_id: int) -> User:
    with app.app_context():
        return db.session.get(User, user_id)


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def set_active(app, user_id: int, active: bool) -> None:
    """What an operator does to block an account: flip is_active in the database."""
    with app.app_context():
        db.session.get(User, user_id).is_active = active
        db.session.commit()


@dataclass(frozen=True)
class Email:
    """An outbox message as its reader gets it: composed, as the sender composes it."""

    id: int
    to_address: str
    template: str | None
    subject: str
    body_text: str
    attachments: list[dict]


def as_sent(message: OutboxMessage) -> Email:
    composed = compose(message)
    return Email(message.id, message.to_address, message.template, composed.subject, composed.body_text,
                 composed.attachments)


def outbox_emails() -> list[Email]:
    """Every queued message, composed (inside an app context)."""
    db.session.expire_all()
    return [as_sent(m) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def outbox_messages(app) -> list[Email]:
    with app.app_context():
        return outbox_emails()


def is_logged_in(client) -> bool:
    """Whether this browser is logged in: the profile page opens instead of redirecting to login."""
    response = client.get("/account/profile")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def text_of(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response) -> list[str]:
    """The error messages shown under form fields."""
    return _FIELD_ERROR_RE.findall(text_of(response))


def without_csrf_tokens(html: str) -> str:
    """The page with its CSRF token values blanked: they differ on every render."""
    return _CSRF_VALUE_RE.sub(r"\1\2", html)
