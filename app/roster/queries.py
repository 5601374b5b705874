"""Read queries for the staff pages: sessions with their fill, a session's roster, one registration.

Nothing here writes (seats and statuses change only in app/booking/service.py). Counts for a list
of sessions or a page of registrations come from one grouped query each, never one per row.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, load_only, selectinload

from app.accounts.models import User
from app.accounts.search import fold
from app.audit.models import AuditEntry
from app.booking.models import HOLD_STATUSES, GroupBooking, Registration, RegistrationStatus
from app.booking.tickets import LENGTH as TICKET_LENGTH
from app.booking.tickets import normalise_ticket_code
from app.catalog.models import CampSession
from app.cms.models import Article
from app.common.validators import normalise_name, normalise_phone
from app.extensions import db
from app.roster.answers import answered, parse_answer_filter
from app.roster.display import SourceArticle, article_id_of
from app.roster.models import Attendance
from app.roster.payment_state import PAYMENT_FILTERS, payment_filter

STATUS_FILTERS = ("all", "confirmed", "waitlisted", "cancelled")
CHECKIN_FILTERS = ("", "today", "not")
# "" (anyone), then app/roster/payment_state.py's 待支付 / 已支付 / 已退款.
PAYMENT_FILTER_CHOICES = ("", *PAYMENT_FILTERS)
PER_PAGE = 50
MAX_PER_PAGE = 200
SESSIONS_PER_PAGE = 20


# --- sessions at a glance -------------------------------------------------------------------

@dataclass(frozen=True)
class SessionFill:
    camp: CampSession
    waitlist: int
    checked_in_today: int


def waitlist_counts(session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Registration.session_id, func.count())
        .where(Registration.session_id.in_(session_ids), Registration.status == RegistrationStatus.WAITLISTED)
        .group_by(Registration.session_id)
    )
    return {session_id: count for session_id, count in rows}


def checked_in_counts(session_ids: list[int], day: date) -> dict[int, int]:
    """Attendance rows for `day` (Shanghai date) per session."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Registration.session_id, func.count(Attendance.id))
        .join(Attendance, Attendance.registration_id == Registration.id)
        .where(Registration.session_id.in_(session_ids), Attendance.day == day)
        .group_by(Registration.session_id)
    )
    return {session_id: count for session_id, count in rows}


def _with_fill(sessions: list[CampSession], today: date) -> list[SessionFill]:
    ids = [camp.id for camp in sessions]
    waitlists, checked_in = waitlist_counts(ids), checked_in_counts(ids, today)
    return [SessionFill(camp, waitlists.get(camp.id, 0), checked_in.get(camp.id, 0)) for camp in sessions]


def upcoming_sessions(now: datetime, today: date) -> list[SessionFill]:
    """Sessions not yet over (running ones included), soonest first, drafts too."""
    sessions = db.session.scalars(
        select(CampSession).where(CampSession.ends_at >= now)
        .options(joinedload(CampSession.course))
        .order_by(CampSession.starts_at, CampSession.id)
    ).all()
    return _with_fill(list(sessions), today)


@dataclass
class PastSessions:
    page: object  # Flask-SQLAlchemy Pagination of CampSession, for the page links
    rows: list[SessionFill] = field(default_factory=list)


def past_sessions(now: datetime, today: date, page: int) -> PastSessions:
    """Finished sessions, latest first, a page at a time."""
    pagination = db.paginate(
        select(CampSession).where(CampSession.ends_at < now)
        .options(joinedload(CampSession.course))
        .order_by(CampSession.starts_at.desc(), CampSession.id.desc()),
        page=page, per_page=SESSIONS_PER_PAGE, error_out=False,
    )
    return PastSessions(pagination, _with_fill(list(pagination.items), today))


# --- one session's roster -------------------------------------------------------------------

def session_or_404(session_id: int) -> CampSession:
    return db.get_or_404(CampSession, session_id, options=[joinedload(CampSession.course)])


@dataclass(frozen=True)
class RosterFilters:
    q: str = ""
    status: str = "all"  # one of STATUS_FILTERS
    checkin: str = ""  # "today": checked in today; "not": not yet today; "": either
    payment: str = ""  # one of PAYMENT_FILTER_CHOICES
    answer: str = ""  # "<question id>:<answer>": registrations that gave that answer (app/roster/answers.py)
    columns: tuple[int, ...] = ()  # the questions whose answers the roster shows as columns
    group: int | None = None  # 团体报名: only this group's attendees

    def link_args(self, **changes) -> dict:
        """These filters (with `changes`) as url_for arguments: every link of the roster keeps them."""
        args = {"q": self.q or None, "status": self.status, "checkin": self.checkin or None,
                "payment": self.payment or None, "answer": self.answer or None, "col": list(self.columns) or None,
                "group": self.group}
        args.update(changes)
        return args


def _search(q: str):
    """What staff type into the roster's search box, as alternatives: part of the name as written
    (张喆, 王𠮷), as folded or in pinyin (司马光 for 司马·光, `wang ji`, `wangji`, `wj` for 王吉:
    User.search_key), the email, the phone in any common spelling, or the whole ticket code
    (dashes, spaces and case as typed)."""
    clauses = [User.name.icontains(normalise_name(q), autoescape=True),
               User.email.icontains(q.strip(), autoescape=True)]
    folded = fold(q)
    if folded:
        clauses.append(User.search_key.contains(folded, autoescape=True))
    digits = normalise_phone(q)
    if digits.isdigit():
        clauses.append(User.phone.contains(digits, autoescape=True))
    code = normalise_ticket_code(q)
    if len(code) == TICKET_LENGTH:
        clauses.append(Registration.ticket_code == code)
    return clauses


# The roster's order (the page and the exports): confirmed first, then seats held for a payment
# (they hold a seat too), then the waitlist in its order, then the rest (cancelled, expired).
ROSTER_STATUS_ORDER = case(
    (Registration.status == RegistrationStatus.CONFIRMED, 0),
    (Registration.status.in_(HOLD_STATUSES), 1),
    (Registration.status == RegistrationStatus.WAITLISTED, 2),
    else_=3,
)


def roster_page(session_id: int, filters: RosterFilters, today: date, page: int, per_page: int):
    """A page of the session's registrations with their people, in ROSTER_STATUS_ORDER (by booking
    time within a status, the waitlist in its order)."""
    query = (
        select(Registration)
        .join(Registration.user)
        .options(contains_eager(Registration.user),
                 selectinload(Registration.group).joinedload(GroupBooking.booker))  # 团体 #id, booked by whom
        .where(Registration.session_id == session_id)
    )
    if filters.group is not None:
        query = query.where(Registration.group_id == filters.group)
    if filters.q.strip():
        query = query.where(or_(*_search(filters.q)))
    if filters.status != "all":
        query = query.where(Registration.status == RegistrationStatus(filters.status))
    if filters.checkin:
        present = exists().where(Attendance.registration_id == Registration.id, Attendance.day == today)
        query = query.where(present if filters.checkin == "today" else ~present)
    if filters.payment:
        query = query.where(payment_filter(filters.payment))
    answer = parse_answer_filter(filters.answer)
    if answer is not None:
        query = query.where(answered(*answer))
    query = query.order_by(ROSTER_STATUS_ORDER, Registration.waitlist_number, Registration.created_at, Registration.id)
    return db.paginate(query, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)


def status_counts(session_id: int) -> dict[str, int]:
    """Registrations per status value, "all", and per payment filter ("due", "paid", "refunded"),
    in one grouped query."""
    rows = db.session.execute(
        select(Registration.status, func.count(),
               *(func.count().filter(payment_filter(name)) for name in PAYMENT_FILTERS))
        .where(Registration.session_id == session_id)
        .group_by(Registration.status)
    )
    counts = dict.fromkeys([status.value for status in RegistrationStatus] + list(PAYMENT_FILTERS), 0)
    for status, n, *by_payment in rows:
        counts[status.value] = n
        for name, count in zip(PAYMENT_FILTERS, by_payment, strict=True):
            counts[name] += count
    counts["all"] = sum(counts[status.value] for status in RegistrationStatus)
    return counts


def waitlist_positions(session_id: int) -> dict[int, int]:
    """Registration id -> place in the queue (1 = next to get a seat), for the whole session at once."""
    ids = db.session.scalars(
        select(Registration.id)
        .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.waitlist_number)
    )
    return {registration_id: place for place, registration_id in enumerate(ids, start=1)}


def attendance_by_registration(registration_ids: list[int]) -> dict[int, set[date]]:
    if not registration_ids:
        return {}
    days: dict[int, set[date]] = {}
    rows = db.session.execute(
        select(Attendance.registration_id, Attendance.day).where(Attendance.registration_id.in_(registration_ids))
    )
    for registration_id, day in rows:
        days.setdefault(registration_id, set()).add(day)
    return days


def source_articles(sources: Iterable[str | None], now: datetime) -> dict[int, SourceArticle]:
    """The articles that `sources` ('article:<id>') name, by id, in one query whatever their number."""
    ids = {article_id for article_id in map(article_id_of, sources) if article_id is not None}
    if not ids:
        return {}
    articles = db.session.scalars(
        select(Article).where(Article.id.in_(ids))
        .options(load_only(Article.title, Article.slug, Article.status, Article.publish_at))
    )
    return {a.id: SourceArticle(a.id, a.title, a.slug, a.is_public(now)) for a in articles}


def session_sources(session_id: int) -> list[str]:
    """The distinct booking sources of a session (a handful), for exports to name them once."""
    return list(db.session.scalars(
        select(Registration.source).where(Registration.session_id == session_id).distinct()
    ))


# --- one registration -----------------------------------------------------------------------

def registration_or_404(registration_id: int) -> Registration:
    return db.get_or_404(
        Registration, registration_id,
        options=[joinedload(Registration.user), joinedload(Registration.session).joinedload(CampSession.course),
                 joinedload(Registration.group).joinedload(GroupBooking.booker)],
    )


def move_targets(registration: Registration, now: datetime) -> list[CampSession]:
    """The other sessions of the same course that have not ended, soonest first."""
    return list(db.session.scalars(
        select(CampSession)
        .where(CampSession.course_id == registration.session.course_id, CampSession.id != registration.session_id,
               CampSession.ends_at >= now)
        .order_by(CampSession.starts_at, CampSession.id)
    ))


def audit_entries(registration_id: int) -> list[AuditEntry]:
    """What happened to this registration, newest first."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.registration_id == registration_id)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    ))


def sessions_by_id(session_ids: set[int]) -> dict[int, CampSession]:
    if not session_ids:
        return {}
    return {camp.id: camp for camp in db.session.scalars(select(CampSession).where(CampSession.id.in_(session_ids)))}
