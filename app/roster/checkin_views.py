"""Door check-in with ticket codes, and the attendance grid."""
from __future__ import annotations

from flask import Blueprint, abort, flash, get_template_attribute, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.booking.tickets import format_ticket_code, ticket_code_from_scan
from app.common.errors import DomainError
from app.roster import checkin_queries as queries
from app.roster import service
from app.roster.checkin_forms import AttendanceForm, CheckInForm

bp = Blueprint("checkin", __name__, url_prefix="/staff")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""


@bp.context_processor
def _ticket_helpers() -> dict:
    return {"format_ticket_code": format_ticket_code}


def _session_or_404(session_id: int):
    camp = queries.session_for_staff(session_id)
    if camp is None:
        abort(404)
    return camp


@bp.route("/sessions/<int:session_id>/checkin", methods=["GET", "POST"])
def page(session_id: int):
    """The door: scan (or type) a code and Enter; the page comes back with the result and the
    cursor in the input for the next person. A refusal changes nothing.

    The phone's camera scanner (static/js/checkin.js) posts this same form with fetch and asks for
    JSON: the same check, the same service call, the result's markup from the same macro."""
    camp = _session_or_404(session_id)
    form = CheckInForm()
    result = refusal = None
    ticket = ""
    if form.validate_on_submit():
        ticket = _shown_code(form.code.data)
        try:
            result = service.check_in(camp.id, form.code.data, current_user)
            ticket = format_ticket_code(result.registration.ticket_code)
        except DomainError as error:
            refusal = str(error.message)
    elif form.is_submitted():
        refusal = form.code.errors[0] if form.code.errors else _("请求有误，请重新扫码")
    today = result.day if result else service.local_today()
    door = queries.door_day(camp, today)
    if form.is_submitted() and _wants_json():
        return _scan_answer(result, refusal, ticket, door)
    form.code.data = ""  # empty for the next scan
    query = request.values.get("q", "").strip()[:50]
    return render_template(
        "roster/checkin.html", camp=camp, form=form, result=result, refusal=refusal, ticket=ticket,
        door=door, query=query, found=queries.find_confirmed(camp.id, query, today),
    )


def _shown_code(scanned: str) -> str:
    """What a refusal shows as the scanned code: the code, also when a ticket link was scanned;
    nothing for a link that is no ticket's (someone's WeChat QR code)."""
    return format_ticket_code(ticket_code_from_scan(scanned)[:24])


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _scan_answer(result, refusal: str | None, ticket: str, door):
    """The camera scanner's answer: what happened, and the HTML to show (one copy of the markup)."""
    macros = "roster/_checkin.html"
    outcome = "refused" if result is None else "repeat" if result.already else "checked_in"
    return jsonify(
        outcome=outcome,
        name=result.registration.user.display_name if result else None,
        ticket=ticket,
        message=refusal,
        html=str(get_template_attribute(macros, "scan_result")(result, refusal, ticket, door)),
        count=str(get_template_attribute(macros, "door_count")(door)),
    )


@bp.route("/sessions/<int:session_id>/attendance")
def attendance(session_id: int):
    camp = _session_or_404(session_id)
    return render_template("roster/attendance.html", camp=camp, grid=queries.attendance_grid(camp),
                           today=service.local_today())


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
def set_attendance(session_id: int):
    """Tick or untick one cell of the grid (audited by the service)."""
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    # The grid offers this session's confirmed people only; any other id is a tampered request.
    registration = queries.confirmed_registration(session_id, form.registration_id.data)
    if registration is None:
        abort(404)
    try:
        service.set_attendance(registration.id, form.day.data, form.present.data == "1", current_user)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("checkin.attendance", session_id=session_id))
    return redirect(url_for("checkin.attendance", session_id=session_id, _anchor=f"a{registration.id}"))
