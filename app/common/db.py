"""Database engine set-up that the rest of the app relies on.

SQLite is the embedded default, so it is tuned to behave under concurrent requests:
- WAL lets readers carry on while one writer writes;
- busy_timeout makes a second writer wait for the lock instead of failing at once;
- pysqlite's own transaction handling is switched off so that we emit BEGIN ourselves, and
  state changes start with BEGIN IMMEDIATE (see `begin_write`). A deferred transaction that
  reads first and writes later can fail with "database is locked" without waiting, because
  SQLite cannot upgrade a stale read snapshot; taking the write lock up front avoids that.
This is SQLAlchemy's documented pysqlite recipe.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db

_IMMEDIATE = "sqlite_begin_immediate"


@event.listens_for(Engine, "connect")
def _configure_sqlite_connection(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN in _begin_sqlite_transaction
    # The busy timeout itself is pysqlite's `timeout` connect argument (set in create_app).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster commits
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite_transaction(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the transaction of a state change.

    Call it first in every service function that writes. On SQLite it takes the write lock
    now, so concurrent writers queue on busy_timeout; on PostgreSQL it simply starts a
    transaction (row locks and constraints do the rest). Whatever the request read before is
    expired and reloaded inside the new transaction, so checks see current data.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unsaved changes in the session")
        session.rollback()
    session.connection(execution_options={_IMMEDIATE: True})


P = ParamSpec("P")
R = TypeVar("R")


def write_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service function as one write transaction: begin_write(), then commit when it
    returns, roll back when it raises (a domain error or anything else). Nothing half-done stays."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        begin_write()
        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    return wrapper


def render_migration_item(type_: str, obj, autogen_context) -> str | bool:
    """Alembic hook: write our column types as plain SQLAlchemy types in new migrations,
    so that revisions never import application code that may later change."""
    from app.common.time import UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False
