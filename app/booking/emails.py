"""The emails about a registration: booked, waitlisted, promoted, moved, cancelled.

The booking service queues them by template name and registration id (`queue_registration_email`,
one INSERT in its transaction); the outbox sender composes them when it takes them
(`compose_registration_email`), reading the registration, its session and its person then. So a
booking in a rush renders nothing while it holds the session's lock, and an email shows the
session as it is when sent (a venue corrected a minute later is the one the student reads).
"""
from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from flask import render_template
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.booking.calendar import registration_ics
from app.booking.models import Registration
from app.booking.tickets import format_ticket_code, ticket_qr_png, ticket_url
from app.catalog.models import CampSession
from app.extensions import db
from app.mail.service import Attachment, ComposedEmail, composer, queue_templated, render_email

# Template name -> subject. The templates are templates/mail/<name>.txt.
_SUBJECTS = {
    "booking_confirmed": lambda title: _("报名成功：%(title)s", title=title),
    "booking_waitlisted": lambda title: _("已加入候补：%(title)s", title=title),
    "booking_promoted": lambda title: _("候补成功：您已获得正式名额"),
    "booking_moved": lambda title: _("报名场次已调整：%(title)s", title=title),
    "booking_cancelled": lambda title: _("报名已取消：%(title)s", title=title),
}
# What the admin's outbox calls a message not composed yet.
_LABELS = {
    "booking_confirmed": _l("报名成功通知"),
    "booking_waitlisted": _l("候补通知"),
    "booking_promoted": _l("候补转正通知"),
    "booking_moved": _l("调整场次通知"),
    "booking_cancelled": _l("取消报名通知"),
}
# The emails of a confirmed seat carry the ticket: its code and link in the text, the calendar
# entry and the door QR code as attachments.
_WITH_TICKET = {"booking_confirmed", "booking_promoted", "booking_moved"}


def queue_registration_email(template: str, registration_id: int, to_address: str,
                             waitlist_position: int | None = None) -> None:
    """Queue one of the emails above in the caller's transaction. `waitlist_position`: the place
    in the queue the booking was given (the waitlisted email says it, as the booking's answer did)."""
    context = {"registration_id": registration_id}
    if waitlist_position is not None:
        context["waitlist_position"] = waitlist_position
    queue_templated(to_address, template, **context)


@composer(_LABELS)
def compose_registration_email(template: str, context: dict) -> ComposedEmail:
    registration = db.session.scalar(
        select(Registration)
        .where(Registration.id == context["registration_id"])
        .options(joinedload(Registration.session).joinedload(CampSession.course), joinedload(Registration.user))
    )
    if registration is None:
        raise LookupError(f"registration {context['registration_id']} no longer exists")
    camp = registration.session
    attachments: list[Attachment] = []
    ticket = {}
    if template in _WITH_TICKET and registration.ticket_code:
        attachments = ticket_attachments(registration.id, registration.ticket_code, camp)
        ticket = {"ticket_code": format_ticket_code(registration.ticket_code),
                  "ticket_url": ticket_url(registration.id)}
    return render_email(
        _SUBJECTS[template](camp.course.title), template, attachments,
        name=registration.user.display_name, details=session_details(camp),
        position=context.get("waitlist_position"), **ticket,
    )


def ticket_attachments(registration_id: int, ticket_code: str, camp: CampSession) -> list[Attachment]:
    """What a confirmed seat's email carries: the calendar entry and the door QR code."""
    return [
        Attachment("camp.ics", "text/calendar", registration_ics(registration_id, camp)),
        Attachment("ticket-qr.png", "image/png", ticket_qr_png(ticket_code)),
    ]


def session_details(camp: CampSession) -> str:
    """The course, dates, place and price block of every booking email (dates formatted in Shanghai time).

    Kept per what it shows, in the language and zone it is shown in: the sender composes the
    emails of a rush one after another, all with the same block."""
    course = camp.course
    return _session_details(str(get_locale()), str(get_timezone()), course.title, course.duration_label,
                            camp.starts_at, camp.ends_at, camp.city, camp.venue, camp.address, camp.price)


@functools.lru_cache(maxsize=256)
def _session_details(locale: str, zone: str, title: str, duration_label: str | None, starts_at: datetime,
                     ends_at: datetime, city: str, venue: str, address: str | None, price: Decimal) -> str:
    del locale, zone  # part of the cache key only: render_template uses the app's own
    camp = SimpleNamespace(course=SimpleNamespace(title=title, duration_label=duration_label),
                           starts_at=starts_at, ends_at=ends_at, city=city, venue=venue, address=address, price=price)
    return render_template("mail/_session_details.txt", camp=camp)
