"""Database engine set-up that the rest of the app relies on.

SQLite is the embedded default, so it is tuned to behave under concurrent requests:
- WAL lets readers carry on while one writer writes;
- busy_timeout makes a second writer wait for the lock instead of failing at once;
- pysqlite's own transaction handling is switched off so that we emit BEGIN ourselves, and
  state changes start with BEGIN IMMEDIATE (see `begin_write`). A deferred transaction that
  reads first and writes later can fail with "database is locked" without waiting, because
  SQLite cannot upgrade a stale read snapshot; taking the write lock up front avoids that.
This is SQLAlchemy's documented pysqlite recipe.
- no memory map of the file (mmap_size 0): see _configure_sqlite_connection;
- Writers that would wait queue on a lock file first (`QueuedWriterConnection`): SQLite's busy
  handler polls with growing sleeps (1, 2, 5, 10 ... ms), so in a booking rush the write lock sat
  free while waiting writers slept; the kernel wakes a process waiting on flock as soon as it is
  released.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.extensions import db

try:
    import fcntl
except ImportError:  # Windows has no flock: writers there rely on the busy timeout alone
    fcntl = None

_IMMEDIATE = "sqlite_begin_immediate"
# Session.info key: the transaction a `write_transaction` function has begun and will commit.
_OPEN_WRITE = "app_open_write_transaction"


class QueuedWriterConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions take turns on `<database>-writers`.

    `take_write_turn()` blocks on an exclusive flock of that file until no other writer of this
    database (in any process or thread: each connection has its own open file) holds it; COMMIT
    or ROLLBACK gives the turn back, after SQLite has released its own lock. Writers that do not
    queue (the sqlite3 shell, a deferred transaction that starts writing) still meet SQLite's lock
    and its busy timeout. A process that dies holding the turn loses it with its open files.
    """

    # The queues whose turn each thread holds: a second connection of the same thread asking for
    # the same turn would wait for itself for ever (SQLite's busy timeout used to end that wait).
    _held_by_thread = threading.local()

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        path = os.fsdecode(database)
        queued = fcntl is not None and path not in ("", ":memory:") and not path.startswith("file:")
        self._queue_path = os.path.realpath(path + "-writers")
        self._queue = open(self._queue_path, "ab") if queued else None  # noqa: SIM115 (lives with the connection)
        self._has_turn = False

    def take_write_turn(self) -> None:
        if self._queue is None or self._has_turn:
            return
        held = self._held_by_thread.__dict__.setdefault("paths", set())
        if self._queue_path in held:
            raise RuntimeError("a write transaction started inside another one on the same database "
                               "and thread: it would wait for itself")
        fcntl.flock(self._queue.fileno(), fcntl.LOCK_EX)
        self._has_turn = True
        held.add(self._queue_path)

    def give_back_turn(self) -> None:
        if self._has_turn:
            fcntl.flock(self._queue.fileno(), fcntl.LOCK_UN)
            self._has_turn = False
            self._held_by_thread.__dict__.setdefault("paths", set()).discard(self._queue_path)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back_turn()
            if self._queue is not None:
                self._queue.close()


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
    # No memory map of the file, whatever the build's default: a transaction that finds another
    # process's commit in the WAL (every booking in a rush, one gunicorn worker after another)
    # unmaps the whole file, maps it again and faults in each page it touches; reading its few
    # pages into its own cache costs less (a booking's CPU 1.93 against 2.26 ms with a 128 MiB
    # map, docs/performance.md, session 12).
    cursor.execute("PRAGMA mmap_size = 0")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite_transaction(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    if not connection.get_execution_options().get(_IMMEDIATE, False):
        connection.exec_driver_sql("BEGIN")
        return
    _begin_immediate(connection)


def _begin_immediate(connection) -> None:
    """SQLite's write transaction, after this writer's turn in the queue (QueuedWriterConnection)."""
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, QueuedWriterConnection):
        dbapi_connection.take_write_turn()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(dbapi_connection, QueuedWriterConnection):
            dbapi_connection.give_back_turn()
        raise


def begin_write() -> None:
    """Start the transaction of a state change.

    Call it first in every service function that writes. On SQLite it takes the write lock
    now, so concurrent writers queue for it; on PostgreSQL it starts a transaction, or goes on
    with the one the request's reads began: at READ COMMITTED every statement sees what is
    committed when it starts, so ending it would only cost two round trips (row locks and
    constraints do the rest). Either way, whatever the request read before is expired and
    reloaded when next used, so checks see current data.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if _OPEN_WRITE in session.info:
        return  # a step of a write transaction already begun (see write_transaction)
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unsaved changes in the session")
        transaction = session.get_transaction()
        if transaction is not None and transaction.is_active:
            session.expire_all()
            if session.get_bind().dialect.name == "sqlite":
                _upgrade_to_write(session.connection())
            return
        session.rollback()
    session.connection(execution_options={_IMMEDIATE: True})


def _upgrade_to_write(connection) -> None:
    """SQLite: end the request's read transaction (the login's, the token check's) and begin the
    write on the same connection, so that what is written is decided on data read under the write
    lock. On the same connection rather than through a rollback, which would give the connection
    back to the pool and take one out again: a booking in a rush saves that much."""
    connection.exec_driver_sql("ROLLBACK")  # only reads happened (no unsaved changes: checked above)
    _begin_immediate(connection)


P = ParamSpec("P")
R = TypeVar("R")


def write_transaction(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service function as one write transaction: begin_write(), then commit when it
    returns, roll back when it raises (a domain error or anything else). Nothing half-done stays.

    Called while another one runs, it is a step of that one: it neither begins nor commits, and
    whatever it raises rolls the whole back once it leaves the outer function. So one user action
    made of several service functions (complete the profile, then book) is an outer
    `@write_transaction` function calling them: it commits once, or not at all. A step that ends
    the transaction early (a commit or rollback of its own) is a bug, refused loudly. An outer
    function that catches a step's error and goes on keeps what the step wrote before raising.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session()
        if _OPEN_WRITE in session.info:
            return func(*args, **kwargs)
        begin_write()
        session.info[_OPEN_WRITE] = transaction = session.get_transaction()
        try:
            result = func(*args, **kwargs)
            if session.get_transaction() is not transaction:
                raise RuntimeError(f"{func.__qualname__}: a step ended the write transaction before it was done")
            del session.info[_OPEN_WRITE]
            db.session.commit()
        except BaseException:
            session.info.pop(_OPEN_WRITE, None)
            db.session.rollback()
            raise
        return result

    return wrapper


def in_write_transaction() -> bool:
    """Whether a `write_transaction` function is running: what is written now commits with it."""
    return _OPEN_WRITE in db.session().info


@event.listens_for(Session, "before_commit")
def _refuse_commit_inside_write_transaction(session: Session) -> None:
    """A commit in the middle of a write transaction would keep the first half of a user action
    if the rest then failed. (A savepoint's release is no such commit.)"""
    if _OPEN_WRITE in session.info and not session.in_nested_transaction():
        raise RuntimeError("commit inside a write transaction: its function commits once, when it returns")


def render_migration_item(type_: str, obj, autogen_context) -> str | bool:
    """Alembic hook: write our column types as plain SQLAlchemy types in new migrations,
    so that revisions never import application code that may later change."""
    from app.common.time import UtcDateTime

    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False
