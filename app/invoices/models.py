"""A 发票 request: a student asks for an invoice of the money they paid for a registration (or a
group's booker, of what they paid for the group); staff issue it on the tax platform and attach its
PDF here, which the requester downloads.

The request carries everything the invoice needs as it was asked for (who asked, the kind, 抬头,
税号, the email it goes to, the amount), so nothing about it is derived from the registration
afterwards. That is what lets a request belong to something else: a group booking's request names
its group instead of a registration (a nullable `group_booking_id` beside a nullable
`registration_id`, a CHECK that exactly one is set, and the same partial unique index on the new
column); the requester (the group's booker), the access rule (the requester, staff and admins) and
the money snapshot stay as they are.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, LargeBinary, Numeric, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class InvoiceKind(enum.StrEnum):
    PERSONAL = "personal"  # 个人: a person's name as the 抬头, no tax id
    COMPANY = "company"  # 企业: the company's registered name and its tax id

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {InvoiceKind.PERSONAL: _("个人"), InvoiceKind.COMPANY: _("企业")}[self]


class InvoiceStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for staff; the requester may still change or withdraw it
    ISSUED = "issued"  # staff attached the invoice's PDF: final
    CANCELLED = "cancelled"  # withdrawn by the requester, sent back by staff, or voided (红冲) after issue


def _enum(kind, name: str) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members],
                create_constraint=True, name=name)


# A registration has at most one of these at a time: asking again changes the waiting one, and a
# second invoice for the same money needs the issued one voided first.
OPEN_STATUSES = (InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED)
_OPEN_SQL = "status IN ('requested', 'issued')"


class InvoiceRequest(db.Model):
    """Written only by app/invoices/service.py."""

    __tablename__ = "invoice_requests"
    __table_args__ = (
        # One open request per registration, even when two tabs submit at once.
        Index("uq_invoice_requests_open_registration", "registration_id", unique=True,
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
        # ... and per group (团体报名).
        Index("uq_invoice_requests_open_group", "group_booking_id", unique=True,
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
        # Of one registration or of one group, never both, never neither.
        CheckConstraint("(registration_id IS NULL) <> (group_booking_id IS NULL)", name="registration_or_group"),
        Index("ix_invoice_requests_status_created", "status", "created_at"),
        # The finance export's range: requests asked for, or issued, between two days.
        Index("ix_invoice_requests_created_at", "created_at"),
        Index("ix_invoice_requests_issued_at", "issued_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # A company's invoice names its tax id; a person's has none.
        CheckConstraint("(kind = 'company') = (tax_id <> '')", name="tax_id_iff_company"),
        # An issued invoice has its PDF and its time.
        CheckConstraint("status <> 'issued' OR (pdf IS NOT NULL AND issued_at IS NOT NULL)", name="issued_has_pdf"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="RESTRICT"),
                                                        index=True)
    # 团体报名: the group whose payment it invoices, instead of a registration.
    group_booking_id: Mapped[int | None] = mapped_column(ForeignKey("group_bookings.id", ondelete="RESTRICT"),
                                                         index=True)
    # Who asked, and who may see and download it (with staff and admins): the registration's
    # person, or the group's booker.
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[InvoiceKind] = mapped_column(_enum(InvoiceKind, "invoice_kind"))
    # 抬头 exactly as typed (only the surrounding spaces trimmed): the tax platform matches the
    # company's registered name character for character, rare characters included.
    title: Mapped[str] = mapped_column(String(100))
    # 税号: normalised (app/invoices/tax_ids.py); "" for a person.
    tax_id: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # Where the invoice is sent (the account's email unless the requester gave another, often
    # their company's accountant's).
    email: Mapped[str] = mapped_column(String(254))
    # The money kept (paid less refunded) when asked, or when issued if a refund came in between.
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus, "invoice_status"),
                                                  default=InvoiceStatus.REQUESTED,
                                                  server_default=InvoiceStatus.REQUESTED.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # 发票号码 as printed on it (数电票: 20 digits), typed by staff when they attach the PDF; optional.
    invoice_number: Mapped[str] = mapped_column(String(32), default="", server_default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why staff sent it back or voided it (the requester reads it); "" when the requester withdrew it.
    cancel_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The invoice itself. In the database rather than in a folder: an invoice PDF is small (the cap
    # is INVOICE_PDF_MAX_BYTES, 2 MB), and a column keeps the app's instances stateless and the PDF
    # in the same transaction and backup as the row that says it was issued. Deferred: lists never
    # load it. Read and written only by service.pdf_of / service._store_pdf.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_size: Mapped[int | None]

    registration: Mapped[Registration | None] = relationship()
    group: Mapped[GroupBooking | None] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])

    @property
    def session(self):
        """The camp session it invoices (its registration's, or its group's)."""
        return self.group.session if self.group_booking_id is not None else self.registration.session

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def voided(self) -> bool:
        """Cancelled after it was issued (作废 / 红冲): its PDF is kept for the record."""
        return self.status is InvoiceStatus.CANCELLED and self.issued_at is not None

    @property
    def status_label(self) -> str:
        return status_label(self.status, self.issued_at)


def status_label(status: InvoiceStatus, issued_at: datetime | None) -> str:
    """A request's status as every page, email and export names it: a cancelled one that had been
    issued is 已作废 (voided), not merely 已取消."""
    from flask_babel import gettext as _

    if status is InvoiceStatus.CANCELLED and issued_at is not None:
        return _("已作废")
    return {InvoiceStatus.REQUESTED: _("待开票"), InvoiceStatus.ISSUED: _("已开票"),
            InvoiceStatus.CANCELLED: _("已取消")}[status]
