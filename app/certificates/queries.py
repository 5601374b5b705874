"""Read queries for the certificate pages: a session's people with their attendance and
certificates, a student's own certificates, a certificate by its public token.

Nothing here writes (certificates change only in app/certificates/service.py). A page's counts
and certificates come from one grouped query each, never one per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.certificates import service
from app.certificates.errors import describe_unprintable
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.pdf import unprintable_fields
from app.extensions import db
from app.roster.models import Attendance
from app.roster.service import session_days


@dataclass(frozen=True)
class CertificateRow:
    """One confirmed registration of a session, as the staff certificates page shows it."""

    registration: Registration
    standing: service.Eligibility
    certificate: Certificate | None

    @property
    def printed_name(self) -> str:
        """The name a certificate issued (or re-issued) now would carry: the service's rule."""
        user = self.registration.user
        return user.name or user.display_name

    @property
    def to_issue(self) -> bool:
        """Qualifies and has no certificate yet, and all of it prints: what 一键颁发 would issue."""
        return self.certificate is None and self.standing.eligible and not self.unprintable

    @cached_property
    def unprintable(self) -> list[tuple[str, list[str]]]:
        """What issuing now would be refused for without a reason: (姓名 / 课程名称 / 地点, the
        characters no PDF font has), the service's check."""
        camp = self.registration.session
        return unprintable_fields(self.printed_name, camp.course.title, camp.city)

    @property
    def unprintable_message(self) -> str:
        return describe_unprintable(self.unprintable)

    @property
    def name_changed(self) -> bool:
        """The person's name was corrected after issuing: the certificate can be re-issued."""
        return self.certificate is not None and self.certificate.name != self.printed_name


@dataclass(frozen=True)
class SessionCertificates:
    camp: CampSession
    days: int  # of the session
    required: int  # days to attend
    rows: list[CertificateRow]

    @property
    def unprintable(self) -> list[CertificateRow]:
        """The rows without a certificate that issuing would refuse for a character no font has."""
        return [row for row in self.rows if row.certificate is None and row.unprintable]

    def count(self, what: str) -> int:
        if what == "to_issue":
            return sum(row.to_issue for row in self.rows)
        if what == "eligible":
            return sum(row.standing.eligible for row in self.rows)
        status = CertificateStatus(what)
        return sum(1 for row in self.rows if row.certificate is not None and row.certificate.status is status)


def attended_counts(camp: CampSession, registration_ids: list[int]) -> dict[int, int]:
    """Days attended within the session's dates, per registration (the service's rule, grouped)."""
    if not registration_ids:
        return {}
    rows = db.session.execute(
        select(Attendance.registration_id, func.count())
        .where(Attendance.registration_id.in_(registration_ids), Attendance.day.in_(session_days(camp)))
        .group_by(Attendance.registration_id)
    )
    return {registration_id: count for registration_id, count in rows}


def certificates_by_registration(registration_ids: list[int]) -> dict[int, Certificate]:
    if not registration_ids:
        return {}
    return {certificate.registration_id: certificate for certificate in db.session.scalars(
        select(Certificate).where(Certificate.registration_id.in_(registration_ids)))}


def valid_certificates_by_registration(registration_ids: list[int]) -> dict[int, Certificate]:
    """For 我的报名: which registrations have a certificate that can be downloaded."""
    return {registration_id: certificate
            for registration_id, certificate in certificates_by_registration(registration_ids).items()
            if certificate.is_valid}


def session_certificates(camp: CampSession) -> SessionCertificates:
    registrations = list(db.session.scalars(
        select(Registration)
        .join(Registration.user)
        .options(contains_eager(Registration.user))
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.created_at, Registration.id)
    ))
    ids = [registration.id for registration in registrations]
    attended, certificates = attended_counts(camp, ids), certificates_by_registration(ids)
    required = service.required_days(camp)
    rows = [CertificateRow(registration, service.Eligibility(attended.get(registration.id, 0), required),
                           certificates.get(registration.id))
            for registration in registrations]
    return SessionCertificates(camp, len(session_days(camp)), required, rows)


def valid_certificates_of_session(session_id: int) -> list[Certificate]:
    return list(db.session.scalars(
        select(Certificate)
        .join(Certificate.registration)
        .where(Registration.session_id == session_id, Certificate.status == CertificateStatus.VALID)
        .order_by(Certificate.serial)
    ))


def certificate_of_user(user_id: int, certificate_id: int) -> Certificate | None:
    """One of this person's certificates (any status); None for anyone else's."""
    return db.session.scalar(
        select(Certificate)
        .join(Certificate.registration)
        .where(Certificate.id == certificate_id, Registration.user_id == user_id)
    )


def certificate_by_token(token: str) -> Certificate | None:
    """The QR code's key only. service.find_for_verification also accepts a serial, which would let
    /verify/<serial> enumerate certificates past the rate limit of the typed-serial form."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.verify_token == token))


def certificate_for_staff(certificate_id: int) -> Certificate:
    return db.get_or_404(Certificate, certificate_id,
                         options=[joinedload(Certificate.registration).joinedload(Registration.user)])
