"""Registrations over the API: book a seat (or a waitlist place), list mine, cancel one.

Each view is one call to the booking service, which owns every rule and raises the domain errors
that errors.py turns into codes.
"""
from __future__ import annotations

from flask import current_app

from app.api import bp
from app.api.auth import current_api_user, token_required
from app.api.schemas import booking_json, registration_json, registration_list_json
from app.booking import service as booking
from app.common.time import utcnow
from app.extensions import limiter


def _booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]


def _per_user() -> str:
    # By account, not by address: many students share one carrier NAT address.
    return f"user:{current_api_user().id}"


@bp.post("/sessions/<int:session_id>/registrations")
@token_required  # outside the limit, so the limit can be keyed by the token's user
@limiter.limit(_booking_limit, key_func=_per_user)
def book(session_id: int):
    outcome = booking.book_seat(current_api_user(), session_id, source="api")
    # 200 for a repeat (double tap, retry): the client gets the registration it already has.
    return booking_json(outcome, utcnow()), 201 if outcome.created else 200


@bp.get("/me/registrations")
@token_required
def my_registrations():
    return registration_list_json(booking.registrations_of(current_api_user().id), utcnow())


@bp.delete("/registrations/<int:registration_id>")
@token_required
def cancel(registration_id: int):
    outcome = booking.cancel_registration(registration_id, current_api_user())
    return registration_json(outcome.registration, utcnow())
