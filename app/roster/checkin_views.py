"""Door check-in with ticket codes, and the attendance grid."""
from flask import Blueprint

from app.accounts.permissions import staff_required

bp = Blueprint("checkin", __name__, url_prefix="/staff")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""
