"""User management for admins: search, a user's registrations and certificates, role, deactivation."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
