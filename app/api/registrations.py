"""Registrations over the API: book a seat (or a waitlist place, or a seat held while paying), list
mine, see one, cancel one (with the refund its course's policy gives).

Each view is one call to the booking service (the cancellation: to the payments service, which
wraps the booking's with its refund), which owns every rule and raises the domain errors that
errors.py turns into codes. Paying: payments.py.
"""
from __future__ import annotations

from flask import current_app, request

from app.api import bp
from app.api.auth import current_api_user, per_user, token_required
from app.api.schemas import (
    BookingRequest,
    booking_json,
    cancellation_json,
    registration_json,
    registration_list_json,
)
from app.api.validation import parse_body
from app.booking import service as booking
from app.booking.errors import RegistrationNotFound
from app.common.time import utcnow
from app.extensions import limiter
from app.payments import refunds


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


@bp.post("/sessions/<int:session_id>/registrations")
@token_required  # outside the limit, so the limit can be keyed by the token's user
@limiter.limit(_booking_limit, key_func=per_user)
def book(session_id: int):
    # No body (the clients written before registration questions) is a booking without answers.
    body = parse_body(BookingRequest) if request.get_data(cache=True) else BookingRequest()
    outcome = booking.complete_profile_and_book(current_api_user(), session_id, answers=body.answers, source="api")
    # 200 for a repeat (double tap, retry): the client gets the registration it already has.
    return booking_json(outcome, utcnow()), 201 if outcome.created else 200


@bp.get("/me/registrations")
@token_required
def my_registrations():
    return registration_list_json(booking.registrations_of(current_api_user().id), utcnow())


@bp.get("/registrations/<int:registration_id>")
@token_required
def my_registration(registration_id: int):
    """One of mine: what the mini-program polls after wx.requestPayment until the seat is confirmed."""
    registration = booking.registration_of(current_api_user().id, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    return registration_json(registration, utcnow())


@bp.delete("/registrations/<int:registration_id>")
@token_required
def cancel(registration_id: int):
    cancelled = refunds.cancel_and_refund(registration_id, current_api_user())
    return cancellation_json(cancelled.cancellation.registration, cancelled.refund_amount, utcnow())
