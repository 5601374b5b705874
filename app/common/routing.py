"""The converter behind every `<int:...>` in the app's URLs (registered by create_app)."""
from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

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
