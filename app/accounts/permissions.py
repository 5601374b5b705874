"""Who may open which page. Anonymous visitors go to the login page; the wrong role gets 403."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.accounts import logins
from app.accounts.models import Role, User
from app.extensions import login_manager


@login_manager.user_loader
def load_user(login_token: str) -> User | None:
    # The id in the cookies is a login's token (app/accounts/logins.py): logout, a password change
    # or reset and deactivation delete logins, and their cookies stop working at once.
    return logins.user_for_login(login_token)


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
