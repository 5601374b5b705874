"""Roster exports for staff: CSV, XLSX and a printable sign-in sheet (PDF)."""
from flask import Blueprint

from app.accounts.permissions import staff_required

bp = Blueprint("roster_exports", __name__, url_prefix="/staff")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every export is for staff and admins."""
