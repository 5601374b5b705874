"""The admin dashboard: sessions, registrations over time, check-in rates, certificates, content funnel."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
