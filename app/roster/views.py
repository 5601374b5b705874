"""Staff pages: sessions at a glance, the roster of a session, a registration and its history.

Each action parses its form, calls one service function (app/booking/service.py or
app/roster/service.py) and redirects; a refusal is the service's own Chinese message.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.booking import service as booking
from app.booking.group_forms import GroupActionForm, attendee_from_form, replace_from_form
from app.booking.models import Registration, RegistrationStatus, waitlist_place_label
from app.booking.tickets import format_ticket_code
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.money import plain_amount
from app.common.time import utcnow
from app.payments import group_orders
from app.questions.answers import InvalidAnswers
from app.questions.forms import answers_from_form
from app.questions.queries import answers_of, questions_for_session
from app.roster import display, queries
from app.roster import service as roster
from app.roster.answers import answer_columns, answer_texts
from app.roster.forms import (
    CancelForm,
    CapacityForm,
    ExistingAccountForm,
    GroupTransferForm,
    MoveForm,
    NewPersonForm,
    PromoteForm,
    RefundByHandForm,
    RefundForm,
    TransferForm,
    page_args,
    roster_filters,
)
from app.roster.payment_queries import RegistrationMoney, registration_money
from app.roster.payment_state import state_of

bp = Blueprint("roster", __name__, url_prefix="/staff")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""


@bp.context_processor
def roster_helpers() -> dict:
    return {
        "source_link": _source_link,
        "status_label": roster.status_label,
        "day_label": display.day_label,
        "session_label": display.session_label,
        "ticket": format_ticket_code,
        "payment_state": state_of,
    }


def _source_link(source: str | None, articles: dict) -> tuple[str, str | None]:
    return display.source_link(source, articles, for_admin=current_user.is_admin)


# --- pages ----------------------------------------------------------------------------------

@bp.route("/sessions/")
def sessions():
    now = utcnow()
    today = roster.local_today(now)
    page, _per_page = page_args(request.args)
    return render_template(
        "roster/sessions.html",
        upcoming=queries.upcoming_sessions(now, today),
        past=queries.past_sessions(now, today, page),
        today=today,
    )


@bp.route("/sessions/<int:session_id>/roster")
def session_roster(session_id: int):
    camp = queries.session_or_404(session_id)
    filters = roster_filters(request.args)
    page, per_page = page_args(request.args)
    today = roster.local_today()
    registrations = queries.roster_page(camp.id, filters, today, page, per_page)
    counts = queries.status_counts(camp.id)
    now = utcnow()
    columns = answer_columns(camp.id)
    return render_template(
        "roster/roster.html",
        answer_columns=columns,
        shown_columns=[column for column in columns if column.question_id in filters.columns],
        answers=answer_texts([r.id for r in registrations.items]) if filters.columns else {},
        camp=camp,
        filters=filters,
        per_page=per_page if "per_page" in request.args else None,
        registrations=registrations,
        counts=counts,
        positions=queries.waitlist_positions(camp.id),
        attendance=queries.attendance_by_registration([r.id for r in registrations.items]),
        articles=queries.source_articles([r.source for r in registrations.items], now),
        waitlist=counts["waitlisted"],
        checked_in_today=queries.checked_in_counts([camp.id], today).get(camp.id, 0),
        days=roster.session_days(camp),
        today=today,
        capacity_form=CapacityForm(formdata=None, capacity=camp.capacity),
        # The money column and filters, for a paid session (or one that was paid once).
        show_money=camp.is_paid or any(counts[name] for name in ("due", "paid", "refunded")),
    )


@bp.route("/registrations/<int:registration_id>")
def registration(registration_id: int):
    return render_registration(queries.registration_or_404(registration_id))


def render_registration(registration: Registration, **forms) -> str:
    """The registration's page; `forms` replaces the page's empty forms with ones sent back with
    their errors (a payment action that was refused shows its reason next to its fields)."""
    entries = queries.audit_entries(registration.id)
    move_form = MoveForm(formdata=None)
    move_form.offer(queries.move_targets(registration, utcnow()), display.move_option_label)
    money = registration_money(registration)
    # 团体报名: the group's money, for staff to record one transfer for all of it (its booker paid once).
    group_money = group_orders.group_money(registration.group) if registration.group_id else None
    page_forms = {"transfer_form": empty_transfer_form(money), "refund_form": RefundForm(formdata=None),
                  "group_transfer_form": empty_group_transfer_form(group_money),
                  "refund_by_hand_form": None, "refund_by_hand_request_id": None, "replacing": None}
    page_forms.update(forms)
    return render_template(
        "roster/registration.html",
        registration=registration,
        camp=registration.session,
        position=booking.waitlist_position(registration),
        attended=queries.attendance_by_registration([registration.id]).get(registration.id, set()),
        days=roster.session_days(registration.session),
        articles=queries.source_articles([registration.source], utcnow()),
        history=display.history_lines(entries, queries.sessions_by_id(display.state_session_ids(entries))),
        answers=answers_of(registration.id),
        cancel_form=CancelForm(formdata=None),
        promote_form=PromoteForm(formdata=None),
        move_form=move_form,
        money=money,
        today=roster.local_today(),
        blank_by_hand=lambda request_id: RefundByHandForm(request_id, formdata=None),
        group_form=GroupActionForm(formdata=None),
        group_questions=questions_for_session(registration.session_id) if registration.group_id else [],
        group_money=group_money,
        group_bank_order=group_orders.bank_order_of_group(registration.group_id) if registration.group_id else None,
        **page_forms,
    )


def empty_transfer_form(money: RegistrationMoney) -> TransferForm:
    """The transfer form as staff first see it: the amount due and today, which is most transfers."""
    due = money.state.amount_due
    return TransferForm(formdata=None, amount=plain_amount(due) if due else "", received_on=roster.local_today())


def empty_group_transfer_form(group_money: group_orders.GroupMoney | None) -> GroupTransferForm | None:
    """The group's transfer form as staff first see it: what the group still owes, and today."""
    if group_money is None:
        return None
    due = group_money.outstanding
    return GroupTransferForm(formdata=None, amount=plain_amount(due) if due else "",
                             received_on=roster.local_today())


# --- actions on a registration --------------------------------------------------------------

def _back_to(registration: Registration):
    return redirect(url_for("roster.registration", registration_id=registration.id))


def _promoted_message(promoted: list[Registration]) -> None:
    if promoted:
        names = "、".join(r.user.display_name for r in promoted)
        flash(_("空出的名额已按候补顺序转正：%(names)s", names=names), "info")


@bp.route("/registrations/<int:registration_id>/cancel", methods=["POST"])
def cancel(registration_id: int):
    registration = queries.registration_or_404(registration_id)
    name = registration.user.display_name
    try:
        outcome = booking.cancel_registration(registration.id, current_user, by_staff=True)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("已取消 %(name)s 的报名", name=name), "success")
        _promoted_message(outcome.promoted)
    return _back_to(registration)


@bp.route("/registrations/<int:registration_id>/promote", methods=["POST"])
def promote(registration_id: int):
    registration = queries.registration_or_404(registration_id)
    name = registration.user.display_name
    try:
        booking.promote_by_hand(registration.id, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("%(name)s 已转正，确认邮件已发出", name=name), "success")
    return _back_to(registration)


@bp.route("/registrations/<int:registration_id>/move", methods=["POST"])
def move(registration_id: int):
    registration = queries.registration_or_404(registration_id)
    form = MoveForm()
    if not form.validate_on_submit():
        flash(_("请选择要调往的场次"), "error")
        return _back_to(registration)
    name = registration.user.display_name
    try:
        outcome = booking.move_registration(registration.id, form.target_session_id.data, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        moved_to = display.session_label(outcome.registration.session)
        flash(_("已将 %(name)s 调至 %(session)s", name=name, session=moved_to), "success")
        _promoted_message(outcome.promoted)
    return _back_to(registration)


@bp.route("/registrations/<int:registration_id>/replace", methods=["POST"])
def replace_attendee(registration_id: int):
    """换人 for a group's attendee (团体报名): staff may at any time."""
    registration = queries.registration_or_404(registration_id)
    block = attendee_from_form(request.form, f"r{registration.id}-")
    former = registration.user.display_name
    replaced = replace_from_form(registration.id, current_user, block, by_staff=True)
    if replaced is None:
        return render_registration(queries.registration_or_404(registration.id), replacing=block)
    flash(_("已换人：%(old)s → %(new)s。新的电子票已生成，原来的票码已失效",
            old=former, new=replaced.user.display_name), "success")
    return _back_to(registration)


# --- actions on a session -------------------------------------------------------------------

@bp.route("/sessions/<int:session_id>/capacity", methods=["POST"])
def capacity(session_id: int):
    camp = queries.session_or_404(session_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        for message in form.capacity.errors:
            flash(str(message), "error")
    else:
        try:
            promoted = booking.change_capacity(camp.id, form.capacity.data, actor=current_user)
        except DomainError as error:
            flash(str(error.message), "error")
        else:
            flash(_("名额已改为 %(n)s", n=form.capacity.data), "success")
            _promoted_message(promoted)
    return redirect(url_for("roster.session_roster", session_id=camp.id))


@bp.route("/sessions/<int:session_id>/add", methods=["GET", "POST"])
def add_person(session_id: int):
    camp = queries.session_or_404(session_id)
    existing_form, new_form = ExistingAccountForm(), NewPersonForm()
    # Two forms on one page: the button pressed says which one was sent.
    form = existing_form if "add_existing" in request.form else new_form if "add_new" in request.form else None
    # The registration questions (optional for staff), each form's own fields: re-shown on an error.
    prefix = "e-" if form is existing_form else "n-"
    answers = answers_from_form(request.form, prefix) if form is not None else {}
    answer_errors: dict[int | str, str] = {}
    if form is not None and form.validate_on_submit():
        try:
            added = roster.add_person(camp.id, current_user, **_person_fields(form), answers=answers)
        except InvalidAnswers as error:
            answer_errors = error.errors
            flash(str(error.message), "error")
            if error.unstorable:
                g.form_refused_unstorable_input = True  # a NUL: answered 400, as the site's forms do
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            registration = added.registration
            if added.existing_account and form is new_form:
                flash(_("手机号 %(phone)s 已有账号（%(name)s），已为该账号报名，未新建账号",
                        phone=registration.user.phone, name=registration.user.display_name), "info")
            _added_message(registration)
            return redirect(url_for("roster.registration", registration_id=registration.id))
    return render_template("roster/add_person.html", camp=camp, existing_form=existing_form, new_form=new_form,
                           active="new" if form is new_form else "existing", questions=questions_for_session(camp.id),
                           answers=answers, answer_errors=answer_errors)


def _person_fields(form: ExistingAccountForm | NewPersonForm) -> dict:
    if isinstance(form, ExistingAccountForm):
        return {"login": form.login.data}
    return {"name": form.name.data, "phone": form.phone.data, "email": form.email.data or None}


def _added_message(registration: Registration) -> None:
    name = registration.user.display_name
    if registration.status is RegistrationStatus.CONFIRMED and not registration.user.email:
        flash(_("已添加 %(name)s，名额已确认（未留邮箱，不发确认邮件）", name=name), "success")
    elif registration.status is RegistrationStatus.CONFIRMED:
        flash(_("已添加 %(name)s，名额已确认，确认邮件已发出", name=name), "success")
    else:
        place = waitlist_place_label(booking.waitlist_position(registration))
        flash(_("场次已满，%(name)s 已加入候补：%(place)s", name=name, place=place), "info")
