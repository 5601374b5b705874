"""Certificate pages.

`bp`: a student's own certificate as a PDF, and the public verification page (the QR code on
the certificate leads there; anyone may type a serial). `staff_bp`: a session's certificates,
issuing (all at once, one by one, or by exception with a reason), revoking, re-issuing, the zip.
Each action calls one function of app/certificates/service.py; a refusal is its Chinese message.
"""
from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.permissions import staff_required
from app.booking.errors import RegistrationNotFound
from app.certificates import documents, queries, serials, service
from app.certificates.errors import NotEligible, ReasonRequired, UnprintableCharacters
from app.certificates.forms import BulkIssueForm, IssueForm, ReissueForm, RevokeForm
from app.common.errors import DomainError
from app.extensions import limiter
from app.roster import queries as roster_queries

bp = Blueprint("certificates", __name__)
staff_bp = Blueprint("certificates_staff", __name__, url_prefix="/staff")
# 我的报名 (a booking page) offers each registration's certificate: certificates, the feature
# above booking, gives it the look-up (one query for the page), so booking never imports certificates.
bp.add_app_template_global(queries.valid_certificates_by_registration, "downloadable_certificates")


@bp.context_processor
def _organisation() -> dict:
    return {"organisation": service.ORGANISATION}


# --- the student's own certificate ----------------------------------------------------------

@bp.route("/me/certificates/<int:certificate_id>")
@login_required
def download(certificate_id: int):
    certificate = queries.certificate_of_user(current_user.id, certificate_id)
    if certificate is None:
        abort(404)  # someone else's certificate does not exist, as far as this person can tell
    if not certificate.is_valid:
        return render_template("certificates/revoked.html", certificate=certificate), 403
    response = send_file(io.BytesIO(documents.pdf_of(certificate)), mimetype="application/pdf",
                         download_name=documents.pdf_file_name(certificate))
    response.headers["Cache-Control"] = "private, no-store"  # a personal document, not for shared caches
    return response


# --- public verification --------------------------------------------------------------------

def _verify_limit() -> str:
    return current_app.config["RATELIMIT_VERIFY"]


def _no_serial_typed() -> bool:
    return not request.args.get("serial", "").strip()


@bp.route("/verify")
@limiter.limit(_verify_limit, exempt_when=_no_serial_typed)  # serials are readable, so guessing them is throttled
def verify():
    serial = request.args.get("serial", "").strip()[:64]
    if not serial:
        return render_template("certificates/verify.html", serial="", certificate=None, searched=False)
    certificate = service.find_for_verification(serial)
    # Shown back as read (XC2025-0002-0017 for "xc 2025 0002 0017"), in the box and the message.
    shown = certificate.serial if certificate else serials.typed_serial(serial).shown
    return (render_template("certificates/verify.html", serial=shown, certificate=certificate, searched=True),
            200 if certificate else 404)


@bp.route("/verify/<token>")
def verify_token(token: str):
    certificate = queries.certificate_by_token(token)
    return (render_template("certificates/verify.html", serial="", certificate=certificate, searched=True,
                            by_token=True),
            200 if certificate else 404)


# --- staff ----------------------------------------------------------------------------------

@staff_bp.before_request
@staff_required
def _staff_only() -> None:
    """Every page here is for staff and admins."""


def _to_session_page(session_id: int, registration_id: int | None = None):
    anchor = f"r{registration_id}" if registration_id else None
    return redirect(url_for("certificates_staff.session", session_id=session_id, _anchor=anchor))


def _wants_json() -> bool:
    """The page's script asks for JSON; a plain form post gets a redirect."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@staff_bp.route("/sessions/<int:session_id>/certificates")
def session(session_id: int):
    camp = roster_queries.session_or_404(session_id)
    return render_template(
        "certificates/session.html",
        camp=camp,
        overview=queries.session_certificates(camp),
        bulk_form=BulkIssueForm(formdata=None),
        issue_form=IssueForm(formdata=None),
        revoke_form=RevokeForm(formdata=None),
        reissue_form=ReissueForm(formdata=None),
    )


@staff_bp.route("/sessions/<int:session_id>/certificates/issue", methods=["POST"])
def issue_all(session_id: int):
    """一键颁发 without JavaScript: the whole session in one request, then a summary."""
    camp = roster_queries.session_or_404(session_id)
    if not BulkIssueForm().validate_on_submit():
        abort(400)
    report = service.issue_for_session(camp.id, current_user)
    if report.issued or report.already:
        flash(_("已颁发 %(issued)s 张结业证书；此前已颁发 %(already)s 张", issued=len(report.issued),
                already=report.already), "success")
    if report.not_eligible:
        flash(_("未满足结业条件（%(n)s 人）：%(names)s", n=len(report.not_eligible),
                names="、".join(report.not_eligible)), "warning")
    if report.unprintable:
        flash(_("证书含有无法打印的字，未颁发（%(n)s 人）：%(names)s", n=len(report.unprintable),
                names="、".join(report.unprintable)), "warning")
    if not (report.issued or report.already or report.not_eligible or report.unprintable):
        flash(_("本场次没有已确认的学员"), "info")
    return _to_session_page(camp.id)


@staff_bp.route("/registrations/<int:registration_id>/certificate", methods=["POST"])
def issue_one(registration_id: int):
    """One registration: the page's script (JSON, one request per person for the progress bar),
    or the form of one row (a reason issues to someone who does not meet the attendance rule)."""
    registration = roster_queries.registration_or_404(registration_id)
    form = IssueForm()
    wants_json = _wants_json()
    if not form.validate_on_submit():
        message = next(iter(form.reason.errors), _("请求有误，请刷新页面后重试"))
        if wants_json:
            return jsonify(code="invalid", message=str(message)), 422
        flash(str(message), "error")
        return _to_session_page(registration.session_id, registration.id)
    had_one = service.certificate_of(registration.id) is not None  # only to word the message
    name = registration.user.display_name
    try:
        certificate = service.issue_certificate(registration.id, current_user, reason=form.reason.data)
    except RegistrationNotFound:
        abort(404)
    except DomainError as error:
        status = 422 if isinstance(error, NotEligible | ReasonRequired | UnprintableCharacters) else 409
        if wants_json:
            return jsonify(code=error.code, message=str(error.message)), status
        flash(str(error.message), "error")
        return _to_session_page(registration.session_id, registration.id)
    if wants_json:
        return jsonify(serial=certificate.serial, status=certificate.status.value,
                       registration_id=registration.id, name=certificate.name)
    if had_one:
        flash(_("%(name)s 已有结业证书：%(serial)s", name=name, serial=certificate.serial), "info")
    else:
        flash(_("已为 %(name)s 颁发结业证书：%(serial)s", name=name, serial=certificate.serial), "success")
    return _to_session_page(registration.session_id, registration.id)


@staff_bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
def revoke(certificate_id: int):
    certificate = queries.certificate_for_staff(certificate_id)
    registration = certificate.registration
    form = RevokeForm()
    if not form.validate_on_submit():
        for message in form.reason.errors or [_("请求有误，请刷新页面后重试")]:
            flash(str(message), "error")
    else:
        try:
            service.revoke_certificate(certificate.id, current_user, form.reason.data)
        except DomainError as error:
            flash(str(error.message), "error")
        else:
            flash(_("已撤销 %(name)s 的结业证书 %(serial)s", name=registration.user.display_name,
                    serial=certificate.serial), "success")
    return _to_session_page(registration.session_id, registration.id)


@staff_bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
def reissue(certificate_id: int):
    """After a name correction: the certificate takes the person's current name, same serial."""
    certificate = queries.certificate_for_staff(certificate_id)
    registration = certificate.registration
    if not ReissueForm().validate_on_submit():
        abort(400)
    try:
        reissued = service.reissue_certificate(certificate.id, current_user)
    except DomainError as error:
        flash(str(error.message), "error")
    else:
        flash(_("已按新姓名重新颁发：%(name)s，编号 %(serial)s 不变", name=reissued.name, serial=reissued.serial),
              "success")
    return _to_session_page(registration.session_id, registration.id)


@staff_bp.route("/sessions/<int:session_id>/certificates.zip")
def session_zip(session_id: int):
    camp = roster_queries.session_or_404(session_id)
    archive, count = documents.zip_of_session(camp.id)
    if not count:
        flash(_("本场次还没有有效的结业证书"), "info")
        return _to_session_page(camp.id)
    return send_file(io.BytesIO(archive), mimetype="application/zip", as_attachment=True,
                     download_name=documents.zip_file_name(camp.id))
