"""Read queries for the admin user pages: the user search, and one user's registrations,
certificates and account history. Nothing here writes (accounts change in app/accounts/service.py)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, User
from app.audit.actions import AuditAction
from app.audit.history import HistoryLine, history_line
from app.audit.models import AuditEntry
from app.booking.models import Registration
from app.catalog.models import CampSession
from app.certificates.models import Certificate
from app.common.validators import normalise_name, normalise_phone
from app.extensions import db

PER_PAGE = 30
ROLE_FILTERS = ("", *(role.value for role in Role))  # "": every role
STATUS_FILTERS = ("", "active", "inactive")  # "": active and deactivated


@dataclass(frozen=True)
class UserFilters:
    q: str = ""
    role: str = ""  # one of ROLE_FILTERS
    status: str = ""  # one of STATUS_FILTERS

    @property
    def any(self) -> bool:
        return bool(self.q.strip() or self.role or self.status)


def _matches(q: str):
    """Substring of the name (any script: 张喆, 王𠮷), the email, or the phone in any common spelling."""
    clauses = [User.name.icontains(normalise_name(q), autoescape=True),
               User.email.contains(q.strip().lower(), autoescape=True)]
    digits = normalise_phone(q)
    if digits.isdigit():
        clauses.append(User.phone.contains(digits, autoescape=True))
    return or_(*clauses)


def search_users(filters: UserFilters, page: int, per_page: int = PER_PAGE):
    """A page of accounts matching the filters, newest first."""
    query = select(User)
    if filters.q.strip():
        query = query.where(_matches(filters.q))
    if filters.role:
        query = query.where(User.role == Role(filters.role))
    if filters.status:
        query = query.where(User.is_active.is_(filters.status == "active"))
    query = query.order_by(User.created_at.desc(), User.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def registrations_of(user_id: int) -> list[Registration]:
    """Every registration of the person, cancelled ones too, latest booking first."""
    return list(db.session.scalars(
        select(Registration).where(Registration.user_id == user_id)
        .options(joinedload(Registration.session).joinedload(CampSession.course))
        .order_by(Registration.created_at.desc(), Registration.id.desc())
    ))


def certificates_of(user_id: int) -> list[Certificate]:
    return list(db.session.scalars(
        select(Certificate).join(Certificate.registration).where(Registration.user_id == user_id)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    ))


# --- the account's history ------------------------------------------------------------------

def _state_text(action: AuditAction, state: dict | None) -> str:
    if not state:
        return ""
    if action is AuditAction.ACCOUNT_CONTACT:
        return " · ".join(value for value in (state.get("email"), state.get("phone")) if value)
    if action is AuditAction.ACCOUNT_ROLE:
        try:
            return Role(state.get("role")).label
        except ValueError:
            return str(state.get("role"))
    return _("启用") if state.get("active") else _("已停用")


def account_history(user_id: int) -> list[HistoryLine]:
    """Changes of the account itself (contact details, role, deactivation, reactivation), newest first."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.account_id == user_id, AuditEntry.action.in_(AuditAction.of_prefix("account.")))
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
    return [
        history_line(
            entry, str(entry.action.label), _state_text(entry.action, entry.before),
            _state_text(entry.action, entry.after),
            note=_("原因：%(reason)s", reason=entry.note) if entry.note else "",
        )
        for entry in entries
    ]


def deactivation_reason(user_id: int) -> str:
    """The reason given when the account was last deactivated."""
    note = db.session.scalar(
        select(AuditEntry.note)
        .where(AuditEntry.account_id == user_id, AuditEntry.action == AuditAction.ACCOUNT_DEACTIVATE)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(1)
    )
    return note or ""
