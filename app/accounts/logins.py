"""Web logins as server-side records, so that logging out really ends a login.

Flask's session cookie lives in the browser: clearing it at logout does not stop a copy taken
before (a shared computer, a stolen phone backup) from working. Each login is therefore a row of
`login_sessions` whose token is what Flask-Login stores (`User.get_id()`), in the session cookie
and in the 记住我 cookie; the user loader accepts a cookie only while its row exists. Logging
out on one phone deletes that phone's row and leaves the person's other devices logged in.

A login lasts at most REMEMBER_COOKIE_DURATION (the 记住我 cookie's own lifetime), counted from
the login: the request path only reads (no "last seen" write on every page view, which on SQLite
would take the write lock for every request).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from app.accounts.models import LoginSession, User
from app.common.time import utcnow
from app.extensions import db

USER_AGENT_MAX = 200


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _oldest_valid_start():
    return utcnow() - timedelta(seconds=current_app.config["REMEMBER_COOKIE_DURATION"])


def add_login(user: User, user_agent: str = "") -> str:
    """Add a login of `user` to the caller's write transaction; returns its token, also set on
    `user.login_token` for Flask-Login. The user's expired or ended logins are cleared on the way."""
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.created_at < _oldest_valid_start()
    ))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(id=_digest(token), user_id=user.id, created_at=utcnow(),
                                user_agent=(user_agent or "").replace("\x00", "")[:USER_AGENT_MAX]))
    user.login_token = token
    return token


def end_login(token: str | None) -> None:
    """Forget one login (logout), in the caller's write transaction."""
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))


def end_logins(user_id: int, keep_token: str | None = None) -> None:
    """End every login of the user (password reset, deactivation), or every one but `keep_token`
    (a password change: the browser that changed it stays logged in)."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token:
        query = query.where(LoginSession.id != _digest(keep_token))
    db.session.execute(query)


def user_for_login(token: str) -> User | None:
    """The active user of this login, if it has not ended or expired; one query per request."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == _digest(token), LoginSession.created_at >= _oldest_valid_start(),
               User.is_active.is_(True))
    )
    if user is not None:
        user.login_token = token
    return user

