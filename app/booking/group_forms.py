"""团体报名's forms: attendee blocks as the pages send them, parsed by hand (their number varies).

An attendee's fields are named after a prefix: `a<n>-name`, `a<n>-phone`, `a<n>-email` and
`a<n>-q<question id>` on the booking form (n as the page numbered its blocks: the script adds
blocks with new numbers and removes others, so n may have gaps), `r<registration id>-...` on a
换人 form. What was typed is kept as typed (re-shown after an error: nothing is lost); the booking
service checks it (app/booking/groups.py check_attendees) and its errors come back per field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import flash, g
from werkzeug.datastructures import MultiDict

from app.accounts.models import User
from app.booking import groups
from app.booking.errors import InvalidAttendees
from app.booking.groups import AttendeeInput
from app.booking.models import Registration
from app.common.errors import DomainError
from app.common.forms import AppForm
from app.common.validators import normalise_newlines, unstorable_text_reason
from app.questions.forms import answers_from_form

_BLOCK = re.compile(r"a(\d{1,3})-")
MOST_BLOCKS = 50  # CampSession.max_group_size's ceiling: a page never draws more blocks than this
_TEXT_MAX = 2000  # what an attendee's name, phone or email may be as sent (the service says what is wrong)


class GroupActionForm(AppForm):
    """The CSRF token of the group pages' forms (booking, 换人); the attendees' fields are parsed below."""


@dataclass
class AttendeeBlock:
    """One attendee as typed, and the errors shown next to its fields: errors["name" | "phone" |
    "email"], answer_errors[question id]."""

    index: int = 0
    name: str = ""
    phone: str = ""
    email: str = ""
    answers: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    answer_errors: dict[int | str, str] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not (self.name.strip() or self.phone.strip() or self.email.strip() or self.answers)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.answer_errors)

    def as_input(self) -> AttendeeInput:
        return AttendeeInput(self.name, self.phone, self.email or None, self.answers)


def attendee_from_form(form: MultiDict, prefix: str, index: int = 0) -> AttendeeBlock:
    def text(name: str) -> str:
        return normalise_newlines(form.get(prefix + name, ""))[:_TEXT_MAX]

    return AttendeeBlock(index, text("name"), text("phone"), text("email"), answers_from_form(form, prefix))


def blocks_from_form(form: MultiDict) -> list[AttendeeBlock]:
    """The booking form's attendee blocks, in the page's order."""
    numbers = sorted({int(match.group(1)) for name in form if (match := _BLOCK.match(name))})
    return [attendee_from_form(form, f"a{n}-", n) for n in numbers[:MOST_BLOCKS]]


def refuse_unstorable(blocks: list[AttendeeBlock]) -> bool:
    """Mark each field holding what no database stores (a NUL, a lone surrogate) with the reason;
    whether there was one. Such a page answers 400, as the site's other forms do (AppForm)."""
    refused = False
    for block in blocks:
        for name in ("name", "phone", "email"):
            reason = unstorable_text_reason(getattr(block, name))
            if reason:
                block.errors[name] = reason
                refused = True
        for question_id, value in block.answers.items():
            for given in value if isinstance(value, list) else [value]:
                reason = unstorable_text_reason(normalise_newlines(given))
                if reason:
                    block.answer_errors[question_id] = reason
                    refused = True
    if refused:
        g.form_refused_unstorable_input = True  # answered 400 (common.forms.refused_form_status)
    return refused


def show_errors(blocks: list[AttendeeBlock], errors: dict[str, str]) -> None:
    """The service's InvalidAttendees errors ("<position>.name", "<position>.answers.<id>"), each
    next to its field; `blocks` in the order they were given to the service."""
    for key, message in errors.items():
        position, _sep, name = key.partition(".")
        if not position.isdigit() or int(position) >= len(blocks):
            continue
        block = blocks[int(position)]
        if name.startswith("answers."):
            question = name.removeprefix("answers.")
            block.answer_errors[int(question) if question.isdigit() else question] = message
        else:
            block.errors[name] = message


def replace_from_form(registration_id: int, actor: User, block: AttendeeBlock, by_staff: bool = False
                      ) -> Registration | None:
    """换人 as sent by a page (the booker's group page, staff's registration page): the registration
    with its new person, or None, the refusal shown on `block`'s fields or flashed."""
    if refuse_unstorable([block]):
        return None
    try:
        return groups.replace_attendee(registration_id, actor, block.as_input(), by_staff=by_staff)
    except InvalidAttendees as error:
        show_errors([block], error.errors)
        flash(str(error.message), "error")
    except DomainError as error:
        flash(str(error.message), "error")
    return None
