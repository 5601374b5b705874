"""Booking pages for students: confirm a booking, 我的报名, a ticket, cancel; 团体报名 (book a group,
its page, 换人)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.booking import groups, service
from app.booking.errors import InvalidAttendees, NotEnoughSeats
from app.booking.forms import BookingForm, CancelForm
from app.booking.group_forms import (
    MOST_BLOCKS,
    AttendeeBlock,
    GroupActionForm,
    attendee_from_form,
    blocks_from_form,
    refuse_unstorable,
    replace_from_form,
    show_errors,
)
from app.booking.models import GroupBooking, RegistrationStatus, waitlist_place_label
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


@bp.app_template_global()
def group_pay_url(group: GroupBooking) -> str:
    """The group's pay page (the payments feature's, by endpoint name: booking does not import payments)."""
    return url_for("payments.group_pay", group_id=group.id)

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
        groups=groups.groups_of(current_user.id),
        cancel_form=CancelForm(),
        now=utcnow(),
    )


@bp.route("/me/registrations/<int:registration_id>")
@login_required
def ticket(registration_id: int):
    """The student's ticket: shown at the door (QR code or the code itself) for a confirmed seat."""
    # Their own, or an attendee's of a group they booked (groups.ticket_for has the rule).
    registration = groups.ticket_for(current_user.id, registration_id)
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
        elif outcome.registration.user_id != current_user.id:
            # The booker cancelled one of their group's attendees: back to the group's page.
            flash(_("已取消 %(name)s 的报名：%(title)s", name=outcome.registration.name_for_booker, title=title),
                  "success")
            return redirect(url_for("booking.group_detail", group_id=outcome.registration.group_id))
        else:
            flash(_("已取消：%(title)s", title=title), "success")
    return redirect(url_for("booking.my_registrations"))


# --- 团体报名 -------------------------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/book-group", methods=["GET", "POST"])
@login_required
@limiter.limit(_booking_limit, methods=["POST"], key_func=_per_user)
def book_group(session_id: int):
    """Book N seats for named attendees. Besides 提交, the form's buttons redraw it with what was
    typed (so they work without JavaScript): add an attendee, remove one, fill the first from the
    booker's profile (我本人也参加), keep the first N (when only N seats are left)."""
    try:
        camp = catalog.published_session(session_id)
    except SessionNotFound:
        abort(404)
    form = GroupActionForm()
    most = min(max(camp.max_group_size, 2), MOST_BLOCKS)
    refusal: NotEnoughSeats | None = None
    # A POST without its CSRF token never gets here (CSRFProtect answers it: app/errors/handlers.py).
    if request.method == "GET":
        blocks = [AttendeeBlock(n) for n in range(_group_size_asked(request.args.get("n"), most))]
    else:
        blocks = _redrawn(blocks_from_form(request.form), request.form, most)
        if blocks is None:
            blocks = [block for block in blocks_from_form(request.form) if not block.blank]
            if not refuse_unstorable(blocks):
                source = request.form.get("source", "web")
                try:
                    outcome = groups.book_group(current_user, camp.id, [block.as_input() for block in blocks],
                                                join_waitlist=request.form.get("join_waitlist") == "1",
                                                source=source if _SOURCE_RE.match(source) else "web")
                except InvalidAttendees as error:
                    show_errors(blocks, error.errors)
                    flash(str(error.message), "error")
                except NotEnoughSeats as error:
                    refusal = error
                except DomainError as error:
                    flash(str(error.message), "error")
                else:
                    return _after_group_booking(outcome)
    while len(blocks) < 2:
        blocks.append(AttendeeBlock())
    now = utcnow()
    return render_template(
        "booking/book_group.html", form=form, camp=camp, now=now, offer=session_availability(camp, now),
        blocks=blocks, most=most, refusal=refusal, questions=questions_for_session(camp.id),
        source=request.values.get("source", "web")[:40],
        hold_minutes=(camp.payment_hold_seconds or current_app.config["PAYMENT_HOLD_SECONDS"]) // 60,
    )


def _group_size_asked(raw: str | None, most: int) -> int:
    """?n=: how many blank attendee blocks the form starts with (2 unless asked, at most `most`)."""
    return min(max(int(raw), 2), most) if raw and raw.isascii() and raw.isdigit() and len(raw) < 4 else 2


def _redrawn(blocks: list[AttendeeBlock], sent, most: int) -> list[AttendeeBlock] | None:
    """The blocks after the button pressed, when it only redraws the form; None for 提交."""
    if "add" in sent:
        return blocks + [AttendeeBlock()] if len(blocks) < most else blocks
    if "remove" in sent:
        return [block for block in blocks if str(block.index) != sent.get("remove")]
    if "keep" in sent:
        keep = sent.get("keep", "")
        return blocks[:int(keep)] if keep.isascii() and keep.isdigit() and len(keep) < 4 else blocks
    if "me" in sent:
        me = AttendeeBlock(-1, current_user.name or "", current_user.phone or "", current_user.email or "")
        if blocks and blocks[0].blank:
            blocks[0] = me
        else:
            blocks.insert(0, me)
        return blocks[:most]
    return None


def _after_group_booking(outcome: groups.GroupOutcome):
    group, first = outcome.group, outcome.registrations[0]
    size = len(outcome.registrations)
    if first.status is RegistrationStatus.PENDING_PAYMENT:
        flash(_("已为 %(n)s 位参会人保留名额，请在保留时间内一次支付全部费用", n=size), "success")
        return redirect(group_pay_url(group))
    if outcome.waitlisted:
        place = service.waitlist_position(first)
        flash(_("%(n)s 位参会人已整组加入候补，从%(place)s起；有足够名额空出时一起转正，并邮件通知",
                n=size, place=waitlist_place_label(place)), "info")
    else:
        flash(_("团体报名成功：%(n)s 位参会人的名额已确认，每人一张电子票", n=size), "success")
    return redirect(url_for("booking.group_detail", group_id=group.id))


@bp.route("/me/groups/<int:group_id>")
@login_required
def group_detail(group_id: int):
    """团体报名: the booker's page of one group: its attendees and what each has."""
    group = groups.group_of(current_user.id, group_id)
    if group is None:
        abort(404)  # someone else's group does not exist, as far as this person can tell
    return _render_group(group)


def _render_group(group: GroupBooking, replacing: AttendeeBlock | None = None, replacing_id: int | None = None):
    """The group's page; `replacing`: a 换人 form sent back with its errors (for `replacing_id`)."""
    return render_template("booking/group.html", group=group, camp=group.session,
                           positions=service.waitlist_positions(group.registrations), now=utcnow(),
                           questions=questions_for_session(group.session_id), form=GroupActionForm(formdata=None),
                           cancel_form=CancelForm(formdata=None), replacing=replacing, replacing_id=replacing_id,
                           format_ticket_code=format_ticket_code)


@bp.route("/me/registrations/<int:registration_id>/replace", methods=["POST"])
@login_required
@limiter.limit(_booking_limit, key_func=_per_user)
def replace_attendee(registration_id: int):
    """换人: the group's booker gives an attendee's seat to another person."""
    registration = groups.ticket_for(current_user.id, registration_id)
    group = groups.group_of(current_user.id, registration.group_id) if registration and registration.group_id else None
    if group is None:
        abort(404)  # not an attendee of a group this person booked
    block = attendee_from_form(request.form, f"r{registration_id}-")
    former = registration.name_for_booker
    replaced = replace_from_form(registration_id, current_user, block)
    if replaced is None:
        return _render_group(group, block, registration_id)
    flash(_("已换人：%(old)s → %(new)s。新的电子票已生成，原来的票码已失效",
            old=former, new=replaced.name_for_booker), "success")
    return redirect(url_for("booking.group_detail", group_id=group.id, _anchor=f"r{registration_id}"))
