"""Attendance: one row per person and day of the session they were checked in on."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class Attendance(db.Model):
    __tablename__ = "attendances"
    # A second scan on the same day finds this row instead of adding one.
    __table_args__ = (UniqueConstraint("registration_id", "day", name="uq_attendances_registration_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    day: Mapped[date]  # the session's day in Shanghai time
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
