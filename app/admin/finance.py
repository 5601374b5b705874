"""The finance page (GET /admin/finance/): money received and given back between two Shanghai days,
with totals per provider, the refunds still to be done (those the provider refused for good first:
staff send them by hand), and the ledger as CSV or XLSX to reconcile with the providers' statements;
the 发票 requests waiting, and those of the same days as a CSV (and the XLSX's second sheet).

For admins only, as the dashboard: app/accounts/permissions.py has two staff roles, and every page
that looks across the whole site rather than at one session (数据概览, 课程管理 with its prices and
refund policy, 用户管理) is an admin's. Staff handle one registration's money on its roster page.
Nothing here counts or writes: the figures come from app/admin/finance_queries.py.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request, send_file, stream_with_context
from flask_babel import gettext as _

from app.accounts.permissions import admin_required
from app.admin import finance_exports as exports
from app.admin import finance_queries as queries
from app.admin.forms import ledger_range
from app.common.time import utcnow
from app.invoices import queries as invoice_queries
from app.payments.models import PaymentProvider
from app.roster.export_views import XLSX_MIMETYPE
from app.roster.service import local_today

bp = Blueprint("admin_finance", __name__, url_prefix="/admin/finance")

# Rows of each list on the page; the export has every one.
PAGE_ROWS = 100
OPEN_REFUND_ROWS = 200


@bp.before_request
@admin_required
def _admin_only() -> None:
    """Every page here is for admins."""


@bp.get("/")
def index():
    today = local_today()
    chosen = ledger_range(request.args, today)
    totals = queries.ledger_totals(chosen)
    return render_template(
        "admin/finance.html",
        chosen=chosen,
        totals=totals,
        payments=queries.latest_payments(chosen, PAGE_ROWS),
        refunds=queries.latest_refunds(chosen, PAGE_ROWS),
        open_totals=queries.open_refund_totals(),
        open_refunds=queries.open_refunds(OPEN_REFUND_ROWS),
        invoices_waiting=invoice_queries.waiting_count(),
        page_rows=PAGE_ROWS,
        providers=list(PaymentProvider),
        shortcuts=_shortcuts(today),
        now=utcnow(),
    )


def _shortcuts(today) -> list[tuple[str, str, str]]:
    """(label, from, to) of the ranges finance staff ask for most."""
    first_this_month = today.replace(day=1)
    last_month_end = first_this_month - timedelta(days=1)
    return [
        (_("本月"), first_this_month.isoformat(), today.isoformat()),
        (_("上月"), last_month_end.replace(day=1).isoformat(), last_month_end.isoformat()),
        (_("近 30 天"), (today - timedelta(days=29)).isoformat(), today.isoformat()),
        (_("今天"), today.isoformat(), today.isoformat()),
    ]


@bp.get("/ledger.csv", endpoint="csv")
def ledger_csv():
    chosen = ledger_range(request.args, local_today())
    response = Response(stream_with_context(exports.ledger_csv(chosen)), mimetype="text/csv")
    return _download(response, chosen, "csv")


@bp.get("/invoices.csv", endpoint="invoices_csv")
def invoices_csv():
    chosen = ledger_range(request.args, local_today())
    response = Response(stream_with_context(exports.invoices_csv(chosen)), mimetype="text/csv")
    return _download(response, chosen, "csv", "invoices")


@bp.get("/ledger.xlsx", endpoint="xlsx")
def ledger_xlsx():
    chosen = ledger_range(request.args, local_today())
    return _download(send_file(exports.ledger_xlsx(chosen), mimetype=XLSX_MIMETYPE), chosen, "xlsx")


def _download(response: Response, chosen: queries.LedgerRange, extension: str, what: str = "ledger") -> Response:
    filename = exports.export_filename(chosen, extension, what)
    chinese = {"ledger": _("收支明细"), "invoices": _("发票申请")}[what] + "-" + filename.removeprefix(f"{what}-")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(chinese)}"
    # Names, phone numbers and money: no shared cache may keep a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response
