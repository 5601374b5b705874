"""Time helpers: everything is stored in UTC and shown in the configured zone (Asia/Shanghai)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_datetime
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL keeps the zone itself; SQLite stores naive text, so values are normalised to UTC
    on the way in and marked as UTC on the way out. Naive datetimes are refused: they are
    ambiguous (is 09:00 Shanghai or UTC?) and a source of off-by-eight-hours bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def local_datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """Template filter: a UTC timestamp shown in the user's zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def local_date(value: datetime | None, fmt: str = "yyyy年M月d日") -> str:
    """Template filter: the date of a UTC timestamp in the user's zone, e.g. 2026年9月17日."""
    return local_datetime(value, fmt)


def site_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def from_local_input(value: datetime | None) -> datetime | None:
    """A naive date-time typed into a form (Shanghai wall-clock time) as an aware UTC timestamp."""
    if value is None:
        return None
    return value.replace(tzinfo=site_zone()).astimezone(UTC)


def to_local_input(value: datetime | None) -> datetime | None:
    """An aware timestamp as the naive wall-clock time a form's date-time input shows."""
    if value is None:
        return None
    return value.astimezone(site_zone()).replace(tzinfo=None)
