"""Builders shared by the certificate page tests: a finished cohort (from the service tests),
certificates issued through the service, and a client logged in as one of the cohort."""
from __future__ import annotations

import io

from pypdf import PdfReader

from app.accounts.models import User
from app.booking.models import Registration
from app.certificates import service as certificates
from app.extensions import db
from tests.factories import PASSWORD
from tests.helpers import login
from tests.test_certificates_service import AFTER, DAYS, attend, finished_cohort

__all__ = ["AFTER", "DAYS", "attend", "finished_cohort", "issue", "person_of", "client_of", "revoke",
           "pdf_text", "cohort"]


def cohort(app, staff_id: int, people: int, attending: int | None = None) -> tuple[int, list[int]]:
    """A finished 3-day session; the first `attending` people (default all) came every day."""
    session_id, registrations = finished_cohort(app, people)
    for registration_id in registrations[: people if attending is None else attending]:
        attend(app, registration_id, DAYS, staff_id)
    return session_id, registrations


def issue(app, registration_id: int, staff_id: int, reason: str | None = None) -> int:
    with app.app_context():
        certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff_id), reason=reason,
                                                     now=AFTER)
        certificate_id = certificate.id
        db.session.remove()
    return certificate_id


def revoke(app, certificate_id: int, staff_id: int, reason: str = "代签到") -> None:
    with app.app_context():
        certificates.revoke_certificate(certificate_id, db.session.get(User, staff_id), reason)
        db.session.remove()


def person_of(app, registration_id: int) -> dict:
    """The registration's student: name, email, phone, id."""
    with app.app_context():
        user = db.session.get(Registration, registration_id).user
        found = {"id": user.id, "name": user.name, "email": user.email, "phone": user.phone}
        db.session.remove()
    return found


def client_of(app, registration_id: int):
    """A client logged in as the student of this registration."""
    client = app.test_client()
    response = login(client, person_of(app, registration_id)["email"], PASSWORD)
    assert response.status_code == 302
    return client


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text().replace("\n", "")
