"""The shapes of 团体报名 over the API: the booking's body (the attendees), 换人's body (one
attendee), and the JSON of a group. Beside schemas.py, which holds everyone's shapes; openapi.py
publishes these too.

The body's own checks are about shape only (types, how many attendees, how long a string may be, so
a 10 MB name is refused before anything reads it); whether a name, a phone number or an answer is
right is the service's (app/booking/groups.py: check_attendees), which names each attendee's field.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, Field, field_validator

from app.api.schemas import (
    Amount,
    AnswerValue,
    QuestionKey,
    RegistrationStatusName,
    RequestBody,
    SessionOut,
    session_out,
)
from app.booking import service as booking
from app.booking.groups import EMAIL_MAX, NAME_LENGTH, AttendeeInput
from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.common.money import plain_amount
from app.common.time import site_zone

# The most attendees one request may name: the most any session's max_group_size may be (the
# database's check on camp_sessions); the session's own maximum is the service's rule.
MOST_ATTENDEES = 50
# How long a typed string may be before the service reads it: room for spaces and pasted noise
# ("+86 138-0013-8000", full-width digits), far below anything that costs to read.
NAME_MAX_TYPED = 60
PHONE_MAX_TYPED = 30


def _at_most(length: int, message: Callable[[], str]) -> AfterValidator:
    """Refuse a string longer than `length` with the service's own message for the field (the same
    words whether the API or the service refuses it); `message` is called per request, translated."""

    def check(value: str) -> str:
        if len(value) > length:
            raise ValueError(message())
        return value

    return AfterValidator(check)


def _name_message() -> str:
    return _("姓名长度应为 %(min)s–%(max)s 个字", min=NAME_LENGTH[0], max=NAME_LENGTH[1])


def _phone_message() -> str:
    return _("请输入 11 位中国大陆手机号，例如 13800138000")


def _email_message() -> str:
    return _("邮箱格式不正确，例如 name@example.com")


class AttendeeIn(RequestBody):
    # One attendee as the booker types them (no docstring: it would be the document's description).
    name: Annotated[str, _at_most(NAME_MAX_TYPED, _name_message)] = Field(
        title="姓名", description="参会人姓名，2–30 个字（与身份证一致，证书上会使用）", examples=["王喆"],
        json_schema_extra={"maxLength": NAME_MAX_TYPED})
    phone: Annotated[str, _at_most(PHONE_MAX_TYPED, _phone_message)] = Field(
        title="手机号", description="参会人的中国大陆手机号；+86、空格、连字符会被去掉，全角数字也可以。"
                                    "已有账号的参会人按手机号找到，没有的为其新建账号（本人可用「忘记密码」设置密码）",
        examples=["138 0013 8000"], json_schema_extra={"maxLength": PHONE_MAX_TYPED})
    email: Annotated[str, _at_most(EMAIL_MAX, _email_message)] | None = Field(
        default=None, title="邮箱",
        description="可选：参会人的邮箱，报名确认和电子票会发到这里；不填、null 或空字符串表示没有",
        examples=["wangzhe@example.com"], json_schema_extra={"maxLength": EMAIL_MAX})
    answers: dict[QuestionKey, AnswerValue] = Field(
        default_factory=dict, title="报名问题的回答", max_length=100,
        description="该参会人对报名问题的回答，格式同单人报名（POST /sessions/{session_id}/registrations）的 "
                    "answers：{问题 id: 回答}，每位参会人各自回答必填问题",
        examples=[{"12": "杭州某某电子商务有限公司", "13": "小红书"}],
        json_schema_extra={"additionalProperties": False})

    def as_input(self) -> AttendeeInput:
        return AttendeeInput(self.name, self.phone, self.email, self.answers)


class GroupBookingRequest(RequestBody):
    attendees: list[AttendeeIn] = Field(
        title="参会人",
        description=f"参会人，2–{MOST_ATTENDEES} 位，且不超过场次的 max_group_size；每位一个名额、一张电子票，"
                    "手机号不能重复。有误时返回 400（code: invalid_attendees），fields 以 "
                    "attendees.<序号>.name、.phone、.email、.answers.<问题 id> 逐项说明（序号从 0 起）",
        json_schema_extra={"minItems": 2, "maxItems": MOST_ATTENDEES})
    join_waitlist: bool = Field(
        default=False, title="整组候补",
        description="剩余名额不够全组时整组加入候补（一起等，空出的名额够全组时一起转正）；"
                    "false（默认）时返回 409 not_enough_seats 及剩余名额 seats_left，不占名额")

    @field_validator("attendees", mode="before")
    @classmethod
    def two_to_fifty(cls, value: object) -> object:
        # Counted before each attendee is read: a list of a million is refused at once.
        if isinstance(value, list) and not 2 <= len(value) <= MOST_ATTENDEES:
            raise ValueError(_("团体报名需要 2–%(n)s 位参会人；一个人请直接报名", n=MOST_ATTENDEES))
        return value


# --- responses ------------------------------------------------------------------------------


class AttendeeOut(BaseModel):
    name: str | None = Field(description="参会人姓名：报名人填写的姓名（不是其账号上的姓名）")
    phone: str | None = Field(description="参会人手机号，11 位数字")


class GroupRegistrationOut(BaseModel):
    id: int = Field(description="报名 id：取消这位参会人用 DELETE /registrations/{registration_id}")
    status: RegistrationStatusName = Field(description="报名状态，含义同 RegistrationOut 的 status")
    waitlist_position: int | None = Field(description="候补第几位（1 为下一个转正）；非候补时为 null")
    ticket_code: str | None = Field(description="电子票号，入场时出示；已确认（confirmed）时才有，其他状态为 null。"
                                                "换人后旧票号作废")
    amount_due: Amount | None = Field(description="这个名额的应付金额（元）；免费场次为 null")
    pay_by: datetime | None = Field(
        description="付款截止时间（北京时间）：pending_payment 或 offered 时名额保留到此刻；其他状态为 null")
    attendee: AttendeeOut


class GroupOut(BaseModel):
    id: int
    session_id: int
    size: int = Field(description="报名时的人数（之后取消的参会人也算在内）")
    created_at: datetime
    session: SessionOut
    registrations: list[GroupRegistrationOut] = Field(description="每位参会人的报名，按报名时的顺序")


class GroupListOut(BaseModel):
    items: list[GroupOut]


# --- serialising ----------------------------------------------------------------------------


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(site_zone()) if moment is not None else None


def _registration_out(registration: Registration, position: int | None) -> GroupRegistrationOut:
    person = registration.user
    held = registration.status.is_hold
    return GroupRegistrationOut(
        id=registration.id, status=registration.status.value, waitlist_position=position,
        ticket_code=registration.ticket_code if registration.status is RegistrationStatus.CONFIRMED else None,
        amount_due=None if registration.amount_due is None else plain_amount(registration.amount_due),
        pay_by=_local(registration.hold_expires_at) if held else None,
        attendee=AttendeeOut(name=registration.name_for_booker, phone=person.phone))


def _group_out(group: GroupBooking, positions: dict[int, int], now: datetime) -> GroupOut:
    return GroupOut(id=group.id, session_id=group.session_id, size=group.size, created_at=_local(group.created_at),
                    session=session_out(group.session, now),
                    registrations=[_registration_out(r, positions.get(r.id)) for r in group.registrations])


def group_json(group: GroupBooking, now: datetime) -> dict:
    return _group_out(group, booking.waitlist_positions(group.registrations), now).model_dump(mode="json")


def group_list_json(groups: list[GroupBooking], now: datetime) -> dict:
    # Every group's waiting attendees' places in one statement.
    positions = booking.waitlist_positions([r for group in groups for r in group.registrations])
    return GroupListOut(items=[_group_out(group, positions, now) for group in groups]).model_dump(mode="json")
