"""Roster exports for staff: CSV, XLSX and a printable sign-in sheet (PDF)."""
from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, Response, abort, request, send_file, stream_with_context

from app.accounts.permissions import staff_required
from app.catalog.models import CampSession
from app.roster import exports
from app.roster.signin_sheet import signin_sheet_pdf

bp = Blueprint("roster_exports", __name__, url_prefix="/staff")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@staff_required
def _staff_only() -> None:
    """Every export is for staff and admins."""


def _session_or_404(session_id: int) -> CampSession:
    camp = exports.session_for_export(session_id)
    if camp is None:
        abort(404)
    return camp


@bp.get("/sessions/<int:session_id>/roster.csv", endpoint="csv")
def roster_csv(session_id: int):
    camp = _session_or_404(session_id)
    status = exports.parse_status(request.args.get("status"))
    # Streamed: the first bytes leave before the last rows are read, and memory stays flat.
    response = Response(stream_with_context(exports.roster_csv(camp, status)), mimetype="text/csv")
    return _download(response, camp, "名单", "roster", "csv")


@bp.get("/sessions/<int:session_id>/roster.xlsx", endpoint="xlsx")
def roster_xlsx(session_id: int):
    camp = _session_or_404(session_id)
    status = exports.parse_status(request.args.get("status"))
    file = exports.roster_xlsx(camp, status)  # a temporary file, closed (and so deleted) after sending
    return _download(send_file(file, mimetype=XLSX_MIMETYPE), camp, "名单", "roster", "xlsx")


@bp.get("/sessions/<int:session_id>/signin.pdf", endpoint="signin_pdf")
def signin_pdf(session_id: int):
    camp = _session_or_404(session_id)
    response = send_file(io.BytesIO(signin_sheet_pdf(camp)), mimetype="application/pdf")
    return _download(response, camp, "签到表", "signin", "pdf")


def _download(response: Response, camp: CampSession, what: str, ascii_what: str, extension: str) -> Response:
    """The file as a download named for the session (名单 / 签到表) and kept by no shared cache."""
    response.headers["Content-Disposition"] = _attachment(
        exports.export_filename(camp, what, extension), f"{ascii_what}-{camp.id}.{extension}")
    # Phone numbers and emails: no shared cache may keep a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _attachment(filename: str, ascii_fallback: str) -> str:
    """Content-Disposition with the Chinese name for current browsers (RFC 6266 filename*) and
    a readable ASCII one for the rest (werkzeug's own fallback strips the Chinese and leaves
    "-12-2026-09-17-.pdf")."""
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename)}"
