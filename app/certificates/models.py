"""A 结业证书: issued to a registration that completed its session, verifiable by anyone."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.booking.models import Registration
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {CertificateStatus.VALID: _("有效"), CertificateStatus.REVOKED: _("已撤销")}[self]


class Certificate(db.Model):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One certificate per registration: issuing again returns it (and a correction re-issues it).
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), unique=True)
    # Readable and unique: XC<year>-<session id>-<number within the session>, e.g. XC2025-0002-0017.
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    # The public verification page's key: unguessable, unlike the serial.
    verify_token: Mapped[str] = mapped_column(String(43), unique=True)
    status: Mapped[CertificateStatus] = mapped_column(
        Enum(CertificateStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s],
             create_constraint=True, name="certificate_status"),
        default=CertificateStatus.VALID,
        server_default=CertificateStatus.VALID.value,
        index=True,  # the dashboard's totals (valid, revoked) become a count of the index alone
    )
    # What the certificate says, as it was when issued (a later profile edit does not change it).
    name: Mapped[str] = mapped_column(String(50))
    course_title: Mapped[str] = mapped_column(String(120))
    start_date: Mapped[date]
    end_date: Mapped[date]
    hours: Mapped[int]
    place: Mapped[str] = mapped_column(String(40), default="", server_default="")
    issued_on: Mapped[date]
    # Set when staff issued it to someone who does not meet the attendance rule.
    manual_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    registration: Mapped[Registration] = relationship()

    @property
    def by_exception(self) -> bool:
        """Issued by hand to someone who did not meet the attendance rule (破例颁发)."""
        return self.manual_reason is not None

    @property
    def is_valid(self) -> bool:
        return self.status is CertificateStatus.VALID
