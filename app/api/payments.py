"""Paying for a held seat from the mini-program: the parameters of wx.requestPayment for one's own
registration, and "I have paid" (ask WeChat, whose notification may be late).

The web's pay page does the same through the same functions (app/payments/checkout.py); the seat is
confirmed when WeChat's notification arrives (payments.wechat_notify), never by the client's word.
"""
from __future__ import annotations

from flask import current_app

from app.api import bp
from app.api.auth import current_api_user, per_user, token_required
from app.api.schemas import PayRequest, payment_parameters_json, registration_json
from app.api.validation import parse_body
from app.common.time import utcnow
from app.extensions import limiter
from app.payments import checkout, queries


def _payment_limit() -> str:
    # Each request asks WeChat (an order, an openid, a query): as many as a student's bookings.
    return current_app.config["RATELIMIT_BOOKING"]


@bp.post("/registrations/<int:registration_id>/pay")
@token_required
@limiter.limit(_payment_limit, key_func=per_user)
def pay(registration_id: int):
    body = parse_body(PayRequest)
    parameters = checkout.start_mini_program(registration_id, current_api_user(), body.login_code)
    return payment_parameters_json(parameters)


@bp.post("/registrations/<int:registration_id>/pay/check")
@token_required
@limiter.limit(_payment_limit, key_func=per_user)
def check_payment(registration_id: int):
    """After wx.requestPayment succeeds: if the seat still waits for its payment, ask WeChat about
    the registration's orders (its notification may be late or lost) and record what was paid."""
    user = current_api_user()
    # Before any release of a hold past its time: a payment made in time whose notice is late
    # still confirms the seat.
    registration = queries.registration_to_pay(registration_id, user, release_lapsed=False)
    if registration.status.is_hold:
        checkout.check_with_provider(registration)
    registration = queries.registration_to_pay(registration_id, user)  # as recorded just now
    return registration_json(registration, utcnow())
