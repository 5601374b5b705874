"""The emails about a registration: booked, waitlisted, promoted, moved, cancelled, reminded.

The booking service queues them by template name and registration id (`queue_registration_email`,
one INSERT in its transaction; a new booking's row is built by the same `registration_email`,
in SQL on PostgreSQL); the outbox sender composes them when it takes them
(`compose_registration_email`), reading the registration, its session and its person then. So a
booking in a rush renders nothing while it holds the session's lock, and an email shows the
session as it is when sent (a venue corrected a minute later is the one the student reads).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from app.booking.calendar import registration_ics
from app.booking.models import Registration, RegistrationStatus
from app.booking.tickets import format_ticket_code, ticket_qr_png, ticket_url
from app.catalog.models import CampSession
from app.common.sql import constant
from app.common.time import utcnow
from app.common.urls import absolute_url
from app.extensions import db
from app.mail.service import (
    Attachment,
    ComposedEmail,
    composer,
    queue_message,
    render_email,
    templated_message,
)


@dataclass(frozen=True)
class _Email:
    label: str  # what the admin's outbox calls the message until it is composed
    subject: Callable[[str], str]  # from the course title
    with_ticket: bool  # a confirmed seat's: ticket code and link, calendar entry and door QR code
    # Only for a seat still confirmed when sent: a reminder of a registration cancelled since it was
    # queued must not tell its person to come (the message fails, saying why, and is not retried).
    confirmed_only: bool = False


# Template name (templates/mail/<name>.txt) -> what the email is.
_EMAILS = {
    "booking_confirmed": _Email(_l("报名成功通知"), lambda title: _("报名成功：%(title)s", title=title), True),
    "booking_waitlisted": _Email(_l("候补通知"), lambda title: _("已加入候补：%(title)s", title=title), False),
    "booking_promoted": _Email(_l("候补转正通知"), lambda title: _("候补成功：您已获得正式名额"), True),
    "booking_moved": _Email(_l("调整场次通知"), lambda title: _("报名场次已调整：%(title)s", title=title), True),
    "booking_cancelled": _Email(_l("取消报名通知"), lambda title: _("报名已取消：%(title)s", title=title), False),
    # Paid sessions: a seat held for payment, a seat offered from the waiting list, a hold or offer
    # that ran out unpaid.
    "booking_held": _Email(_l("待支付通知"), lambda title: _("名额已为您保留，请尽快支付：%(title)s", title=title),
                           False),
    "booking_offered": _Email(_l("候补名额通知"),
                              lambda title: _("候补到名额了，请在期限内支付：%(title)s", title=title), False),
    "booking_paid": _Email(_l("支付成功通知"), lambda title: _("支付成功，报名已确认：%(title)s", title=title), True),
    "booking_expired": _Email(_l("名额过期通知"), lambda title: _("未在期限内支付，名额已释放：%(title)s", title=title),
                              False),
    # 报名审核 (review.py): an application received; approved (the body says what it got: a seat
    # with its ticket, a seat held for payment, or a place in the queue); rejected, with staff's message.
    "application_received": _Email(_l("报名申请已收到"), lambda title: _("已收到报名申请：%(title)s", title=title),
                                    False),
    "application_approved": _Email(_l("报名审核通过"), lambda title: _("报名审核通过：%(title)s", title=title), True),
    "application_rejected": _Email(_l("报名审核未通过"), lambda title: _("报名审核未通过：%(title)s", title=title),
                                   False),
    # 团体报名 (groups.py): to the booker, the group booked (its attendees, what each got, the one
    # payment for all); to an attendee replaced by another (换人), that their seat went to someone else.
    "group_booked": _Email(_l("团体报名通知"), lambda title: _("团体报名已提交：%(title)s", title=title), False),
    "attendee_replaced": _Email(_l("换人通知"), lambda title: _("您的报名名额已转给他人：%(title)s", title=title),
                                False),
    # The day before the session (reminders.py).
    "booking_reminder": _Email(_l("开课提醒"), lambda title: _("开课提醒：%(title)s", title=title), True,
                               confirmed_only=True),
}


# Why a waiting person got a seat, as the promoted email says it (`promotion_reason` in the
# queued context): the sender composes later and could not tell a cancellation from a raised
# capacity by then. A message queued before reasons existed has none: the email stays neutral.
PROMOTED_BY_CANCELLATION = "cancellation"  # a confirmed person cancelled
PROMOTED_BY_MOVE = "move"  # a confirmed person was moved to another session
PROMOTED_BY_CAPACITY = "capacity"  # the session got more seats
PROMOTED_BY_STAFF = "staff"  # a staff member confirmed this person by hand
PROMOTION_REASONS = (PROMOTED_BY_CANCELLATION, PROMOTED_BY_MOVE, PROMOTED_BY_CAPACITY, PROMOTED_BY_STAFF)
# A paid session's seat freed because a hold or an earlier offer ran out unpaid: offered to the next
# in line (the offered email needs no reason; the audit entry says it).
OFFERED_BY_EXPIRY = "expiry"


# The email a new booking queues, by what it got. Every booking, on either database and by
# whoever makes it, takes its template from here (the PostgreSQL statement through
# booking_email_template, a CASE over this table).
BOOKING_EMAILS = {RegistrationStatus.CONFIRMED: "booking_confirmed",
                  RegistrationStatus.WAITLISTED: "booking_waitlisted",
                  RegistrationStatus.PENDING_PAYMENT: "booking_held"}


def booking_email_template(status):
    """The template of a new booking's email: BOOKING_EMAILS[status], or for a SQL column of the
    status, the CASE that picks it in the statement."""
    if isinstance(status, RegistrationStatus):
        return BOOKING_EMAILS[status]
    return case(*((status == constant(s.value), constant(t)) for s, t in BOOKING_EMAILS.items()))


def registration_email(template, registration_id, to_address, queued_at, waitlist_position=None,
                       promotion_reason: str | None = None, addressee: str | None = None) -> dict:
    """The outbox row of one of the emails above (mail.service.templated_message), checked here: a
    template this module composes, and a promotion reason for the promoted email, only there. The
    context is what compose_registration_email reads: the registration id; the place in the queue
    the booking was given (the waitlisted email says it, as the booking's answer did); why a
    promoted person got the seat. Values may be SQL: the PostgreSQL booking selects the row from
    the registration it inserts, with booking_email_template(status) as the template."""
    if isinstance(template, str):
        if template not in _EMAILS:  # caught in the action's tests, not by the sender later
            raise ValueError(f"no registration email {template!r}")
        if (template == "booking_promoted") != (promotion_reason in PROMOTION_REASONS):  # needed there, only there
            raise ValueError(f"promotion reason {promotion_reason!r} for {template!r}")
    # The same keys whoever builds it (a position of null when there is none), as in SQL.
    context = {"registration_id": registration_id, "waitlist_position": waitlist_position}
    if promotion_reason is not None:
        context["promotion_reason"] = promotion_reason
    if addressee is not None:  # the email is not to the registration's person (a group's booker, a replaced attendee)
        context["addressee"] = addressee
    return templated_message(to_address, template, context, queued_at)


def queue_registration_email(template: str, registration_id: int, to_address: str | None,
                             waitlist_position: int | None = None, promotion_reason: str | None = None,
                             queued_at: datetime | None = None, addressee: str | None = None) -> None:
    """Queue one of the emails above in the caller's transaction (none without an address).
    `queued_at`: the time of the change it tells of (default: now). `addressee`: the name the
    email greets when it is not to the registration's person (the group's booker, a replaced attendee)."""
    queue_message(registration_email(template, registration_id, to_address, queued_at or utcnow(),
                                     waitlist_position, promotion_reason, addressee))


if not set(BOOKING_EMAILS.values()) <= _EMAILS.keys():
    raise RuntimeError("BOOKING_EMAILS names a template this module does not compose")


@composer({template: email.label for template, email in _EMAILS.items()})
def compose_registration_email(template: str, context: dict) -> ComposedEmail:
    registration = db.session.scalar(
        select(Registration)
        .where(Registration.id == context["registration_id"])
        .options(joinedload(Registration.session).joinedload(CampSession.course), joinedload(Registration.user))
    )
    if registration is None:
        raise LookupError(f"registration {context['registration_id']} no longer exists")
    camp, email = registration.session, _EMAILS[template]
    if email.confirmed_only and registration.status is not RegistrationStatus.CONFIRMED:
        raise LookupError(f"registration {registration.id} is {registration.status.value} now: no {template}")
    attachments: list[Attachment] = []
    ticket = {}
    # A ticket only for a seat that is the person's (a move keeps a hold a hold, unpaid: no ticket yet).
    if email.with_ticket and registration.ticket_code and registration.status is RegistrationStatus.CONFIRMED:
        attachments = [
            Attachment("camp.ics", "text/calendar", registration_ics(registration.id, camp)),
            Attachment("ticket-qr.png", "image/png", ticket_qr_png(registration.ticket_code)),
        ]
        ticket = {"ticket_code": format_ticket_code(registration.ticket_code),
                  "ticket_url": ticket_url(registration.id)}
    return render_email(
        email.subject(camp.course.title), template, attachments,
        name=context.get("addressee") or registration.user.display_name, camp=camp, group=registration.group,
        group_url=(absolute_url("booking.group_detail", group_id=registration.group_id)
                   if registration.group_id else None),
        # The booker pays once for the group's held seats (app/payments/group_views.py).
        group_pay_url=(absolute_url("payments.group_pay", group_id=registration.group_id)
                       if registration.group_id and registration.amount_due else None),
        details=render_template("mail/_session_details.txt", camp=camp),
        paid_session=camp.is_paid, amount_due=registration.amount_due, hold_expires_at=registration.hold_expires_at,
        pay_url=absolute_url("payments.pay", registration_id=registration.id) if registration.amount_due else None,
        amount_paid=registration.amount_paid, paid_at=registration.paid_at,
        receipt_url=absolute_url("payments.receipt", registration_id=registration.id) if registration.paid_at else None,
        position=context.get("waitlist_position"), promotion_reason=context.get("promotion_reason"),
        status=registration.status.value, review_message=registration.review_message, **ticket,
    )

