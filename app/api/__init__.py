"""The JSON API (for the WeChat mini-program), mounted at /api/v1.

Clients authenticate with a bearer token from `POST /api/v1/auth/token`, not with cookies, so the
blueprint is exempt from CSRF (see `_register_blueprints`). Every error is JSON:
{"code": "...", "message": "<Chinese>"} (see errors.py); the document is at /api/v1/openapi.json.
"""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Route modules register their views on `bp` when imported.
from app.api import (  # noqa: E402, F401
    auth,
    errors,
    group_payments,  # 团体报名: paying once for the group
    groups,
    openapi,
    payments,
    registrations,
    sessions,
    staff_roster,  # staff and admins: a session's roster with the answers
)
