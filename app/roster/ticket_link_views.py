"""The ticket link, /t/<code>: what a ticket's QR code holds, opened by WeChat's scanner or any
phone camera. The code in it is a bearer secret, so who opens it decides what it shows:

- the ticket's holder (logged in): their ticket page;
- staff: the person, the session and today's check-in, with a 签到 button (the door's service);
- anyone else: a page that says it is a ticket and asks them to log in, the same for every code,
  valid or not, so the page neither names the person nor says whether a code exists.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.booking.tickets import format_ticket_code, normalise_ticket_code
from app.common.errors import DomainError
from app.common.time import local_datetime
from app.roster import checkin_queries as queries
from app.roster import service
from app.roster.checkin_forms import TicketCheckInForm

bp = Blueprint("ticket_link", __name__)


@bp.after_request
def _keep_the_code_private(response):
    # The address carries the code: no Referer with it to other sites, no copy in shared caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/t/<string(maxlength=40):code>")
def show(code: str):
    stored = normalise_ticket_code(code)
    if current_user.is_authenticated:
        registration = queries.ticket_holder(stored)
        if registration is not None and registration.user_id == current_user.id:
            return redirect(url_for("booking.ticket", registration_id=registration.id))
        if current_user.is_staff:
            return _staff_view(stored)
    return render_template("roster/ticket_link.html", code=stored, ticket=None)


def _staff_view(code: str):
    today = service.local_today()
    ticket = queries.ticket_at_door(code, today)
    if ticket is None:
        return render_template("roster/ticket_link.html", code=code, ticket=None,
                               shown_code=format_ticket_code(code[:24])), 404
    registration = ticket.registration
    refusal = None if ticket.attendance else service.door_refusal(registration, registration.session_id, today)
    return render_template(
        "roster/ticket_link.html", code=code, ticket=ticket, shown_code=format_ticket_code(code),
        refusal=str(refusal.message) if refusal else None, status_label=service.status_label,
        form=TicketCheckInForm(),
    )


@bp.route("/t/<string(maxlength=40):code>/checkin", methods=["POST"])
@staff_required
def check_in(code: str):
    """The 签到 button: the same service call as the door's scanner, for the ticket's own session."""
    form = TicketCheckInForm()
    if not form.validate_on_submit():
        abort(400)
    stored = normalise_ticket_code(code)
    registration = queries.ticket_holder(stored)
    if registration is None:
        abort(404)
    try:
        result = service.check_in(registration.session_id, stored, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        name = result.registration.user.display_name
        if result.already:
            flash(_("重复签到：%(name)s 已于 %(time)s 签到", name=name,
                    time=local_datetime(result.checked_in_at, "HH:mm")), "info")
        else:
            flash(_("已签到：%(name)s", name=name), "success")
    return redirect(url_for("ticket_link.show", code=stored))
