"""Reminders: the day before a session starts, each confirmed seat's holder gets one email.

A registration is due when it is confirmed, has not been reminded (`reminded_at` is null) and its
session starts within REMINDER_HOURS_BEFORE from now, not before now: one confirmed later (booked
three hours before the start, paid, promoted) is due at once; a session already started gets none.
The email (`booking_reminder`, emails.py) is composed when sent: the session's time in the site's
zone (Asia/Shanghai), its venue and city, the ticket code and the ticket's link on SITE_URL.

Once per registration, whoever runs it: the worker runs this in rounds, on several machines at
once, and may be killed at any point.
- The mark and the email are one transaction (`send_due_reminders`): killed before the commit,
  neither exists and the next run finds the registration due again; after it, both do.
- The mark is a conditional UPDATE (`reminded_at IS NULL`), so a registration another worker
  marked first is not marked, nor emailed, twice. On PostgreSQL the due rows are picked
  `FOR UPDATE SKIP LOCKED`: two workers take different registrations instead of queueing behind
  each other's batch; on SQLite the write transaction (BEGIN IMMEDIATE) already runs them one
  after the other.
A lease or an advisory lock would add a second thing to keep right; the row's own column is the
record of what was sent.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from app.accounts.models import User
from app.booking.emails import queue_registration_email
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.db import write_transaction
from app.common.time import utcnow
from app.extensions import db

# Registrations a transaction: a short hold of the SQLite writer, and of the rows on PostgreSQL.
REMINDER_BATCH = 100


def reminder_window() -> timedelta | None:
    """How long before a session starts its reminders go out; None when reminders are off."""
    hours = float(current_app.config["REMINDER_HOURS_BEFORE"])
    return timedelta(hours=hours) if hours > 0 else None


@write_transaction
def send_due_reminders(now: datetime | None = None, limit: int = REMINDER_BATCH) -> int:
    """Mark up to `limit` due registrations reminded and queue their emails, in one transaction:
    how many were marked (fewer than `limit`: none are left due now). A walk-in without an email
    address is marked too, with nothing to send, so it is not looked at again every round."""
    window = reminder_window()
    if window is None:
        return 0
    now = now or utcnow()
    registrations = Registration.__table__
    due = db.session.execute(
        select(Registration.id, User.email)
        .join(CampSession, CampSession.id == Registration.session_id)
        .join(User, User.id == Registration.user_id)
        .where(Registration.status == RegistrationStatus.CONFIRMED, Registration.reminded_at.is_(None),
               CampSession.starts_at > now, CampSession.starts_at <= now + window)
        .order_by(CampSession.starts_at, Registration.id)
        .limit(limit)
        .with_for_update(of=Registration, skip_locked=True)
    ).all()
    if not due:
        return 0
    addresses = dict(due)
    marked = db.session.connection().execute(
        update(registrations)
        .where(registrations.c.id.in_(list(addresses)), registrations.c.reminded_at.is_(None),
               registrations.c.status == RegistrationStatus.CONFIRMED)
        .values(reminded_at=now)
        .returning(registrations.c.id)
    ).scalars().all()
    for registration_id in sorted(marked):
        queue_registration_email("booking_reminder", registration_id, addresses[registration_id])
    return len(marked)
