"""The admin dashboard's figures, read straight from the database.

Nothing here writes. Every figure is one grouped query (or a handful for a list of sessions),
never one query per session or per day, so the page stays fast with 100,000 registrations
(bench/dashboard.py measures it). Days are Shanghai days: registrations are grouped on their
creation time in the site's zone, and days without any are filled in as 0 here, not in SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, and_, cast, exists, func, select
from sqlalchemy.orm import joinedload

from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.certificates.models import Certificate, CertificateStatus
from app.cms.queries import ArticleFigures, article_figures
from app.common.time import site_zone
from app.extensions import db
from app.roster.models import Attendance
from app.roster.queries import waitlist_counts

# The 30 / 90 day toggle of the registrations chart.
DAY_RANGES = (30, 90)


# --- upcoming sessions: fill and waitlist ------------------------------------------------------

@dataclass(frozen=True)
class UpcomingSession:
    camp: CampSession
    waitlist: int

    @property
    def fill_rate(self) -> float | None:
        """seats_taken / capacity (None for a session of 0 seats)."""
        camp = self.camp
        return camp.seats_taken / camp.capacity if camp.capacity else None


def upcoming_sessions(now: datetime, limit: int | None) -> list[UpcomingSession]:
    """Sessions not yet over (running ones included), soonest first, drafts too."""
    query = (
        select(CampSession).where(CampSession.ends_at >= now)
        .options(joinedload(CampSession.course))
        .order_by(CampSession.starts_at, CampSession.id)
        .limit(limit)
    )
    sessions = list(db.session.scalars(query))
    waitlists = waitlist_counts([camp.id for camp in sessions])
    return [UpcomingSession(camp, waitlists.get(camp.id, 0)) for camp in sessions]


def count_upcoming_sessions(now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(CampSession).where(CampSession.ends_at >= now)) or 0


# --- registrations per day --------------------------------------------------------------------

@dataclass(frozen=True)
class DayCount:
    day: date  # in Shanghai
    registrations: int


def local_day(column, dialect: str, offset: timedelta):
    """The local date of a UTC timestamp column, in SQL: the stored UTC time shifted by the zone's
    offset. Exact for Asia/Shanghai (UTC+8 all year, no daylight saving since 1991); cheaper than
    PostgreSQL's own zone conversion, and SQLite has no zones at all."""
    if dialect == "postgresql":
        # timezone('UTC', ...) gives the naive UTC wall time whatever the connection's TimeZone.
        return cast(func.timezone("UTC", column) + offset, Date)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def registrations_per_day(today: date, days: int) -> list[DayCount]:
    """Registrations made on each of the `days` Shanghai days ending `today` (any status: demand,
    including people who later cancelled), oldest first, 0 for a day without any."""
    zone = site_zone()
    first_day = today - timedelta(days=days - 1)
    start = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    day = local_day(Registration.created_at, db.engine.dialect.name, zone.utcoffset(start))
    rows = db.session.execute(
        select(day, func.count())
        .where(Registration.created_at >= start, Registration.created_at < end)
        .group_by(day)
    )
    counts: dict[date, int] = {}
    for value, count in rows:
        # SQLite's date() answers text, PostgreSQL a date.
        counts[date.fromisoformat(value) if isinstance(value, str) else value] = count
    return [DayCount(first_day + timedelta(days=n), counts.get(first_day + timedelta(days=n), 0))
            for n in range(days)]


# --- past sessions: check-in rate and certificates -----------------------------------------------

@dataclass(frozen=True)
class PastSession:
    camp: CampSession
    confirmed: int  # confirmed registrations
    checked_in: int  # of those, people checked in on at least one day
    certificates: int  # valid certificates

    @property
    def checkin_rate(self) -> float | None:
        return self.checked_in / self.confirmed if self.confirmed else None


# Sessions counted per statement. A statement over hundreds of sessions (the CSV of every finished
# session) makes PostgreSQL estimate a cost above its JIT threshold and spend half a second
# compiling; batches of this size stay under it and take milliseconds each.
COUNT_BATCH = 20


def _session_counts(session_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """(confirmed, checked in, valid certificates) per session, in one grouped statement."""
    confirmed = Registration.status == RegistrationStatus.CONFIRMED
    attended = exists().where(Attendance.registration_id == Registration.id)
    # A correlated scalar subquery, not EXISTS or a join: PostgreSQL would answer those by hashing
    # every valid certificate of the site (a sequential scan), where this probes the unique index
    # on registration_id once per registration of these sessions.
    has_certificate = select(Certificate.status).where(
        Certificate.registration_id == Registration.id).scalar_subquery() == CertificateStatus.VALID
    rows = db.session.execute(
        select(Registration.session_id, func.count().filter(confirmed),
               func.count().filter(and_(confirmed, attended)), func.count().filter(has_certificate))
        .where(Registration.session_id.in_(session_ids))
        .group_by(Registration.session_id)
    )
    return {session_id: (confirmed_count, checked_in, certificates)
            for session_id, confirmed_count, checked_in, certificates in rows}


def past_sessions(now: datetime, limit: int | None) -> list[PastSession]:
    """Finished sessions, latest first (`limit` of them, or all), with their counts."""
    sessions = list(db.session.scalars(
        select(CampSession).where(CampSession.ends_at < now)
        .options(joinedload(CampSession.course))
        .order_by(CampSession.starts_at.desc(), CampSession.id.desc())
        .limit(limit)
    ))
    counts: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(sessions), COUNT_BATCH):
        counts.update(_session_counts([camp.id for camp in sessions[start:start + COUNT_BATCH]]))
    return [PastSession(camp, *counts.get(camp.id, (0, 0, 0))) for camp in sessions]


def count_past_sessions(now: datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(CampSession).where(CampSession.ends_at < now)) or 0


@dataclass(frozen=True)
class CertificateTotals:
    valid: int
    revoked: int


def certificate_totals() -> CertificateTotals:
    counts = dict(db.session.execute(select(Certificate.status, func.count()).group_by(Certificate.status)).all())
    return CertificateTotals(counts.get(CertificateStatus.VALID, 0), counts.get(CertificateStatus.REVOKED, 0))


# --- the content funnel ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelTotals:
    views: int
    card_clicks: int
    bookings: int

    @property
    def conversion(self) -> float:
        return self.bookings / self.views if self.views else 0.0


def article_funnel() -> list[ArticleFigures]:
    """Every article's views → card clicks → bookings, best conversion first (then most bookings,
    then most views, so that articles nobody read come last)."""
    figures = article_figures()
    return sorted(figures, key=lambda f: (-f.conversion, -f.bookings, -f.views, f.article_id))


def funnel_totals(figures: list[ArticleFigures]) -> FunnelTotals:
    return FunnelTotals(sum(f.views for f in figures), sum(f.card_clicks for f in figures),
                        sum(f.bookings for f in figures))
