"""Issuing, re-issuing and revoking certificates; who qualifies. Each action is one transaction."""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking.errors import RegistrationNotFound
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.certificates import serials
from app.certificates.errors import (
    AlreadyRevoked,
    CertificateNotFound,
    NotConfirmed,
    NotEligible,
    ReasonRequired,
    UnprintableCharacters,
)
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.pdf import unprintable_fields
from app.common.db import write_transaction
from app.common.time import site_zone, utcnow
from app.common.urls import absolute_url
from app.extensions import db
from app.mail.service import queue_email
from app.roster.models import Attendance
from app.roster.service import session_days

ORGANISATION = "玺承集团"


# --- who qualifies --------------------------------------------------------------------------

def required_days(camp: CampSession) -> int:
    """The course's minimum, else every day of the session (never more days than it has)."""
    days = len(session_days(camp))
    minimum = camp.course.min_attendance_days
    return min(minimum, days) if minimum else days


def fewer_days_required(camp: CampSession) -> bool:
    """True when the course lets people qualify without attending every day of the session."""
    return required_days(camp) < len(session_days(camp))


def attended_days(registration: Registration) -> int:
    days = session_days(registration.session)
    return db.session.scalar(select(func.count()).where(
        Attendance.registration_id == registration.id, Attendance.day.in_(days)))


@dataclass(frozen=True)
class Eligibility:
    attended: int
    required: int

    @property
    def eligible(self) -> bool:
        return self.attended >= self.required


def eligibility(registration: Registration) -> Eligibility:
    return Eligibility(attended_days(registration), required_days(registration.session))


# --- finding ---------------------------------------------------------------------------------

def certificate_of(registration_id: int) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.registration_id == registration_id))


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # secrets.token_urlsafe's alphabet


def find_for_verification(key: str) -> Certificate | None:
    """By the serial someone typed (any case, spaces, dashes or none, full-width characters:
    serials.typed_serial), or by the QR code's token pasted into the same box."""
    key = (key or "").strip()
    candidates = serials.typed_serial(key).candidates
    matches = [Certificate.serial.in_(candidates)] if candidates else []
    if _TOKEN.fullmatch(key):  # a token is case-sensitive: compared as typed
        matches.append(Certificate.verify_token == key)
    if not matches:
        return None
    return db.session.scalar(select(Certificate).where(or_(*matches)).order_by(Certificate.id).limit(1))


def verify_url(certificate: Certificate) -> str:
    return absolute_url("certificates.verify_token", token=certificate.verify_token)


def download_url(certificate: Certificate) -> str:
    return absolute_url("certificates.download", certificate_id=certificate.id)


# --- what staff do ---------------------------------------------------------------------------

def _next_serial(camp: CampSession) -> str:
    sessions = CampSession.__table__
    number = db.session.connection().execute(
        update(sessions).where(sessions.c.id == camp.id)
        .values(certificates_issued=sessions.c.certificates_issued + 1)
        .returning(sessions.c.certificates_issued)
    ).scalar_one()
    _first, last = camp.local_dates()
    return serials.format_serial(last.year, camp.id, number)


def issue_certificate(registration_id: int, actor: User | None, reason: str | None = None,
                      now: datetime | None = None) -> Certificate:
    """Issue the certificate of a registration that completed its session, or, with a reason,
    to one that did not. Issuing again returns the certificate already there."""
    return _issue(registration_id, actor, reason, now)[0]


@write_transaction
def _issue(registration_id: int, actor: User | None, reason: str | None,
           now: datetime | None) -> tuple[Certificate, bool]:
    """The certificate, and whether this call created it (False: it was there already)."""
    now = now or utcnow()
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    camp = catalog.lock_session(registration.session_id)  # serial numbers are drawn one at a time
    existing = certificate_of(registration_id)
    if existing is not None:
        return existing, False
    if registration.status is not RegistrationStatus.CONFIRMED:
        raise NotConfirmed()
    reason = (reason or "").strip() or None
    standing = eligibility(registration)
    if not standing.eligible and reason is None:
        raise NotEligible(standing.attended, standing.required)
    name = registration.user.name or registration.user.display_name
    # What the PDF would print blank or as a box: refused, unless staff give a reason (then the
    # character is written by hand on the printed sheet, say); the reason is kept as for attendance.
    unprintable = unprintable_fields(name, camp.course.title, camp.city)
    if unprintable and reason is None:
        raise UnprintableCharacters(unprintable)
    first, last = camp.local_dates()
    certificate = Certificate(
        registration_id=registration.id,
        serial=_next_serial(camp),
        verify_token=secrets.token_urlsafe(24),
        name=name,
        course_title=camp.course.title,
        start_date=first,
        end_date=last,
        hours=camp.course.hours_of_study,
        place=camp.city,
        issued_on=now.astimezone(site_zone()).date(),
        manual_reason=None if standing.eligible and not unprintable else reason[:200],
        issued_by_id=actor.id if actor else None,
    )
    db.session.add(certificate)
    db.session.flush()
    after = {"serial": certificate.serial, "name": certificate.name}
    if unprintable:
        after["unprintable"] = [f"U+{ord(char):04X}" for _what, chars in unprintable for char in chars]
    record(AuditAction.CERTIFICATE_ISSUE, actor, registration_id=registration.id, session_id=camp.id,
           account_id=registration.user_id, after=after, note=certificate.manual_reason or "")
    queue_email(
        to=registration.user.email,
        subject=_("结业证书已颁发：%(title)s", title=camp.course.title),
        template="certificate_issued",
        name=certificate.name,
        course_title=certificate.course_title,
        serial=certificate.serial,
        by_exception=certificate.by_exception,
        fewer_days_required=fewer_days_required(camp),
        download_url=download_url(certificate),
        verify_url=verify_url(certificate),
    )
    return certificate, True


@dataclass
class BulkReport:
    issued: list[str] = field(default_factory=list)  # serials
    already: int = 0
    not_eligible: list[str] = field(default_factory=list)  # names, for staff to look at
    unprintable: list[str] = field(default_factory=list)  # names: a character no font has, see UnprintableCharacters


def issue_for_session(session_id: int, actor: User | None,
                      progress: Callable[[int, int], None] | None = None) -> BulkReport:
    """Issue to every confirmed registration of the session that qualifies, one transaction each
    (so progress is visible and one problem does not undo the rest). `progress(done, total)`."""
    registration_ids = list(db.session.scalars(
        select(Registration.id).where(Registration.session_id == session_id,
                                      Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)))
    report = BulkReport()
    for done, registration_id in enumerate(registration_ids, start=1):
        try:
            certificate, created = _issue(registration_id, actor, None, None)
        except NotEligible:
            report.not_eligible.append(db.session.get(Registration, registration_id).user.display_name)
        except UnprintableCharacters:
            report.unprintable.append(db.session.get(Registration, registration_id).user.display_name)
        else:
            if created:
                report.issued.append(certificate.serial)
            else:
                report.already += 1
        if progress:
            progress(done, len(registration_ids))
    return report


@write_transaction
def revoke_certificate(certificate_id: int, actor: User, reason: str, now: datetime | None = None) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise CertificateNotFound()
    if certificate.status is CertificateStatus.REVOKED:
        raise AlreadyRevoked()
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_reason = reason[:200]
    certificate.revoked_at = now or utcnow()
    registration = certificate.registration
    record(AuditAction.CERTIFICATE_REVOKE, actor, registration_id=registration.id, session_id=registration.session_id,
           account_id=registration.user_id, before={"status": "valid"}, after={"status": "revoked"}, note=reason)
    return certificate


@write_transaction
def reissue_certificate(certificate_id: int, actor: User) -> Certificate:
    """After a name correction: the certificate takes the current name, keeps its serial, and the
    change is recorded."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise CertificateNotFound()
    before = {"name": certificate.name}
    name = certificate.registration.user.name or certificate.name
    # Only characters new to the name: those the certificate already had were let through with a reason.
    printed = set(certificate.name)
    unprintable = [(what, [char for char in chars if char not in printed])
                   for what, chars in unprintable_fields(name, "", "")]
    unprintable = [(what, chars) for what, chars in unprintable if chars]
    if unprintable:
        raise UnprintableCharacters(unprintable, can_override=False)
    certificate.name = name
    registration = certificate.registration
    record(AuditAction.CERTIFICATE_REISSUE, actor, registration_id=registration.id,
           session_id=registration.session_id, account_id=registration.user_id, before=before,
           after={"name": certificate.name, "serial": certificate.serial})
    return certificate
