"""The outbox as admins see it: what was sent, what is waiting, what failed and why.

In development (MAIL_BACKEND=console) this is also where the mail can be read.
"""
from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select

from app.accounts.permissions import admin_required
from app.common.pagination import page_number
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.service import compose, template_label

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
PAGE_SIZE = 50


@bp.route("/")
@admin_required
def outbox():
    status_filter = request.args.get("status")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status_filter in {s.value for s in OutboxStatus}:
        query = query.where(OutboxMessage.status == OutboxStatus(status_filter))
    # The page number bounded (common/pagination.py), not Flask-SQLAlchemy's unbounded ?page=.
    page = db.paginate(query, page=page_number(request.args), per_page=PAGE_SIZE, error_out=False)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("admin/outbox.html", page=page, counts=counts, status_filter=status_filter,
                           template_label=template_label, statuses=list(OutboxStatus))


@bp.route("/<int:message_id>")
@admin_required
def message(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    # Not composed yet (composed when sent): shown as it would be composed now.
    try:
        composed, problem = compose(message), None
    except LookupError as error:  # its registration was deleted, or no composer knows its template
        composed, problem = None, str(error)
    return render_template("admin/outbox_message.html", message=message, composed=composed, problem=problem,
                           label=template_label(message.template))
