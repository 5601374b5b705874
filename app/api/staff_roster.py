"""A session's roster over the API, for staff and admins: who is booked, waiting or gone, what they
paid, and what they answered to the registration questions (the roster page's data, the same
queries: app/roster/queries.py). Students get 403; a session that does not exist, 404."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api import bp
from app.api.auth import current_api_user, token_required
from app.api.errors import ApiError, InvalidRequest
from app.api.schemas import AnswerOut, RegistrationStatusName, answer_out
from app.api.validation import field_messages
from app.booking.models import Registration, RegistrationStatus
from app.catalog.errors import SessionNotFound
from app.catalog.models import CampSession
from app.common.money import plain_amount
from app.common.time import site_zone
from app.common.validators import unstorable_text_reason
from app.extensions import db
from app.questions.queries import answers_by_registration
from app.roster.queries import MAX_PER_PAGE, PER_PAGE, STATUS_FILTERS, RosterFilters, roster_page, waitlist_positions
from app.roster.service import local_today

Amount = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["3980.00"])]


class Forbidden(ApiError):
    code = "forbidden"
    message = _l("只有工作人员和管理员可以查看名单")
    status = 403


class RosterQuery(BaseModel):
    """The query string: what the roster page's filters take."""

    model_config = ConfigDict(extra="forbid")

    # The roster page's filters (a tuple as Literal's arguments): all, confirmed, waitlisted, cancelled.
    status: Literal[STATUS_FILTERS] = Field("all", title="状态", description="all、confirmed、waitlisted 或 cancelled")
    q: str = Field("", title="搜索", max_length=100, description="姓名（含拼音）、手机号、邮箱或票码")
    page: int = Field(1, title="页码", ge=1, le=100_000)
    per_page: int = Field(PER_PAGE, title="每页条数", ge=1, le=MAX_PER_PAGE)


class RosterPersonOut(BaseModel):
    name: str | None
    phone: str | None
    email: str | None = Field(description="邮箱；工作人员代加、只留了手机号的为 null")


class RosterRegistrationOut(BaseModel):
    id: int
    status: RegistrationStatusName
    waitlist_position: int | None = Field(description="候补第几位（此刻）；非候补为 null")
    person: RosterPersonOut
    ticket_code: str | None = Field(description="票码（已确认时）；其他状态为 null")
    source: str = Field(description="来源：web、api、staff 或 article:<文章 id>")
    group_id: int | None = Field(description="团体报名 id；不是团体报名为 null")
    amount_due: Amount | None
    amount_paid: Amount
    amount_refunded: Amount
    created_at: datetime
    answers: list[AnswerOut] = Field(description="报名问题的回答，按提问顺序（问题改过也保持报名时的样子）")


class RosterOut(BaseModel):
    items: list[RosterRegistrationOut]
    page: int
    per_page: int
    total: int = Field(description="符合条件的报名总数")


def _query() -> RosterQuery:
    given = request.args.to_dict()
    for value in given.values():
        if unstorable_text_reason(value):
            raise InvalidRequest(_("查询参数含有无法保存的字符"))
    try:
        return RosterQuery.model_validate(given)
    except ValidationError as error:
        raise InvalidRequest(fields=field_messages(RosterQuery, error)) from None


@bp.get("/staff/sessions/<int:session_id>/registrations")
@token_required
def session_roster(session_id: int):
    if not current_api_user().is_staff:
        raise Forbidden()
    query = _query()
    if db.session.get(CampSession, session_id) is None:
        raise SessionNotFound()
    found = roster_page(session_id, RosterFilters(q=query.q, status=query.status), local_today(), query.page,
                        query.per_page)
    registrations: list[Registration] = list(found.items)
    answers = answers_by_registration([r.id for r in registrations])
    positions = waitlist_positions(session_id)
    zone = site_zone()
    return RosterOut(
        items=[_out(r, positions.get(r.id), answers.get(r.id, []), zone) for r in registrations],
        page=query.page, per_page=query.per_page, total=found.total or 0,
    ).model_dump(mode="json")


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else plain_amount(amount)


def _out(registration: Registration, position: int | None, answers, zone) -> RosterRegistrationOut:
    person = registration.user
    confirmed = registration.status is RegistrationStatus.CONFIRMED
    return RosterRegistrationOut(
        id=registration.id, status=registration.status.value, waitlist_position=position,
        person=RosterPersonOut(name=person.name, phone=person.phone, email=person.email),
        ticket_code=registration.ticket_code if confirmed else None, source=registration.source,
        group_id=registration.group_id, amount_due=_money(registration.amount_due),
        amount_paid=plain_amount(registration.amount_paid), amount_refunded=plain_amount(registration.amount_refunded),
        created_at=registration.created_at.astimezone(zone), answers=[answer_out(a) for a in answers])
