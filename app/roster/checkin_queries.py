"""What the door check-in page and the attendance grid show (reading only; writing is in service.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pypinyin import lazy_pinyin
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from app.accounts.models import User
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.extensions import db
from app.roster.models import Attendance
from app.roster.service import session_days

SEARCH_LIMIT = 20  # a name search at the door wants a short list, not the roster


def session_for_staff(session_id: int) -> CampSession | None:
    """Any session, published or not (staff check people in to both), with its course."""
    return db.session.get(CampSession, session_id, options=[joinedload(CampSession.course)])


@dataclass
class DoorDay:
    """Where the door stands today: which day of the session, and how many are in."""

    today: date
    days: list[date]
    checked_in: int  # confirmed people with an attendance row for today
    confirmed: int

    @property
    def number(self) -> int | None:
        """1 for the session's first day; None when today is not one of its days."""
        return self.days.index(self.today) + 1 if self.today in self.days else None


def door_day(camp: CampSession, today: date) -> DoorDay:
    confirmed = db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED,
    ))
    checked_in = db.session.scalar(
        select(func.count()).select_from(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED,
               Attendance.day == today)
    )
    return DoorDay(today, session_days(camp), checked_in, confirmed)


def _pinyin_key(registration: Registration) -> tuple[list[str], int]:
    # Names in the order a Chinese reader looks them up (张 after 李), the same on every database.
    return lazy_pinyin(registration.user.name or registration.user.email), registration.id


@dataclass
class Found:
    registration: Registration
    attendance: Attendance | None  # today's, if they are already in


def find_confirmed(session_id: int, query: str, today: date) -> list[Found]:
    """Confirmed people of this session whose name or phone contains `query`, with today's check-in."""
    query = query.strip()
    if not query:
        return []
    rows = db.session.execute(
        select(Registration, Attendance)
        .join(Registration.user)
        .outerjoin(Attendance, and_(Attendance.registration_id == Registration.id, Attendance.day == today))
        .where(
            Registration.session_id == session_id,
            Registration.status == RegistrationStatus.CONFIRMED,
            or_(User.name.contains(query, autoescape=True), User.phone.contains(query, autoescape=True)),
        )
        .options(contains_eager(Registration.user))
        .order_by(Registration.id)
        .limit(SEARCH_LIMIT)
    ).all()
    found = [Found(registration, attendance) for registration, attendance in rows]
    return sorted(found, key=lambda f: _pinyin_key(f.registration))


@dataclass
class AttendanceGrid:
    days: list[date]
    registrations: list[Registration]
    # (registration id, day) -> the attendance row: a cell is ticked when its key is here.
    cells: dict[tuple[int, date], Attendance] = field(default_factory=dict)

    def present_count(self, registration: Registration) -> int:
        return sum((registration.id, day) in self.cells for day in self.days)

    def day_count(self, day: date) -> int:
        return sum((registration.id, day) in self.cells for registration in self.registrations)


def attendance_grid(camp: CampSession) -> AttendanceGrid:
    """Confirmed people × the session's days."""
    registrations = list(db.session.scalars(
        select(Registration)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED)
        .options(joinedload(Registration.user))
    ))
    attendances = db.session.scalars(
        select(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED)
    )
    return AttendanceGrid(
        days=session_days(camp),
        registrations=sorted(registrations, key=_pinyin_key),
        cells={(a.registration_id, a.day): a for a in attendances},
    )


def confirmed_registration(session_id: int, registration_id: int) -> Registration | None:
    """A confirmed registration of this session (the grid offers no other), with its person."""
    return db.session.scalar(
        select(Registration)
        .where(Registration.id == registration_id, Registration.session_id == session_id,
               Registration.status == RegistrationStatus.CONFIRMED)
        .options(joinedload(Registration.user))
    )


@dataclass
class TicketAtDoor:
    """A ticket as staff see it through its link: whose, which session, and today at the door."""

    registration: Registration
    door: DoorDay
    attendance: Attendance | None  # today's check-in, if they are in


def ticket_at_door(code: str, today: date) -> TicketAtDoor | None:
    """The registration holding this ticket code (any status: staff are told why it cannot check in)."""
    if not code:
        return None
    registration = db.session.scalar(
        select(Registration).where(Registration.ticket_code == code)
        .options(joinedload(Registration.user), joinedload(Registration.session).joinedload(CampSession.course))
    )
    if registration is None:
        return None
    attendance = db.session.scalar(
        select(Attendance).where(Attendance.registration_id == registration.id, Attendance.day == today)
    )
    return TicketAtDoor(registration, door_day(registration.session, today), attendance)


def ticket_holder(code: str) -> Registration | None:
    """The registration holding this ticket code, or None: who it belongs to decides what the
    ticket link shows."""
    if not code:
        return None
    return db.session.scalar(select(Registration).where(Registration.ticket_code == code))
