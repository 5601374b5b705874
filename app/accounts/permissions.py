"""Who may open which page. Anonymous visitors go to the login page; the wrong role gets 403."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.accounts.models import Role, User
from app.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # The id carries the session version: a password change or deactivation ends old sessions.
    user_pk, _, version = user_id.partition(":")
    if not user_pk.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_pk))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def roles_required(*roles: Role):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required(Role.STAFF, Role.ADMIN)
admin_required = roles_required(Role.ADMIN)
