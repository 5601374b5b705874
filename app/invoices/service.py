"""发票 requests: the only writer of invoice_requests.

A student asks for an invoice of what they paid for a registration (`request_invoice`), or a
group's booker of what they paid for the group (`request_group_invoice`, 团体报名: the money paid
through the group's orders is invoiced to the booker, never to each attendee); either may change
it (`change_request`) or withdraw it (`withdraw_request`) while it waits; staff issue it with its
PDF (`issue_invoice`), or send it back / void it with a reason (`cancel_by_staff`).

Each is one write transaction that locks the registration's session first
(booking.lock_for_payment), as every payment and refund does, so the amount an invoice carries is
read under the same lock that moves the money: paid less refunded, never a figure a refund is
changing at that moment. Each writes its audit entry and queues its email in that transaction. The
database has the last word on one open request per registration (a partial unique index).

Issued is final. A finance person corrects an invoice by voiding it (红冲) and issuing a new one,
never by editing it; here too: staff void the issued request with a reason (its PDF is kept for the
record) and, if the same details are to be invoiced again (the wrong file was attached, say),
reopen a copy in the same action, to which the right PDF is attached. A replaced PDF would leave
the requester with two versions of "the" invoice and finance with no trace of the first.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.booking import service as booking
from app.booking.errors import RegistrationNotFound
from app.booking.models import GroupBooking, Registration
from app.common.db import write_transaction
from app.common.errors import DomainError
from app.common.time import utcnow
from app.common.urls import absolute_url
from app.extensions import db
from app.invoices import queries, tax_ids
from app.invoices.errors import (
    AlreadyCancelled,
    AlreadyIssued,
    AlreadyRequested,
    FreeRegistration,
    InvalidInvoiceNumber,
    InvalidTaxId,
    InvalidTitle,
    InvoiceRequestNotFound,
    NothingKept,
    NotPaidYet,
    NotRequested,
    PaidByGroup,
    ReasonRequired,
)
from app.invoices.history import invoice_state
from app.invoices.models import InvoiceKind, InvoiceRequest, InvoiceStatus
from app.invoices.pdf import check_pdf, read_upload
from app.mail.service import Attachment, queue_email
from app.payments import queries as payment_queries
from app.payments import service as payments
from app.payments.errors import GroupNotFound

TITLE_MIN, TITLE_MAX = 2, 100  # InvoiceRequest.title; 数电票's buyer name holds 100 characters
REASON_MAX = 200  # InvoiceRequest.cancel_reason
INVOICE_NUMBER_MAX = 32  # InvoiceRequest.invoice_number


@dataclass(frozen=True)
class InvoiceDetails:
    """What the requester fills in."""

    kind: InvoiceKind
    title: str
    tax_id: str
    email: str


def checked_details(details: InvoiceDetails) -> InvoiceDetails:
    """The details as stored: 抬头 trimmed (and otherwise exactly as typed), 税号 normalised for a
    company and dropped for a person; InvalidTitle or InvalidTaxId with the reason otherwise."""
    title = details.title.strip()  # spaces, the ideographic one too; nothing else is changed
    if len(title) < TITLE_MIN:
        raise InvalidTitle(_l("请填写发票抬头：个人填姓名，企业填营业执照上的公司全称"))
    if len(title) > TITLE_MAX:
        raise InvalidTitle(_l("发票抬头最多 %(n)s 个字", n=TITLE_MAX))
    tax_id = ""
    if details.kind is InvoiceKind.COMPANY:
        try:
            tax_id = tax_ids.parse(details.tax_id).value
        except tax_ids.TaxIdRefused as refused:
            raise InvalidTaxId(str(refused)) from None
    return replace(details, title=title, tax_id=tax_id, email=details.email.strip().lower())


def invoiceable_amount(registration: Registration) -> Decimal:
    """What an invoice of this registration is for: the money kept (paid less refunded), less what
    came through a group's order (its booker's to invoice). Refused, with the reason, for a free
    registration, one not paid yet, one whose money all went back, and one paid by its group."""
    refusal = refusal_of(registration)
    if refusal is not None:
        raise refusal
    return _own_kept(registration)


def _own_kept(registration: Registration) -> Decimal:
    if registration.group_id is None or registration.amount_kept <= 0:
        return registration.amount_kept
    return registration.amount_kept - payment_queries.kept_through_groups_of(registration.id)


def refusal_of(registration: Registration) -> DomainError | None:
    """Why this registration cannot ask for an invoice (the pages show it instead of the form)."""
    if registration.amount_kept > 0:
        return PaidByGroup() if _own_kept(registration) <= 0 else None
    if registration.amount_paid > 0:
        return NothingKept()
    if registration.amount_due is None:
        return FreeRegistration()
    return NotPaidYet()


def group_invoiceable_amount(group: GroupBooking) -> Decimal:
    """What an invoice of a group is for: what its booker paid through the group's orders and the
    organisation kept. Refused, with the reason, as for a registration."""
    refusal = group_refusal_of(group)
    if refusal is not None:
        raise refusal
    return payment_queries.kept_through_group(group.id)


def group_refusal_of(group: GroupBooking) -> DomainError | None:
    """Why this group cannot ask for an invoice (its pages show it instead of the form)."""
    if payment_queries.kept_through_group(group.id) > 0:
        return None
    if payment_queries.paid_through_group(group.id):
        return NothingKept()
    if not group.session.is_paid:
        return FreeRegistration()
    return NotPaidYet()


def kept_now(request: InvoiceRequest) -> Decimal:
    """What the request's registration (or group) keeps now, for staff to compare with its amount."""
    if request.group_booking_id is not None:
        return payment_queries.kept_through_group(request.group_booking_id)
    return request.registration.amount_kept


def _amount_of(request: InvoiceRequest) -> Decimal:
    """What the request invoices now (read under its session's lock)."""
    if request.group_booking_id is not None:
        return group_invoiceable_amount(request.group)
    return invoiceable_amount(request.registration)


# --- the requester ----------------------------------------------------------------------------

def request_invoice(registration_id: int, requester: User, details: InvoiceDetails,
                    now: datetime | None = None) -> InvoiceRequest:
    """The requester asks for an invoice of their registration (checked before the write lock)."""
    return _request_invoice(registration_id, requester, checked_details(details), now or utcnow())


@write_transaction
def _request_invoice(registration_id: int, requester: User, details: InvoiceDetails, now: datetime) -> InvoiceRequest:
    registration = _lock_own_registration(registration_id, requester)
    amount = invoiceable_amount(registration)
    if queries.open_request(registration.id) is not None:
        raise AlreadyRequested()
    return _new_request(requester, details, amount, now, registration_id=registration.id)


def request_group_invoice(group_id: int, requester: User, details: InvoiceDetails,
                          now: datetime | None = None) -> InvoiceRequest:
    """The group's booker asks for an invoice of what they paid for the group (checked before the
    write lock); anyone else: GroupNotFound, as if it did not exist."""
    return _request_group_invoice(group_id, requester, checked_details(details), now or utcnow())


@write_transaction
def _request_group_invoice(group_id: int, requester: User, details: InvoiceDetails, now: datetime) -> InvoiceRequest:
    group, _members = payments.lock_group_for_payment(group_id, [])
    if group.booker_id != requester.id:
        raise GroupNotFound()
    amount = group_invoiceable_amount(group)
    if queries.open_group_request(group.id) is not None:
        raise AlreadyRequested()
    return _new_request(requester, details, amount, now, group_booking_id=group.id)


def _new_request(requester: User, details: InvoiceDetails, amount: Decimal, now: datetime,
                 **subject: int) -> InvoiceRequest:
    """The request row of a registration's or a group's invoice (`subject`: registration_id or
    group_booking_id), with its audit entry: a step of the caller's transaction."""
    request = InvoiceRequest(**subject, requester_id=requester.id, kind=details.kind, title=details.title,
                             tax_id=details.tax_id, email=details.email, amount=amount, created_at=now, updated_at=now)
    db.session.add(request)
    db.session.flush()
    _audit(AuditAction.INVOICE_REQUEST, requester, request, None)
    return request


def change_request(request_id: int, requester: User, details: InvoiceDetails,
                   now: datetime | None = None) -> InvoiceRequest:
    """The requester corrects a request staff have not issued yet; the amount is worked out again."""
    return _change_request(request_id, requester, checked_details(details), now or utcnow())


@write_transaction
def _change_request(request_id: int, requester: User, details: InvoiceDetails, now: datetime) -> InvoiceRequest:
    request = _lock_own_request(request_id, requester)
    _refuse_unless_waiting(request)
    amount = _amount_of(request)
    before = invoice_state(request)
    request.kind, request.title, request.tax_id, request.email = (details.kind, details.title, details.tax_id,
                                                                  details.email)
    request.amount = amount
    request.updated_at = now
    db.session.flush()
    _audit(AuditAction.INVOICE_CHANGE, requester, request, before)
    return request


@write_transaction
def withdraw_request(request_id: int, requester: User, now: datetime | None = None) -> InvoiceRequest:
    """The requester no longer wants it (or wants to ask again differently), before it is issued."""
    request = _lock_own_request(request_id, requester)
    _refuse_unless_waiting(request)
    before = invoice_state(request)
    _cancel(request, now or utcnow(), reason="")
    _audit(AuditAction.INVOICE_WITHDRAW, requester, request, before)
    return request


def _lock_own_registration(registration_id: int, requester: User) -> Registration:
    registration, _camp = booking.lock_for_payment(registration_id)
    if registration.user_id != requester.id:
        raise RegistrationNotFound()  # someone else's registration does not exist for them
    return registration


def _lock_own_request(request_id: int, requester: User) -> InvoiceRequest:
    request = _lock_request(request_id)
    if request.requester_id != requester.id:
        raise InvoiceRequestNotFound()
    return request


def _refuse_unless_waiting(request: InvoiceRequest) -> None:
    if request.status is InvoiceStatus.ISSUED:
        raise AlreadyIssued()
    if request.status is InvoiceStatus.CANCELLED:
        raise AlreadyCancelled()


# --- staff ------------------------------------------------------------------------------------

def issue_invoice(request_id: int, upload: FileStorage | None, invoice_number: str, staff: User,
                  now: datetime | None = None) -> InvoiceRequest:
    """Staff issued the invoice on the tax platform and attach its PDF: read and checked first
    (outside the write lock), then the request is issued and its requester emailed the PDF."""
    data = read_upload(upload, current_app.config["INVOICE_PDF_MAX_BYTES"])
    check_pdf(data)
    number = _checked_invoice_number(invoice_number)
    return _issue_invoice(request_id, data, number, staff, now or utcnow())


def _checked_invoice_number(typed: str) -> str:
    """As printed, without the spaces between its groups; full-width digits folded."""
    number = "".join(unicodedata.normalize("NFKC", typed).split())
    if len(number) > INVOICE_NUMBER_MAX:
        raise InvalidInvoiceNumber()
    return number


@write_transaction
def _issue_invoice(request_id: int, data: bytes, invoice_number: str, staff: User, now: datetime) -> InvoiceRequest:
    request = _lock_request(request_id)
    if request.status is not InvoiceStatus.REQUESTED:
        raise NotRequested()
    before = invoice_state(request)
    # A refund since the request changes what is invoiced: what is kept now.
    request.amount = _amount_of(request)
    _store_pdf(request, data)  # first: a flush in between must not write an issued row without it
    request.status = InvoiceStatus.ISSUED
    request.issued_at = request.updated_at = now
    request.issued_by_id = staff.id
    request.invoice_number = invoice_number
    db.session.flush()
    _audit(AuditAction.INVOICE_ISSUE, staff, request, before)
    _email_issued(request, data)
    return request


@dataclass(frozen=True)
class StaffCancellation:
    request: InvoiceRequest  # now cancelled
    reopened: InvoiceRequest | None  # the copy waiting for its PDF, when asked for


def cancel_by_staff(request_id: int, reason: str, staff: User, reopen: bool = False,
                    now: datetime | None = None) -> StaffCancellation:
    """Staff send a waiting request back (the 税号 does not match the company, say) or void an
    issued one (红冲), with a reason the requester reads. `reopen`: a copy with the same details is
    made waiting again in the same transaction (a voided invoice to be issued again)."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    if len(reason) > REASON_MAX:
        raise ReasonRequired(_l("原因最多 %(n)s 个字", n=REASON_MAX))
    return _cancel_by_staff(request_id, reason, staff, reopen, now or utcnow())


@write_transaction
def _cancel_by_staff(request_id: int, reason: str, staff: User, reopen: bool, now: datetime) -> StaffCancellation:
    request = _lock_request(request_id)
    if request.status is InvoiceStatus.CANCELLED:
        raise AlreadyCancelled()
    voiding = request.status is InvoiceStatus.ISSUED
    before = invoice_state(request)
    _cancel(request, now, reason)
    _audit(AuditAction.INVOICE_VOID if voiding else AuditAction.INVOICE_REJECT, staff, request, before, note=reason)
    reopened = None
    if reopen:
        reopened = InvoiceRequest(registration_id=request.registration_id, group_booking_id=request.group_booking_id,
                                  requester_id=request.requester_id, kind=request.kind, title=request.title,
                                  tax_id=request.tax_id, email=request.email, amount=_amount_of(request),
                                  created_at=now, updated_at=now)
        db.session.add(reopened)
        db.session.flush()
        _audit(AuditAction.INVOICE_REQUEST, staff, reopened, None,
               note=_("作废后按原信息重新申请（原申请 #%(id)s）", id=request.id))
    _email_cancelled(request, reason, voided=voiding, reopened=reopened is not None)
    return StaffCancellation(request, reopened)


# --- shared steps -----------------------------------------------------------------------------

def _lock_request(request_id: int) -> InvoiceRequest:
    """The request, its registration's session locked and the request read again under the lock."""
    request = db.session.get(InvoiceRequest, request_id)
    if request is None:
        raise InvoiceRequestNotFound()
    if request.group_booking_id is not None:
        payments.lock_group_for_payment(request.group_booking_id, [])
    else:
        booking.lock_for_payment(request.registration_id)
    db.session.refresh(request)
    return request


def _cancel(request: InvoiceRequest, now: datetime, reason: str) -> None:
    request.status = InvoiceStatus.CANCELLED
    request.cancelled_at = request.updated_at = now
    request.cancel_reason = reason
    db.session.flush()


def _audit(action: AuditAction, actor: User, request: InvoiceRequest, before: dict | None, note: str = "") -> None:
    """On the registration's history (its session and person too), as every change of it is; a
    group's, on its session's and its booker's."""
    registration = request.registration
    if registration is None:
        record(action, actor, session_id=request.group.session_id, account_id=request.requester_id, before=before,
               after=invoice_state(request), note=note or f"团体报名 #{request.group_booking_id}")
        return
    record(action, actor, registration_id=registration.id, session_id=registration.session_id,
           account_id=registration.user_id, before=before, after=invoice_state(request), note=note)


# --- the PDF ----------------------------------------------------------------------------------
# Where an invoice's PDF is kept: these two functions only. In the row (see InvoiceRequest.pdf);
# moving it to object storage later changes them and nothing else.

def _store_pdf(request: InvoiceRequest, data: bytes) -> None:
    request.pdf = data
    request.pdf_size = len(data)


def pdf_of(request: InvoiceRequest) -> bytes | None:
    return request.pdf


def downloadable_pdf(request_id: int, user: User) -> tuple[InvoiceRequest, bytes]:
    """The invoice's PDF for `user`: its requester once issued; staff and admins whenever one was
    attached (a voided one too). InvoiceRequestNotFound for anyone else, as if it did not exist."""
    request = db.session.get(InvoiceRequest, request_id)
    allowed = request is not None and (
        user.is_staff or (request.requester_id == user.id and request.status is InvoiceStatus.ISSUED))
    data = pdf_of(request) if allowed else None
    if data is None:
        raise InvoiceRequestNotFound()
    return request, data


def pdf_file_name(request: InvoiceRequest) -> str:
    """发票-快速玩转小红书成长特训营-报名12.pdf (a group's: 发票-…-团体报名3.pdf)"""
    course = request.session.course.title
    safe = "".join(char for char in course if char.isalnum())[:40]
    if request.group_booking_id is not None:
        return _("发票-%(course)s-团体报名%(id)s.pdf", course=safe, id=request.group_booking_id)
    return _("发票-%(course)s-报名%(id)s.pdf", course=safe, id=request.registration_id)


# --- emails -----------------------------------------------------------------------------------

def _email_issued(request: InvoiceRequest, data: bytes) -> None:
    """To the address the requester gave (often their company's accountant), with the PDF attached:
    whoever reads it may have no account to log in with."""
    course_title = request.session.course.title
    queue_email(request.email, _("发票已开具：%(title)s", title=course_title), "invoice_issued",
                attachments=[Attachment(pdf_file_name(request), "application/pdf", data)],
                name=request.requester.display_name, course_title=course_title,
                kind=request.kind.label, invoice_title=request.title, tax_id=request.tax_id, amount=request.amount,
                invoice_number=request.invoice_number,
                download_url=absolute_url("invoices.download", request_id=request.id))


def _email_cancelled(request: InvoiceRequest, reason: str, voided: bool, reopened: bool) -> None:
    """To the requester's own address: they are the one who can ask again."""
    title = request.session.course.title
    subject = _("发票已作废：%(title)s", title=title) if voided else _("发票申请未通过：%(title)s", title=title)
    queue_email(request.requester.email, subject, "invoice_cancelled", name=request.requester.display_name,
                course_title=title, invoice_title=request.title, reason=reason, voided=voided, reopened=reopened,
                request_url=absolute_url("invoices.request_for_group", group_id=request.group_booking_id)
                if request.group_booking_id is not None
                else absolute_url("invoices.request_form", registration_id=request.registration_id))
