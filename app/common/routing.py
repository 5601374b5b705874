"""URLs: the converter behind every `<int:...>` (registered by create_app), the check of the query
string's text, and which `?next=` targets may be followed."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

from app.common.validators import unstorable_text_reason

# Ids are INTEGER columns (32-bit signed on PostgreSQL). A larger number in a URL would reach the
# database and fail there (PostgreSQL: integer out of range; SQLite: Python int too large) as a 500.
MAX_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """werkzeug's `int`, bounded by MAX_ID: a larger number is a 404, like any id that does not exist."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            # Not werkzeug's "no match": where another rule shares the path for other methods (GET
            # and POST of /staff/sessions/<id>/attendance), that would answer 405 Method Not Allowed.
            raise NotFound() from None


class UnstorableInput(BadRequest):
    """400 for a URL whose text no page could use (a NUL in ?q=, a control character in a slug).
    `user_message` is the Chinese reason the error page (and the API's JSON) shows."""

    def __init__(self, user_message: str) -> None:
        super().__init__()
        self.user_message = user_message


def refuse_unstorable_url_text() -> None:
    """before_request: the query string and the path's values, checked once for every view, as
    AppForm checks form fields; otherwise a NUL in a search box reaches PostgreSQL as a 500.

    In the query string: 400 with the reason. In the path (/articles/%00): 404, as no row has
    such a slug, like an id too large for the column (DatabaseIdConverter)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and unstorable_text_reason(value):
            raise NotFound()
    for value in [*request.args.keys(), *request.args.values()]:
        reason = unstorable_text_reason(value)
        if reason:
            raise UnstorableInput(reason)


def safe_local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (for ?next=), else None.

    No scheme or host ("https://evil", "//evil"), no backslash (browsers read "/\\evil" as
    "//evil"), no control characters (CR/LF would split the Location header).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or unstorable_text_reason(target) or "\n" in target or "\t" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
