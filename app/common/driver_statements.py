"""Core statements run straight on the database driver's cursor, for the booking rush.

A booking runs a few statements while every other booking of its session waits (the session's
row lock on PostgreSQL, the database's write lock on SQLite). Run through `Connection.execute`,
SQLAlchemy's part of each (the compiled-cache lookup, building the parameters, the execution
context, wrapping the result) cost about as much CPU as the database's own work
(bench/booking_cpu.py, docs/performance.md). A `DriverStatement` keeps what SQLAlchemy would do
once per statement and dialect: the SQL as SQLAlchemy compiles it, the order of its parameters,
and each type's own bind and result processors. Each run is then one `cursor.execute` with the
values converted exactly as SQLAlchemy converts them, and the row converted back the same way.

What callers keep from SQLAlchemy: the statement is still built with Core (one source for the
SQL), it runs on the Session's connection inside its transaction, engine events see it
(`before_cursor_execute` / `after_cursor_execute`, with no execution context, as their API
allows), and a driver error is raised as SQLAlchemy's (IntegrityError, OperationalError...), a
lost connection invalidated as SQLAlchemy would. tests/test_driver_statements.py holds it to the
same SQL and the same values as `Connection.execute`.

Only for statements whose parameters are all named bind parameters (no expanding IN lists, no
Python-side column defaults: an INSERT lists its columns, see `insert_columns`).
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc, insert, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter


@dataclass
class _Compiled:
    sql: str
    positional: bool
    names: Sequence[str]  # parameter names in the order the SQL takes them (positional) or as keys
    distinct_names: Sequence[str]
    fixed: dict[str, Any]  # values the statement carries itself (bound literals)
    bind_processors: dict[str, Any]
    result_types: list  # each returned column's type for this dialect
    result_processors: list | None = None  # made from the first result's description (PostgreSQL's numerics need it)


class DriverStatement:
    """A Core statement (built by `build`, called once) compiled once per dialect and run on the
    DBAPI cursor of a SQLAlchemy connection."""

    def __init__(self, build) -> None:
        self._build = build
        self._statement: Executable | None = None
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    @property
    def statement(self) -> Executable:
        if self._statement is None:
            self._statement = self._build()
        return self._statement

    def compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.statement
        compiled = statement.compile(dialect=dialect)
        binds: dict[str, BindParameter] = compiled.binds
        names = list(compiled.positiontup) if compiled.positional else list(binds)
        returned = list(statement.exported_columns)  # a RETURNING's or SELECT's columns, or none
        return _Compiled(
            sql=compiled.string,
            positional=compiled.positional,
            names=names,
            distinct_names=list(dict.fromkeys(names)),
            fixed={name: bind.effective_value for name, bind in binds.items() if not bind.required},
            bind_processors={name: processor for name in set(names)
                             if (processor := binds[name].type.dialect_impl(dialect).bind_processor(dialect))},
            result_types=[column.type.dialect_impl(dialect) for column in returned],
        )

    def parameters(self, compiled: _Compiled, values: Mapping[str, Any]):
        """The driver's parameters: each value converted by its type's bind processor (None stays None)."""
        fixed, processors = compiled.fixed, compiled.bind_processors
        converted = {}
        for name in compiled.distinct_names:  # once each: a positional statement may take one several times
            value = values[name] if name in values else fixed[name]
            processor = processors.get(name)
            converted[name] = value if processor is None or value is None else processor(value)
        if compiled.positional:
            return [converted[name] for name in compiled.names]
        return converted

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> tuple | None:
        """Run the statement with these parameter values in the connection's transaction; the first
        row it returns, converted as SQLAlchemy converts it (a tuple in the statement's column
        order), or None."""
        dialect = connection.dialect
        compiled = self.compiled(dialect)
        parameters = self.parameters(compiled, values)
        dispatch = connection.dispatch
        try:
            cursor = connection.connection.dbapi_connection.cursor()
        except dialect.loaded_dbapi.Error as error:  # a connection closed under us (SQLite)
            raise _sqlalchemy_error(connection, None, compiled.sql, parameters, error) from error
        try:
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(connection, cursor, compiled.sql, parameters, None, False)
            try:
                cursor.execute(compiled.sql, parameters)
                # Whether it returns rows is known from the statement: psycopg builds a new
                # description, an object per column, at every look.
                row = cursor.fetchone() if compiled.result_types else None
            except dialect.loaded_dbapi.Error as error:
                raise _sqlalchemy_error(connection, cursor, compiled.sql, parameters, error) from error
            if dispatch.after_cursor_execute:
                dispatch.after_cursor_execute(connection, cursor, compiled.sql, parameters, None, False)
            if row is None:
                return None
            if compiled.result_processors is None:
                compiled.result_processors = [
                    type_.result_processor(dialect, description[1])
                    for type_, description in zip(compiled.result_types, cursor.description, strict=True)]
            return tuple(value if processor is None or value is None else processor(value)
                         for processor, value in zip(compiled.result_processors, row, strict=True))
        finally:
            cursor.close()


def _sqlalchemy_error(connection: Connection, cursor, sql: str, parameters, error: Exception) -> exc.DBAPIError:
    """The driver's error as SQLAlchemy raises it from Connection.execute; a connection the
    dialect says is lost is invalidated first, so the pool never hands it out again."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if lost:
        connection.invalidate(error)
    return exc.DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error,
                                   connection_invalidated=lost, dialect=dialect)


def insert_columns(table, columns: Sequence[str]):
    """INSERT of exactly these columns of `table`, their values the bind parameters of the same
    names; the other columns take their server defaults (no Python-side defaults, which only
    Connection.execute would fill in)."""
    values = select(*(BindParameter(column, type_=table.c[column].type, required=True).label(f"c{n}")
                      for n, column in enumerate(columns)))
    return insert(table).from_select(list(columns), values, include_defaults=False)
