"""Reading a JSON request body into a pydantic model, with Chinese messages per field.

Any body the client got wrong (not JSON, not an object, a missing field, a number where a string
belongs) is a 400 `invalid_request`, never a 500.
"""
from __future__ import annotations

from typing import TypeVar, get_args

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from werkzeug.exceptions import BadRequest

from app.api.errors import InvalidRequest

Body = TypeVar("Body", bound=BaseModel)


def parse_body(model: type[Body]) -> Body:
    if not request.is_json:
        raise InvalidRequest(_("请以 JSON 格式提交（Content-Type: application/json）"))
    try:
        payload = request.get_json()
    except (BadRequest, RecursionError):  # RecursionError: absurdly deep nesting, which json refuses
        raise InvalidRequest(_("提交的内容不是有效的 JSON")) from None
    if not isinstance(payload, dict):
        raise InvalidRequest(_("提交的内容应为 JSON 对象，例如 {\"email\": \"...\"}"))
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise InvalidRequest(fields=field_messages(model, error)) from None


def field_messages(model: type[BaseModel], error: ValidationError) -> dict[str, str]:
    """{field: the first message for it}, in the words of the web forms."""
    messages: dict[str, str] = {}
    for detail in error.errors():
        name = ".".join(str(part) for part in detail["loc"]) or "body"
        messages.setdefault(name, _message(model, detail))
    return messages


def _label(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The title of the innermost named field on the error's path: "attendees.0.name" is 姓名, not
    参会人 (list indexes and dictionary keys stay with the field they are in)."""
    label: str | None = None
    current: type[BaseModel] | None = model
    for part in loc:
        field = current.model_fields.get(part) if current is not None and isinstance(part, str) else None
        if field is None:
            continue
        label = field.title or label
        current = _nested_model(field.annotation)
    return label


def _nested_model(annotation: object) -> type[BaseModel] | None:
    """The model a field holds, itself or as the items of a list or the values of a dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _message(model: type[BaseModel], detail: ErrorDetails) -> str:
    label = _label(model, tuple(detail["loc"])) or _("该项")
    kind = detail["type"]
    if kind == "missing":
        return _("请填写%(label)s", label=label)
    if kind == "string_type":
        return _("%(label)s应为字符串", label=label)
    if kind == "value_error":
        # Our validators raise ValueError with the message the web form shows.
        return str(detail.get("ctx", {}).get("error", "")) or _("%(label)s格式不正确", label=label)
    return _("%(label)s格式不正确", label=label)
