"""团体报名 over the API: book seats of a session for named attendees, see the groups one booked,
and give an attendee's seat to someone else (换人). Cancelling an attendee is the registrations'
DELETE /registrations/<id>, which the group's booker may call for each of its attendees.

Each view is one call to app/booking/groups.py, which owns every rule (all or nothing, the waiting
group, who may replace whom and until when) and raises the domain errors errors.py turns into codes.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.api import bp
from app.api.auth import current_api_user, per_user, token_required
from app.api.group_schemas import AttendeeIn, GroupBookingRequest, group_json, group_list_json
from app.api.validation import parse_body
from app.booking import groups
from app.booking.errors import InvalidAttendees, RegistrationNotFound
from app.booking.models import GroupBooking
from app.common.errors import DomainError
from app.common.time import utcnow
from app.extensions import limiter


class GroupNotFound(DomainError):
    code = "group_not_found"
    message = _l("找不到这个团体报名")


class InvalidReplacement(InvalidAttendees):
    """换人's body is one attendee: its fields are the body's own (name, phone, answers.<id>)."""

    @property
    def fields(self) -> dict[str, str]:
        return {key.removeprefix("0."): message for key, message in self.errors.items()}


def _booking_limit() -> str:
    # As many as a student's single bookings: each books seats and may make accounts.
    return current_app.config["RATELIMIT_BOOKING"]


def _my_group(group_id: int) -> GroupBooking:
    group = groups.group_of(current_api_user().id, group_id)
    if group is None:
        raise GroupNotFound()
    return group


@bp.post("/sessions/<int:session_id>/groups")
@token_required  # outside the limit, so the limit can be keyed by the token's user
@limiter.limit(_booking_limit, key_func=per_user)
def book_group(session_id: int):
    body = parse_body(GroupBookingRequest)
    outcome = groups.book_group(current_api_user(), session_id, [a.as_input() for a in body.attendees],
                                join_waitlist=body.join_waitlist, source="api")
    return group_json(outcome.group, utcnow()), 201


@bp.get("/me/groups")
@token_required
def my_groups():
    return group_list_json(groups.groups_of(current_api_user().id), utcnow())


@bp.get("/groups/<int:group_id>")
@token_required
def my_group(group_id: int):
    return group_json(_my_group(group_id), utcnow())


@bp.post("/groups/<int:group_id>/registrations/<int:registration_id>/replace")
@token_required
@limiter.limit(_booking_limit, key_func=per_user)
def replace_attendee(group_id: int, registration_id: int):
    group = _my_group(group_id)
    if registration_id not in {r.id for r in group.registrations}:
        raise RegistrationNotFound()
    body = parse_body(AttendeeIn)
    try:
        groups.replace_attendee(registration_id, current_api_user(), body.as_input())
    except InvalidAttendees as refused:
        raise InvalidReplacement(refused.errors) from None
    return group_json(_my_group(group_id), utcnow())
