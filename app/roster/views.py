"""Staff pages: sessions at a glance, the roster of a session, a registration and its history."""
from flask import Blueprint

from app.accounts.permissions import staff_required

bp = Blueprint("roster", __name__, url_prefix="/staff")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""
