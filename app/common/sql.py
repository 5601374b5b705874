"""SQL building blocks both databases render their own way, for rows that statements build from
other rows (the booking's email and audit entry are selected from the registration it inserts)."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, literal, literal_column, null
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db

_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.:]*")


def constant(value: int | str) -> ColumnElement:
    """A constant of our own code (a status, a template name, a JSON key) written into the SQL
    rather than bound: statements that run in a rush stay short (psycopg caches the parsing of
    statements up to 4 kB) and carry fewer parameters. Never for input: only plain words pass."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"not a SQL constant: {value!r}")
    if isinstance(value, int):
        return literal_column(str(value))
    if not _PLAIN_TEXT.fullmatch(value):
        raise ValueError(f"not a plain word: {value!r}")
    return literal_column(f"'{value}'")


def dialect_insert(table):
    """INSERT with on_conflict_do_nothing / on_conflict_do_update (both dialects spell them alike)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def is_sql(value: Any) -> bool:
    return isinstance(value, ColumnElement)


def sql_value(value: Any, type_=None) -> ColumnElement:
    """`value` as a column of a SELECT: itself if it is SQL already, NULL for None (a bound None
    has no type PostgreSQL can infer), else a bound parameter."""
    if is_sql(value):
        return value
    return null() if value is None else literal(value, type_)


class json_object(FunctionElement):  # noqa: N801 (a SQL function's name)
    """A JSON object built in SQL from keys and column expressions: json_object(key=expression, ...).
    PostgreSQL's json_build_object, SQLite's json_object; a NULL value is kept as null."""

    type = JSON()
    inherit_cache = True

    def __init__(self, **fields: Any) -> None:
        arguments = []
        for key, value in fields.items():
            arguments += [constant(key), sql_value(value)]
        super().__init__(*arguments)


@compiles(json_object, "postgresql")
def _json_object_postgresql(element, compiler, **kw) -> str:
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_object)
def _json_object_sqlite(element, compiler, **kw) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


def json_value(fields: dict[str, Any]) -> Any:
    """A JSON column's value from a dict whose values may be SQL: the dict itself when none is (bound
    as JSON), else json_object of it."""
    if any(is_sql(value) for value in fields.values()):
        return json_object(**fields)
    return fields


class plus_seconds(FunctionElement):  # noqa: N801 (a SQL function's name)
    """A UTC timestamp (column or parameter) plus a whole number of seconds (column or parameter),
    as a timestamp both databases store it: PostgreSQL adds an interval; SQLite, which keeps
    timestamps as text ('YYYY-MM-DD HH:MM:SS.ffffff', app/common/time.py), shifts the seconds with
    strftime and keeps the fraction, so the result compares and reads back like any other."""

    inherit_cache = True

    def __init__(self, timestamp, seconds) -> None:
        super().__init__(timestamp, seconds)
        self.type = timestamp.type


@compiles(plus_seconds, "postgresql")
def _plus_seconds_postgresql(element, compiler, **kw) -> str:
    timestamp, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({timestamp} + {seconds} * interval '1 second')"


@compiles(plus_seconds)
def _plus_seconds_sqlite(element, compiler, **kw) -> str:
    timestamp, seconds = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {timestamp}, {seconds} || ' seconds') || substr({timestamp}, 20))"


class earliest(FunctionElement):  # noqa: N801 (a SQL function's name)
    """The earlier of two timestamps, either of which may be NULL (then the other; NULL if both):
    PostgreSQL's LEAST ignores NULLs so; SQLite's min() would answer NULL."""

    inherit_cache = True

    def __init__(self, first, second) -> None:
        super().__init__(first, second)
        self.type = first.type


@compiles(earliest, "postgresql")
def _earliest_postgresql(element, compiler, **kw) -> str:
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(earliest)
def _earliest_sqlite(element, compiler, **kw) -> str:
    first, second = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"coalesce(min({first}, {second}), {first}, {second})"
