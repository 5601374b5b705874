"""Reading invoice requests: a registration's, a page's worth for 我的报名 and the roster, the staff
list with its filters, and the rows of the finance export. Nothing here writes."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration
from app.catalog.models import CampSession, Course
from app.extensions import db
from app.invoices import tax_ids
from app.invoices.models import OPEN_STATUSES, InvoiceRequest, InvoiceStatus

PER_PAGE = 50
# The staff list's status tabs: the to-do first.
STATUS_FILTERS = ("requested", "issued", "cancelled", "all")


def open_request(registration_id: int) -> InvoiceRequest | None:
    """The registration's request that is waiting or issued (there is one at most)."""
    return db.session.scalar(select(InvoiceRequest).where(InvoiceRequest.registration_id == registration_id,
                                                          InvoiceRequest.status.in_(OPEN_STATUSES)))


def open_group_request(group_id: int) -> InvoiceRequest | None:
    """The group's request that is waiting or issued (there is one at most)."""
    return db.session.scalar(select(InvoiceRequest).where(InvoiceRequest.group_booking_id == group_id,
                                                          InvoiceRequest.status.in_(OPEN_STATUSES)))


def latest_group_request(group_id: int) -> InvoiceRequest | None:
    """The group's open request, else its last one cancelled (团体报名)."""
    found = None
    for request in db.session.scalars(select(InvoiceRequest).where(InvoiceRequest.group_booking_id == group_id)
                                      .order_by(InvoiceRequest.id)):
        if found is None or not found.is_open:
            found = request
    return found


def latest_request(registration_id: int) -> InvoiceRequest | None:
    """The open request, else the last one cancelled (the page says why it was sent back)."""
    return requests_by_registration([registration_id]).get(registration_id)


def requests_by_registration(registration_ids: Iterable[int]) -> dict[int, InvoiceRequest]:
    """Registration id -> its open request, or else its latest cancelled one, for a page of
    registrations in one query (我的报名, the receipt, the roster)."""
    ids = list(registration_ids)
    if not ids:
        return {}
    found: dict[int, InvoiceRequest] = {}
    for request in db.session.scalars(select(InvoiceRequest).where(InvoiceRequest.registration_id.in_(ids))
                                      .order_by(InvoiceRequest.id)):
        kept = found.get(request.registration_id)
        if kept is None or not kept.is_open:  # an open one wins; among cancelled ones, the latest
            found[request.registration_id] = request
    return found


def request_with_registration(request_id: int) -> InvoiceRequest | None:
    return db.session.get(InvoiceRequest, request_id, options=[
        joinedload(InvoiceRequest.requester),
        joinedload(InvoiceRequest.group).joinedload(GroupBooking.session).joinedload(CampSession.course),
        joinedload(InvoiceRequest.registration).joinedload(Registration.user),
        joinedload(InvoiceRequest.registration).joinedload(Registration.session).joinedload(CampSession.course)])


def requests_of_registration(registration_id: int) -> list[InvoiceRequest]:
    """Every request of a registration, the latest first (the staff page shows the earlier ones too)."""
    return list(db.session.scalars(select(InvoiceRequest).where(InvoiceRequest.registration_id == registration_id)
                                   .order_by(InvoiceRequest.id.desc())))


def requests_of_same_subject(request: InvoiceRequest) -> list[InvoiceRequest]:
    """Every request of the request's registration or group, the latest first."""
    if request.group_booking_id is None:
        return requests_of_registration(request.registration_id)
    return list(db.session.scalars(select(InvoiceRequest)
                                   .where(InvoiceRequest.group_booking_id == request.group_booking_id)
                                   .order_by(InvoiceRequest.id.desc())))


# --- the staff list ---------------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceFilters:
    status: str = "requested"  # one of STATUS_FILTERS
    session_id: int | None = None
    q: str = ""  # 抬头, 税号 or the person's name


def _staff_query(filters: InvoiceFilters) -> Select:
    # A registration's request or a group's (团体报名): the session through either; the person is
    # the requester (a registration's own person, or the group's booker).
    query = (select(InvoiceRequest)
             .outerjoin(InvoiceRequest.registration)
             .outerjoin(InvoiceRequest.group)
             .join(CampSession, CampSession.id == func.coalesce(Registration.session_id, GroupBooking.session_id))
             .join(User, User.id == InvoiceRequest.requester_id)
             .options(contains_eager(InvoiceRequest.registration).joinedload(Registration.session)
                      .joinedload(CampSession.course),
                      contains_eager(InvoiceRequest.registration).joinedload(Registration.user),
                      contains_eager(InvoiceRequest.group).joinedload(GroupBooking.session)
                      .joinedload(CampSession.course),
                      contains_eager(InvoiceRequest.group).joinedload(GroupBooking.booker)))
    if filters.session_id is not None:
        query = query.where(CampSession.id == filters.session_id)
    q = filters.q.strip()
    if q:
        matches = [InvoiceRequest.title.contains(q, autoescape=True), User.name.contains(q, autoescape=True)]
        typed_tax_id = tax_ids.normalise(q)
        if typed_tax_id:
            matches.append(InvoiceRequest.tax_id.contains(typed_tax_id, autoescape=True))
        query = query.where(or_(*matches))
    return query


def staff_page(filters: InvoiceFilters, page: int, per_page: int = PER_PAGE):
    """A page of requests: waiting ones oldest first (the to-do, in the order they came), the others
    latest first."""
    query = _staff_query(filters)
    if filters.status != "all":
        query = query.where(InvoiceRequest.status == InvoiceStatus(filters.status))
    if filters.status == InvoiceStatus.REQUESTED.value:
        query = query.order_by(InvoiceRequest.created_at, InvoiceRequest.id)
    else:
        query = query.order_by(InvoiceRequest.created_at.desc(), InvoiceRequest.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def status_counts(filters: InvoiceFilters) -> dict[str, int]:
    """Requests per status value, and "all", under the session and search filters (the tabs)."""
    inner = _staff_query(filters).subquery()
    counted = aliased(InvoiceRequest, inner)
    rows = db.session.execute(select(counted.status, func.count()).group_by(counted.status))
    counts = dict.fromkeys(STATUS_FILTERS, 0)
    for status, n in rows:
        counts[status.value] = n
    counts["all"] = sum(counts[status.value] for status in InvoiceStatus)
    return counts


def sessions_with_requests() -> list[CampSession]:
    """The sessions the list can be narrowed to: those with any request, the latest first."""
    session_ids = select(Registration.session_id).join(
        InvoiceRequest, InvoiceRequest.registration_id == Registration.id).union(
        select(GroupBooking.session_id).join(InvoiceRequest, InvoiceRequest.group_booking_id == GroupBooking.id))
    return list(db.session.scalars(select(CampSession).where(CampSession.id.in_(session_ids))
                                   .order_by(CampSession.starts_at.desc())
                                   .options(joinedload(CampSession.course))))


def waiting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InvoiceRequest)
                             .where(InvoiceRequest.status == InvoiceStatus.REQUESTED))


# --- the finance export -----------------------------------------------------------------------

def export_rows(start: datetime, end: datetime) -> Select:
    """Requests asked for or issued in [start, end), with their registration, person, session and
    who issued them, by the time they were asked for (to be streamed: yield_per)."""
    issuer = aliased(User)
    return (
        select(InvoiceRequest.id, InvoiceRequest.created_at, InvoiceRequest.status, InvoiceRequest.issued_at,
               InvoiceRequest.cancelled_at, InvoiceRequest.invoice_number, InvoiceRequest.kind,
               InvoiceRequest.title, InvoiceRequest.tax_id, InvoiceRequest.amount, InvoiceRequest.email,
               InvoiceRequest.cancel_reason, InvoiceRequest.registration_id, InvoiceRequest.group_booking_id,
               User.name, User.phone, Course.title.label("course"), CampSession.label.label("session_label"),
               CampSession.starts_at, issuer.name.label("issued_by"))
        # A registration's person, or a group's booker (团体报名): the requester either way.
        .outerjoin(Registration, Registration.id == InvoiceRequest.registration_id)
        .outerjoin(GroupBooking, GroupBooking.id == InvoiceRequest.group_booking_id)
        .join(User, User.id == InvoiceRequest.requester_id)
        .join(CampSession, CampSession.id == func.coalesce(Registration.session_id, GroupBooking.session_id))
        .join(Course, Course.id == CampSession.course_id)
        .outerjoin(issuer, issuer.id == InvoiceRequest.issued_by_id)
        .where(or_((InvoiceRequest.created_at >= start) & (InvoiceRequest.created_at < end),
                   (InvoiceRequest.issued_at >= start) & (InvoiceRequest.issued_at < end)))
        .order_by(InvoiceRequest.created_at, InvoiceRequest.id)
    )
