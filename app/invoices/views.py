"""发票 pages of the requester: ask for an invoice of a registration (or change the request while it
waits), withdraw it, and download the PDF once issued (staff and admins may download it too).

Each action parses its form and calls one function of app/invoices/service.py; a refusal is its
Chinese message, next to the field it names.
"""
from __future__ import annotations

import io
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.booking import groups
from app.booking import service as booking
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.invoices import queries, service
from app.invoices.errors import InvoiceRequestNotFound
from app.invoices.forms import InvoiceRequestForm, WithdrawForm
from app.invoices.models import InvoiceKind, InvoiceRequest, InvoiceStatus
from app.invoices.service import InvoiceDetails
from app.payments import queries as payment_queries

bp = Blueprint("invoices", __name__)
# 我的报名, the receipt, the ticket and the roster (features below this one) show each registration's
# request through these: one query for a page of registrations, and the service's rule for who may ask.
bp.add_app_template_global(queries.requests_by_registration, "invoice_requests_by_registration")
bp.add_app_template_global(lambda registration: service.refusal_of(registration) is None, "can_request_invoice")
# ... and a group's (团体报名), on its pay page and receipt (app/payments/group_views.py).
bp.add_app_template_global(queries.latest_group_request, "invoice_request_of_group")
bp.add_app_template_global(lambda group: service.group_refusal_of(group) is None, "can_request_group_invoice")


def _own_registration(registration_id: int):
    registration = booking.registration_of(current_user.id, registration_id)
    if registration is None:
        abort(404)  # someone else's registration does not exist, as far as this person can tell
    return registration


def _blank_form(latest: InvoiceRequest | None) -> InvoiceRequestForm:
    """The form as first shown: the waiting request's details to change; else those of the last one
    (sent back by staff: only the wrong part needs fixing); else the account's name and email."""
    if latest is not None and latest.status is not InvoiceStatus.ISSUED:
        return InvoiceRequestForm(formdata=None, kind=latest.kind.value, title=latest.title, tax_id=latest.tax_id,
                                  email=latest.email)
    return InvoiceRequestForm(formdata=None, kind=InvoiceKind.PERSONAL.value, title=current_user.name or "",
                              email=current_user.email or "")


@bp.route("/me/registrations/<int:registration_id>/invoice", methods=["GET", "POST"])
@login_required
def request_form(registration_id: int):
    registration = _own_registration(registration_id)
    latest = queries.latest_request(registration.id)
    return _request_page(
        latest, lambda details: service.request_invoice(registration.id, current_user, details),
        url_for("booking.my_registrations", _anchor=f"r{registration.id}"),
        registration=registration, camp=registration.session, group=None, kept=registration.amount_kept,
        refusal=service.refusal_of(registration) if latest is None or not latest.is_open else None)


@bp.route("/me/groups/<int:group_id>/invoice", methods=["GET", "POST"])
@login_required
def request_for_group(group_id: int):
    """团体报名: the group's booker asks for one invoice of what they paid for the group."""
    group = groups.group_of(current_user.id, group_id)
    if group is None:
        abort(404)  # someone else's group does not exist, as far as this person can tell
    latest = queries.latest_group_request(group.id)
    return _request_page(
        latest, lambda details: service.request_group_invoice(group.id, current_user, details),
        url_for("invoices.request_for_group", group_id=group.id),
        registration=None, group=group, camp=group.session, kept=payment_queries.kept_through_group(group.id),
        refusal=service.group_refusal_of(group) if latest is None or not latest.is_open else None)


def _request_page(latest: InvoiceRequest | None, request_new: Callable[[InvoiceDetails], InvoiceRequest],
                  done_url: str, **shown):
    """The request form of a registration's or a group's invoice: a new request (`request_new`), or
    a change of the one staff have not issued yet; back to `done_url` once saved."""
    waiting = latest if latest is not None and latest.status is InvoiceStatus.REQUESTED else None
    form = InvoiceRequestForm() if request.method == "POST" else _blank_form(latest)
    if form.validate_on_submit():
        try:
            if waiting is not None:
                saved = service.change_request(waiting.id, current_user, form.details())
            else:
                saved = request_new(form.details())
        except DomainError as error:
            show_error_on_form(form, error)
        else:
            if waiting is not None:
                flash(_("发票申请已修改"), "success")
            else:
                flash(_("发票申请已提交，开具后会发送到 %(email)s", email=saved.email), "success")
            return redirect(done_url)
    return render_template("invoices/request.html", latest=latest, waiting=waiting, form=form,
                           withdraw_form=WithdrawForm(), **shown)


@bp.post("/me/invoices/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    if not WithdrawForm().validate_on_submit():
        abort(400)
    try:
        withdrawn = service.withdraw_request(request_id, current_user)
    except InvoiceRequestNotFound:
        abort(404)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for("booking.my_registrations"))
    flash(_("发票申请已撤回"), "success")
    if withdrawn.group_booking_id is not None:
        return redirect(url_for("invoices.request_for_group", group_id=withdrawn.group_booking_id))
    return redirect(url_for("booking.my_registrations", _anchor=f"r{withdrawn.registration_id}"))


@bp.get("/invoices/<int:request_id>/pdf")
@login_required
def download(request_id: int):
    try:
        invoice, data = service.downloadable_pdf(request_id, current_user)
    except InvoiceRequestNotFound:
        abort(404)
    response = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=service.pdf_file_name(invoice))
    response.headers["Cache-Control"] = "private, no-store"  # a personal document, not for shared caches
    return response
