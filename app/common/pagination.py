"""Numbers read from a query string (?page=, ?per_page=, ?column=), bounded before they reach SQL.

`?page=99999999999999999999` would otherwise become an OFFSET that PostgreSQL refuses (bigint out
of range) and SQLite cannot bind (Python int too large): a 500 for a typed URL.
"""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.common.routing import MAX_ID

MAX_PAGE = 10_000  # deeper pages are never linked; the cap keeps OFFSET a sane number


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and len(value) <= 12 else None
    except ValueError:
        return None


def page_number(args: MultiDict, name: str = "page") -> int:
    """1 when missing, not a number or below 1; at most MAX_PAGE (past the last page: an empty page)."""
    page = _int_or_none(args.get(name))
    return min(page, MAX_PAGE) if page is not None and page >= 1 else 1


def bounded_int(args: MultiDict, name: str, default: int, minimum: int, maximum: int) -> int:
    """`default` when missing or not a number, else the number moved into [minimum, maximum]."""
    value = _int_or_none(args.get(name))
    return default if value is None else min(max(value, minimum), maximum)


def id_arg(args: MultiDict, name: str) -> int | None:
    """A row id from the query string (?column=3), or None for one no row can have."""
    value = _int_or_none(args.get(name))
    return value if value is not None and 0 <= value <= MAX_ID else None
