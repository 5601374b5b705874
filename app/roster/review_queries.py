"""What the 报名审核 pages read: the sessions with applications, and one session's applications."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from app.accounts.models import User
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.extensions import db

S = RegistrationStatus
# The queue's filters: its query-string value -> the statuses it shows.
REVIEW_FILTERS: dict[str, tuple[RegistrationStatus, ...]] = {
    "pending": (S.PENDING_REVIEW,),
    # Approved: what an approval made of it since (a seat, a hold, the queue; cancelled or moved later too).
    "approved": (S.CONFIRMED, S.PENDING_PAYMENT, S.OFFERED, S.WAITLISTED, S.EXPIRED, S.CANCELLED),
    "rejected": (S.REJECTED,),
    "withdrawn": (S.WITHDRAWN,),
}
MAX_APPLICATIONS = 500  # a page lists at most this many (a 私董会 has tens)


@dataclass
class SessionApplications:
    session: CampSession
    pending: int


def sessions_with_applications() -> list[SessionApplications]:
    """Every session that requires approval or has applications, with its pending count, the
    sessions with pending applications first, then by start."""
    pending = func.count(Registration.id).filter(Registration.status == S.PENDING_REVIEW)
    rows = db.session.execute(
        select(CampSession, pending)
        .outerjoin(Registration, Registration.session_id == CampSession.id)
        .where(or_(CampSession.requires_approval.is_(True), Registration.reviewed_at.is_not(None),
                   Registration.status.in_([S.PENDING_REVIEW, S.WITHDRAWN])))
        .group_by(CampSession.id)
        .options(joinedload(CampSession.course))
        .order_by(pending.desc(), CampSession.starts_at.desc(), CampSession.id)
    ).all()
    return [SessionApplications(camp, count) for camp, count in rows]


def applications(session_id: int, status_filter: str, newest_first: bool) -> list[Registration]:
    """The session's applications of this filter, with their people, by when they applied."""
    query = (select(Registration).join(Registration.user)
             .where(Registration.session_id == session_id, Registration.status.in_(REVIEW_FILTERS[status_filter]))
             .options(contains_eager(Registration.user)))
    if status_filter == "approved":
        query = query.where(Registration.reviewed_at.is_not(None))  # not bookings made before review began
    order = (Registration.created_at.desc(), Registration.id.desc()) if newest_first else \
        (Registration.created_at, Registration.id)
    return list(db.session.scalars(query.order_by(*order).limit(MAX_APPLICATIONS)))


def review_counts(session_id: int) -> dict[str, int]:
    """How many applications each filter shows."""
    counts = {}
    for name, statuses in REVIEW_FILTERS.items():
        query = select(func.count()).where(Registration.session_id == session_id, Registration.status.in_(statuses))
        if name == "approved":
            query = query.where(Registration.reviewed_at.is_not(None))
        counts[name] = db.session.scalar(query)
    return counts


def application_ids_of_session(session_id: int, ids: list[int]) -> list[int]:
    """Those of `ids` that are this session's registrations (a form may send anything)."""
    if not ids:
        return []
    return list(db.session.scalars(
        select(Registration.id).where(Registration.session_id == session_id, Registration.id.in_(ids))))


def reviewer_names(registrations: list[Registration]) -> dict[int, str]:
    ids = {r.reviewed_by_id for r in registrations if r.reviewed_by_id}
    if not ids:
        return {}
    return {user.id: user.display_name for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
