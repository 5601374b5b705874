"""Paying once for a group (团体报名) from the mini-program, as for one registration
(app/api/payments.py): where the group's money stands, the parameters of wx.requestPayment for what
its held seats owe, and "I have paid". Only the group's booker; anyone else: group_not_found (404).

Its own module (and its own part of the OpenAPI document, openapi_group_payments.py), beside the
group booking endpoints."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.api import bp
from app.api.auth import current_api_user, per_user, token_required
from app.api.payments import _payment_limit
from app.api.schemas import Amount, PayRequest, RegistrationStatusName, payment_parameters_json
from app.api.validation import parse_body
from app.booking.models import GroupBooking, RegistrationStatus
from app.common.money import plain_amount
from app.common.time import site_zone
from app.extensions import limiter
from app.payments import checkout, group_orders


class GroupAttendeePaymentOut(BaseModel):
    registration_id: int
    name: str = Field(description="参会人姓名（报名人填写的）")
    status: RegistrationStatusName = Field(description="该参会人的报名状态（同 RegistrationOut.status）")
    amount: Amount | None = Field(description="这位参会人仍待支付的金额（元），计入团体订单；不需支付时为 null")
    amount_paid: Amount = Field(description="已付金额（元），含已退回的部分")
    amount_refunded: Amount = Field(description="已退或正在退回的金额（元）")


class GroupPaymentOut(BaseModel):
    group_id: int
    session_id: int
    paid: bool = Field(description="仍在团体中的参会人是否都已付款确认（status 都为 confirmed）")
    amount: Amount = Field(description="团体待支付合计（元）：保留中、未过期的参会人仍需支付的钱，"
                                       "POST /groups/{group_id}/pay 按它下单；没有时为 \"0.00\"")
    pay_by: datetime | None = Field(
        description="付款截止时间（北京时间，+08:00）：这些名额保留到此刻；没有待支付时为 null")
    amount_kept: Amount = Field(description="通过团体订单已付且未退回的金额（元）：团体发票按它开具")
    attendees: list[GroupAttendeePaymentOut]


def group_payment_json(group: GroupBooking) -> dict:
    money = group_orders.group_money(group)
    active = [member for member in group.registrations if member.is_active]
    return GroupPaymentOut(
        group_id=group.id, session_id=group.session_id,
        paid=bool(active) and all(member.status is RegistrationStatus.CONFIRMED for member in active),
        amount=plain_amount(money.outstanding),
        pay_by=money.pay_by.astimezone(site_zone()) if money.pay_by else None,
        amount_kept=plain_amount(money.kept),
        attendees=[GroupAttendeePaymentOut(
            registration_id=member.id, name=member.name_for_booker, status=member.status.value,
            amount=plain_amount(member.amount_outstanding) if member in money.due else None,
            amount_paid=plain_amount(member.amount_paid), amount_refunded=plain_amount(member.amount_refunded))
            for member in group.registrations],
    ).model_dump(mode="json")


@bp.get("/groups/<int:group_id>/payment")
@token_required
def group_payment(group_id: int):
    return group_payment_json(group_orders.group_to_pay(group_id, current_api_user()))


@bp.post("/groups/<int:group_id>/pay")
@token_required
@limiter.limit(_payment_limit, key_func=per_user)
def pay_group(group_id: int):
    body = parse_body(PayRequest)
    parameters = checkout.start_group_mini_program(group_id, current_api_user(), body.login_code)
    return payment_parameters_json(parameters)


@bp.post("/groups/<int:group_id>/pay/check")
@token_required
@limiter.limit(_payment_limit, key_func=per_user)
def check_group_payment(group_id: int):
    """After wx.requestPayment succeeds: ask WeChat about the group's orders (its notification may be
    late or lost), before any hold past its time is released, and return where the money stands."""
    user = current_api_user()
    group = group_orders.group_to_pay(group_id, user, release_lapsed=False)
    if any(member.status.is_hold for member in group.registrations):
        checkout.check_group_with_provider(group)
    return group_payment_json(group_orders.group_to_pay(group_id, user))
