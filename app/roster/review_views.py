"""报名审核 pages of staff: the sessions with applications, one session's review queue (filter,
sort, tick and approve or reject in bulk with a message). For staff and admins, as the roster.

The decisions are app/booking/review.py's: this parses the form and reports what each did.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.booking import review
from app.booking.models import RegistrationStatus
from app.common.errors import DomainError
from app.common.routing import MAX_ID
from app.questions.queries import answers_by_registration
from app.roster import queries, review_queries
from app.roster.forms import ReviewForm

bp = Blueprint("review", __name__, url_prefix="/staff")
MAX_TICKED = review_queries.MAX_APPLICATIONS


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""


@bp.get("/applications/")
def sessions():
    return render_template("roster/review_sessions.html", rows=review_queries.sessions_with_applications())


@bp.get("/sessions/<int:session_id>/applications")
def queue(session_id: int):
    return render_queue(session_id, ReviewForm(formdata=None))


def render_queue(session_id: int, form: ReviewForm):
    camp = queries.session_or_404(session_id)
    status = request.args.get("status", "pending")
    status = status if status in review_queries.REVIEW_FILTERS else "pending"
    newest_first = request.args.get("sort") == "newest"
    applications = review_queries.applications(camp.id, status, newest_first)
    return render_template("roster/review_queue.html", camp=camp, status=status, newest_first=newest_first,
                           applications=applications, counts=review_queries.review_counts(camp.id),
                           reviewers=review_queries.reviewer_names(applications), form=form,
                           answers=answers_by_registration([registration.id for registration in applications]))


def _ticked_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("registration_id")[:MAX_TICKED]:
        if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
            ids.append(int(value))
    return ids


@bp.post("/sessions/<int:session_id>/applications")
def decide(session_id: int):
    camp = queries.session_or_404(session_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return render_queue(camp.id, form)
    ids = review_queries.application_ids_of_session(camp.id, _ticked_ids())
    if not (form.approve.data or form.reject.data):
        flash(_("请选择批量通过或批量拒绝"), "error")
        return render_queue(camp.id, form)
    if not ids:
        flash(_("请先勾选要审核的申请"), "error")
        return render_queue(camp.id, form)
    try:
        decisions = review.decide_applications(ids, current_user, approve=bool(form.approve.data),
                                               message=form.message.data)
    except DomainError as error:
        form.message.errors = [str(error.message)]
        return render_queue(camp.id, form)
    _report(decisions, approved=bool(form.approve.data))
    return redirect(url_for("review.queue", session_id=camp.id, status=request.args.get("status", "pending"),
                            sort=request.args.get("sort") or None))


def _report(decisions: list[review.Decision], approved: bool) -> None:
    done = [d.registration for d in decisions if d.registration is not None]
    skipped = len(decisions) - len(done)
    if approved:
        seated = sum(r.status is RegistrationStatus.CONFIRMED for r in done)
        held = sum(r.status is RegistrationStatus.PENDING_PAYMENT for r in done)
        waiting = sum(r.status is RegistrationStatus.WAITLISTED for r in done)
        flash(_("已通过 %(n)s 份申请：%(seated)s 人已确认，%(held)s 人名额保留待支付，%(waiting)s 人因名额已满进入候补",
                n=len(done), seated=seated, held=held, waiting=waiting), "success")
    else:
        flash(_("已拒绝 %(n)s 份申请，已邮件通知申请人", n=len(done)), "success")
    if skipped:
        flash(_("%(n)s 份申请已被处理过（或已撤回），未改动", n=skipped), "info")
