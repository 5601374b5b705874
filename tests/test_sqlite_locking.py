"""Concurrent writers queue for the database instead of failing.

On SQLite a state change that reads first and writes later, in a plain (deferred) transaction,
fails at once with "database is locked" when another writer committed in between. `begin_write()`
takes the write lock up front (BEGIN IMMEDIATE), so writers wait their turn on the busy timeout and
each one sees what the previous ones wrote. On PostgreSQL the same code simply runs transactions.
"""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from sqlalchemy import func, select

from app.common.db import begin_write
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
