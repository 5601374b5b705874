"""Concurrent writers queue for the database instead of failing.

On SQLite a state change that reads first and writes later, in a plain (deferred) transaction,
fails at once with "database is locked" when another writer committed in between. `begin_write()`
takes the write lock up front (BEGIN IMMEDIATE), so writers wait their turn on the busy timeout and
each one sees what the previous ones wrote. On PostgreSQL the same code simply runs transactions.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app import create_app
from app.common.db import QueuedWriterConnection, begin_write
from app.extensions import db
from app.mail.models import OutboxMessage
from app.mail.service import queue_email

WRITERS = 8


def test_parallel_writers_wait_for_each_other_instead_of_failing(app):
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    seen_before_writing: list[int] = []

    def writer(number: int) -> None:
        try:
            with app.app_context():  # its own session and connection
                start.wait(timeout=30)
                begin_write()
                # Read, then write in the same transaction, as a service checks before it changes.
                already_queued = db.session.scalar(select(func.count()).select_from(OutboxMessage))
                time.sleep(0.05)  # hold the transaction open so that the writers overlap
                queue_email(
                    f"writer{number}@example.com",
                    "重置您的密码",
                    "password_reset",
                    user=SimpleNamespace(display_name=f"学员{number}"),
                    link=f"https://example.com/account/reset/{number}",
                    valid_minutes=60,
                )
                db.session.commit()
                seen_before_writing.append(already_queued)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"
    assert errors == []
    with app.app_context():
        addresses = db.session.scalars(select(OutboxMessage.to_address)).all()
        dialect = db.engine.dialect.name
    assert sorted(addresses) == sorted(f"writer{n}@example.com" for n in range(WRITERS))
    if dialect == "sqlite":
        # The write lock is held from the first read to the commit: the writers ran one after
        # another, each seeing all the rows of those before it.
        assert sorted(seen_before_writing) == list(range(WRITERS))


# --- SQLite writers queue on a lock file (whatever database the suite runs on: these use their own file)


def _connect(path) -> QueuedWriterConnection:
    # A busy timeout of 0.1 s: a writer that waits longer than that waits in the queue, not in SQLite.
    return sqlite3.connect(path, timeout=0.1, isolation_level=None, check_same_thread=False,
                           factory=QueuedWriterConnection)


def _write_in_thread(connection: QueuedWriterConnection, value: int) -> tuple[threading.Thread, threading.Event, list]:
    done, errors = threading.Event(), []

    def write() -> None:
        try:
            connection.take_write_turn()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t VALUES (?)", (value,))
            connection.commit()
            done.set()
        except sqlite3.Error as error:
            errors.append(error)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread, done, errors


def test_a_sqlite_writer_waits_in_the_queue_until_the_holder_commits(tmp_path):
    path = str(tmp_path / "turns.db")
    holder, waiter = _connect(path), _connect(path)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.take_write_turn()
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")

    thread, done, errors = _write_in_thread(waiter, 2)

    # Three times the busy timeout: without the queue SQLite would have said "database is locked".
    assert not done.wait(0.3) and errors == []
    holder.commit()
    assert done.wait(10), "the waiting writer did not go when the turn was given back"
    thread.join(10)
    assert errors == []
    assert [row[0] for row in holder.execute("SELECT x FROM t ORDER BY x")] == [1, 2]


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_a_sqlite_writer_gives_its_turn_back_when_it_rolls_back_or_closes(tmp_path, end):
    path = str(tmp_path / "turns.db")
    holder, waiter = _connect(path), _connect(path)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.take_write_turn()
    holder.execute("BEGIN IMMEDIATE")

    getattr(holder, end)()

    _thread, done, errors = _write_in_thread(waiter, 2)
    assert done.wait(10) and errors == []


def test_the_app_connects_to_sqlite_with_queued_writers(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"})
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            assert isinstance(connection.dbapi_connection, QueuedWriterConnection)
        finally:
            connection.close()
        db.engine.dispose()


def test_a_nested_sqlite_write_in_the_same_thread_fails_at_once_instead_of_waiting_for_itself(tmp_path):
    path = str(tmp_path / "turns.db")
    outer, inner = _connect(path), _connect(path)
    outer.take_write_turn()

    with pytest.raises(RuntimeError, match="wait for itself"):
        inner.take_write_turn()

    outer.rollback()
    inner.take_write_turn()  # free again once the outer transaction has ended
    inner.rollback()



def test_the_wal_stays_bounded_while_writers_and_readers_keep_going(tmp_path):
    """A long rush (writers taking turns, readers checking tokens between them) must not grow the
    WAL for ever: every page a reader looks up then costs more, and the disk fills. SQLite's own
    checkpoint runs inside COMMIT, in the writer's turn, where no writer appends meanwhile, so
    one completes and the WAL starts again from its beginning. (Checkpoints run after the turn,
    tried once to shorten it, never completed while the others appended: 70 MB more WAL a rush.)"""
    path = str(tmp_path / "rush.db")
    setup = _connect(path)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE t (x TEXT)")
    row = "䶮" * 2500  # 7.5 kB: two pages and a bit
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        connection = _connect(path)
        try:
            for _ in range(500):
                connection.take_write_turn()
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("INSERT INTO t VALUES (?)", (row,))
                connection.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def reader() -> None:
        connection = _connect(path)
        while not stop.is_set():
            connection.execute("BEGIN")
            connection.execute("SELECT count(*) FROM t").fetchone()
            connection.execute("COMMIT")
            time.sleep(0.002)  # the next request

    readers = [threading.Thread(target=reader, daemon=True)]
    writers = [threading.Thread(target=writer) for _ in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()

    assert errors == []
    written = 2000 * 3 * 4096  # about what 2,000 transactions of 3 pages append, were the WAL never reset
    # Never started again, the WAL holds it all; started again now and then, well under half of it.
    assert os.path.getsize(path + "-wal") < written / 2
