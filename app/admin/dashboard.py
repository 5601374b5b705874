"""The admin dashboard: sessions, registrations over time, revenue (per day and per session), seats
held for a payment and refunds to do, check-in rates, certificates, content funnel.

One page (GET /admin/) an admin opens every morning, and each chart's numbers as CSV
(/admin/dashboard/<chart>.csv). The figures come from app/admin/dashboard_queries.py (the money
from app/admin/finance_queries.py) and are laid out as tables and chart data by
app/admin/dashboard_charts.py; nothing here counts.
"""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request

from app.accounts.permissions import admin_required
from app.admin import dashboard_charts as charts
from app.admin.dashboard_queries import DAY_RANGES
from app.common.time import utcnow
from app.roster.exports import UTF8_BOM, text_cell

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")


@bp.before_request
@admin_required
def _admin_only() -> None:
    """Every page here is for admins."""


@bp.get("/")
def index():
    now = utcnow()
    days = charts.parse_days(request.args.get("days"))
    dashboard = charts.build_dashboard(now, days)
    chart_data = {key: panel.chart for key, panel in dashboard.panels.items()}
    return render_template("admin/dashboard.html", dashboard=dashboard, chart_data=chart_data, now=now,
                           day_ranges=DAY_RANGES)


@bp.get("/dashboard/<key>.csv")
def download(key: str):
    days = charts.parse_days(request.args.get("days"))
    panel = charts.full_panel(key, utcnow(), days)
    if panel is None:
        abort(404)
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)  # Excel reads a CSV without it as the local code page and garbles Chinese
    writer = csv.writer(buffer)
    writer.writerow(panel.header)
    # Article titles are typed by people: never let a spreadsheet run one as a formula.
    writer.writerows([text_cell(value) for value in row] for row in panel.rows)
    response = Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{panel.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
