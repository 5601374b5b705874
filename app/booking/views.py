"""Booking pages for students: confirm a booking, 我的报名, a ticket, cancel."""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.booking import groups, service
from app.booking.forms import BookingForm, CancelForm
from app.booking.models import RegistrationStatus, waitlist_place_label
from app.booking.tickets import format_ticket_code, ticket_qr_svg
from app.catalog import service as catalog
from app.catalog.availability import session_availability
from app.catalog.errors import SessionNotFound
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.time import utcnow
from app.extensions import limiter
from app.questions import service as questions
from app.questions.answers import InvalidAnswers
from app.questions.forms import answers_from_form
from app.questions.queries import answers_of, questions_for_session

bp = Blueprint("booking", __name__)
# 候补第 N 位 in every template (student, staff and admin pages): one wording, one meaning.
bp.add_app_template_global(waitlist_place_label)

# Where a booking came from: the web page, or an article's booking card ("article:12").
_SOURCE_RE = re.compile(r"^(web|article:\d{1,10})$")


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def _per_user() -> str:
    # Per account, not per address: a whole office or a mobile carrier's NAT shares one IP.
    return f"user:{current_user.id}" if current_user.is_authenticated else (request.remote_addr or "")


@bp.route("/sessions/<int:session_id>/book", methods=["GET", "POST"])
@login_required
@limiter.limit(_booking_limit, methods=["POST"], key_func=_per_user)
def book(session_id: int):
    try:
        camp = catalog.published_session(session_id)
    except SessionNotFound:
        abort(404)
    existing = service.active_registration(current_user.id, camp.id)
    if existing is not None:
        return redirect(url_for("booking.my_registrations", _anchor=f"r{existing.id}"))

    form = BookingForm()
    form.ask_only_for_missing(current_user)
    # The registration questions as sent (re-shown on an error: nothing typed is lost), and their errors.
    answers = answers_from_form(request.form) if request.method == "POST" else {}
    answer_errors: dict[int | str, str] = {}
    if request.method == "GET":
        form.source.data = request.args.get("source", "web")
    if form.validate_on_submit():
        source = form.source.data if _SOURCE_RE.match(form.source.data or "") else "web"
        try:
            outcome = service.complete_profile_and_book(
                current_user, camp.id, name=form.name.data if "name" in form else None,
                phone=form.phone.data if "phone" in form else None, answers=answers, source=source,
            )
        except InvalidAnswers as error:
            answer_errors = error.errors
            flash(str(error.message), "error")
            if error.unstorable:
                g.form_refused_unstorable_input = True  # a NUL: answered 400, as the site's forms do
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            registration = outcome.registration
            if registration.status is RegistrationStatus.PENDING_PAYMENT:
                # The payments feature's page (by endpoint name: booking does not import payments).
                flash(_("名额已为您保留，请在保留时间内完成支付"), "success")
                return redirect(url_for("payments.pay", registration_id=registration.id))
            if registration.status is RegistrationStatus.PENDING_REVIEW:
                flash(_("报名申请已提交，等待审核；审核结果会通过邮件通知您"), "success")
            elif registration.status is RegistrationStatus.CONFIRMED:
                flash(_("预约成功！确认邮件已发送到 %(email)s", email=current_user.email), "success")
            else:
                flash(_("名额已满，您已加入候补：%(place)s", place=waitlist_place_label(outcome.waitlist_position)),
                      "info")
            return redirect(url_for("booking.my_registrations", _anchor=f"r{registration.id}"))
    elif request.method == "POST":
        # 姓名 or 手机号 refused: the answers' errors are shown with theirs, all at once.
        try:
            questions.answers_for_booking(camp.id, answers)
        except InvalidAnswers as error:
            answer_errors = error.errors
    now = utcnow()
    return render_template(
        "booking/book.html", form=form, camp=camp, now=now, offer=session_availability(camp, now),
        waitlist_length=camp.waitlisted_count,
        hold_minutes=(camp.payment_hold_seconds or current_app.config["PAYMENT_HOLD_SECONDS"]) // 60,
        questions=questions_for_session(camp.id), answers=answers, answer_errors=answer_errors,
    )


@bp.route("/me/registrations")
@login_required
def my_registrations():
    registrations = service.registrations_of(current_user.id)
    return render_template(
        "booking/my_registrations.html",
        registrations=registrations,
        positions=service.waitlist_positions(registrations),
        cancel_form=CancelForm(),
        now=utcnow(),
    )


@bp.route("/me/registrations/<int:registration_id>")
@login_required
def ticket(registration_id: int):
    """The student's ticket: shown at the door (QR code or the code itself) for a confirmed seat."""
    registration = service.registration_of(current_user.id, registration_id)
    if registration is None:
        abort(404)  # someone else's registration does not exist, as far as this person can tell
    confirmed = registration.status is RegistrationStatus.CONFIRMED
    return render_template(
        "booking/ticket.html",
        registration=registration,
        camp=registration.session,
        position=service.waitlist_position(registration),
        code=format_ticket_code(registration.ticket_code) if confirmed else "",
        qr_svg=ticket_qr_svg(registration.ticket_code) if confirmed and registration.ticket_code else None,
        answers=answers_of(registration.id),
    )


@bp.route("/me/registrations/<int:registration_id>/cancel", methods=["POST"])
@login_required
def cancel(registration_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outcome = service.cancel_registration(registration_id, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        title = outcome.registration.session.course.title
        if outcome.registration.status is RegistrationStatus.WITHDRAWN:
            flash(_("已撤回报名申请：%(title)s", title=title), "success")
        else:
            flash(_("已取消：%(title)s", title=title), "success")
    return redirect(url_for("booking.my_registrations"))


@bp.route("/me/groups/<int:group_id>")
@login_required
def group_detail(group_id: int):
    """团体报名: the booker's page of one group: its attendees and what each has."""
    group = groups.group_of(current_user.id, group_id)
    if group is None:
        abort(404)  # someone else's group does not exist, as far as this person can tell
    return render_template("booking/group.html", group=group, camp=group.session,
                           positions=service.waitlist_positions(group.registrations), now=utcnow())
