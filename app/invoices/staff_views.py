"""发票 pages of staff: the requests (by status, session, or a 抬头 / 税号 / name searched), one
request with its registration's money, issuing it with its PDF, sending it back or voiding it.

For staff and admins, as the roster's pages: staff handle a registration's money on its page, and
an invoice is part of it. Each action parses its form and calls one function of
app/invoices/service.py; a refusal is shown next to the form's fields, in the service's words.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.permissions import staff_required
from app.common.errors import DomainError
from app.common.forms import show_error_on_form
from app.common.pagination import id_arg, page_number
from app.invoices import queries, service, tax_ids
from app.invoices.errors import InvoiceRequestNotFound
from app.invoices.forms import IssueForm, StaffCancelForm
from app.invoices.models import InvoiceRequest
from app.invoices.queries import STATUS_FILTERS, InvoiceFilters

bp = Blueprint("invoices_staff", __name__, url_prefix="/staff/invoices")
bp.add_app_template_global(tax_ids.is_legacy, "is_legacy_tax_id")
bp.add_app_template_global(service.kept_now, "invoice_kept_now")


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""


def _filters() -> InvoiceFilters:
    status = request.args.get("status", "requested")
    return InvoiceFilters(status=status if status in STATUS_FILTERS else "requested",
                          session_id=id_arg(request.args, "session"),
                          q=request.args.get("q", "")[:100])


@bp.get("/")
def index():
    filters = _filters()
    return render_template("invoices/staff_list.html", filters=filters,
                           invoices=queries.staff_page(filters, page_number(request.args)),
                           counts=queries.status_counts(filters), sessions=queries.sessions_with_requests())


def _request_or_404(request_id: int) -> InvoiceRequest:
    invoice = queries.request_with_registration(request_id)
    if invoice is None:
        abort(404)
    return invoice


@bp.get("/<int:request_id>")
def detail(request_id: int):
    return render_detail(_request_or_404(request_id))


def render_detail(invoice: InvoiceRequest, **forms) -> str:
    """The request's page; `forms` replaces its empty forms with ones sent back with their errors."""
    page_forms = {"issue_form": IssueForm(formdata=None), "cancel_form": StaffCancelForm(formdata=None)}
    page_forms.update(forms)
    return render_template("invoices/staff_detail.html", invoice=invoice, registration=invoice.registration,
                           camp=invoice.session, kept_now=service.kept_now(invoice),
                           others=[other for other in queries.requests_of_same_subject(invoice)
                                   if other.id != invoice.id],
                           **page_forms)


@bp.post("/<int:request_id>/issue")
def issue(request_id: int):
    invoice = _request_or_404(request_id)
    form = IssueForm()
    if not form.validate_on_submit():
        return render_detail(invoice, issue_form=form)
    try:
        issued = service.issue_invoice(invoice.id, form.pdf.data, form.invoice_number.data or "", current_user)
    except InvoiceRequestNotFound:
        abort(404)
    except DomainError as error:
        show_error_on_form(form, error)
        return render_detail(invoice, issue_form=form)
    flash(_("已标记为已开票，发票已发送到 %(email)s", email=issued.email), "success")
    return redirect(url_for("invoices_staff.detail", request_id=issued.id))


@bp.post("/<int:request_id>/cancel")
def cancel(request_id: int):
    invoice = _request_or_404(request_id)
    form = StaffCancelForm()
    if not form.validate_on_submit():
        return render_detail(invoice, cancel_form=form)
    try:
        outcome = service.cancel_by_staff(invoice.id, form.reason.data or "", current_user,
                                          reopen=bool(form.reopen.data))
    except InvoiceRequestNotFound:
        abort(404)
    except DomainError as error:
        show_error_on_form(form, error)
        return render_detail(invoice, cancel_form=form)
    if outcome.reopened is not None:
        flash(_("原发票已作废，已按原信息重新生成待开票申请，请上传正确的发票 PDF"), "success")
        return redirect(url_for("invoices_staff.detail", request_id=outcome.reopened.id))
    flash(_("已作废，已通知申请人") if outcome.request.voided else _("已退回申请，已通知申请人"), "success")
    return redirect(url_for("invoices_staff.detail", request_id=outcome.request.id))
