"""A certificate as a document: its PDF, its file names, and a session's certificates as one zip.

The PDF is drawn from the certificate's snapshot (app/certificates/pdf.py draws it), never from
the live profile, so the download says exactly what the verification page says.
"""
from __future__ import annotations

import io
import re
import zipfile

from flask_babel import gettext as _

from app.certificates import queries, service
from app.certificates.models import Certificate
from app.certificates.pdf import CertificateContent, render_certificate

# Characters that break a file name on some system (path separators, Windows' reserved ones,
# control characters); a student's name is otherwise kept as typed, Chinese included.
_UNSAFE_IN_FILE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def content_of(certificate: Certificate) -> CertificateContent:
    return CertificateContent(
        organisation=service.ORGANISATION,
        name=certificate.name,
        course_title=certificate.course_title,
        start_date=certificate.start_date,
        end_date=certificate.end_date,
        hours=certificate.hours,
        place=certificate.place,
        issued_on=certificate.issued_on,
        serial=certificate.serial,
        verify_url=service.verify_url(certificate),
        by_exception=certificate.by_exception,
        fewer_days_required=service.fewer_days_required(certificate.registration.session),
    )


def pdf_of(certificate: Certificate) -> bytes:
    return render_certificate(content_of(certificate))


def safe_file_part(text: str) -> str:
    return _UNSAFE_IN_FILE_NAME.sub("_", text).strip(" ._") or "_"


def pdf_file_name(certificate: Certificate) -> str:
    """结业证书-XC2025-0002-0017.pdf: the serial, which stays the same after a re-issue."""
    return _("结业证书-%(serial)s.pdf", serial=certificate.serial)


def zip_member_name(certificate: Certificate) -> str:
    """XC2025-0002-0017-张喆.pdf: sorted by serial, recognisable by name."""
    return f"{certificate.serial}-{safe_file_part(certificate.name)}.pdf"


def zip_file_name(session_id: int) -> str:
    return _("结业证书-场次%(id)s.zip", id=f"{session_id:04d}")


def zip_of_session(session_id: int) -> tuple[bytes, int]:
    """Every VALID certificate of the session as one PDF each, in a zip; and how many there are.
    Revoked certificates are left out: the zip is for printing and handing out."""
    certificates = queries.valid_certificates_of_session(session_id)
    buffer = io.BytesIO()
    # Stored, not deflated: the PDFs are compressed already, deflating again only costs time.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for certificate in certificates:
            archive.writestr(zip_member_name(certificate), pdf_of(certificate))
    return buffer.getvalue(), len(certificates)
