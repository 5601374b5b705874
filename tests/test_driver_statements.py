"""A statement run straight on the driver (app/common/driver_statements.py) behaves as SQLAlchemy's
own execution of it: the same SQL, the same values in and out, SQLAlchemy's errors, visible to
engine events. The booking's statements run this way (app/booking/statements.py)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, event, exc, select, update

from app.booking.models import Registration
from app.catalog.models import CampSession
from app.common.driver_statements import DriverStatement, insert_columns
from app.common.time import UtcDateTime, utcnow
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.service import queue_templated
from tests.factories import make_session, make_user

sessions = CampSession.__table__


def _session_row():
    return select(sessions.c.id, sessions.c.starts_at, sessions.c.price, sessions.c.label).where(
        sessions.c.id == bindparam("session_id"))


def _statements_seen(run) -> list[str]:
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_a_row_comes_back_as_sqlalchemy_gives_it(app):
    """Aware UTC datetimes, exact Decimal money, text with characters beyond the BMP."""
    with app.app_context():
        session_id = make_session(price="3980.00", label="䶮𠮷 专场")
        expected = tuple(db.session.connection().execute(_session_row(), {"session_id": session_id}).one())

        got = DriverStatement(_session_row).execute(db.session.connection(), {"session_id": session_id})

        assert got == expected
        assert got[1].tzinfo is not None and got[2] == Decimal("3980.00") and got[3] == "䶮𠮷 专场"
        assert DriverStatement(_session_row).execute(db.session.connection(), {"session_id": session_id + 1}) is None


def test_values_go_in_as_sqlalchemy_sends_them(app):
    """A datetime parameter is stored and compared the way the ORM stores it, so it finds the row."""
    with app.app_context():
        session_id = make_session()
        starts_at = db.session.get(CampSession, session_id).starts_at
        db.session.rollback()
        moved = starts_at + timedelta(hours=1, microseconds=250)
        statement = DriverStatement(lambda: update(sessions).where(sessions.c.id == bindparam("session_id"))
                                    .values(starts_at=bindparam("starts_at", type_=UtcDateTime()))
                                    .returning(sessions.c.starts_at))

        returned = statement.execute(db.session.connection(), {"session_id": session_id, "starts_at": moved})
        db.session.commit()

        assert returned == (moved,)
        assert db.session.get(CampSession, session_id).starts_at == moved
        found = db.session.scalars(select(CampSession.id).where(CampSession.starts_at == moved)).all()
        assert found == [session_id]


def test_it_runs_the_sql_sqlalchemy_would_run_and_events_see_it(app):
    with app.app_context():
        session_id = make_session()
        connection = db.session.connection()
        by_sqlalchemy = _statements_seen(lambda: connection.execute(_session_row(), {"session_id": session_id}))
        by_driver = _statements_seen(
            lambda: DriverStatement(_session_row).execute(connection, {"session_id": session_id}))

        assert by_driver == by_sqlalchemy and len(by_driver) == 1


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(app):
    """The booking service tells a double booking by SQLAlchemy's IntegrityError."""
    with app.app_context():
        session_id, user_id = make_session(), make_user(app, "xue@example.com")
        columns = ("session_id", "user_id", "status", "ticket_code", "source", "created_at")
        statement = DriverStatement(lambda: insert_columns(Registration.__table__, columns))
        row = {"session_id": session_id, "user_id": user_id, "status": "confirmed", "ticket_code": "K7MQ2XPD9RTW",
               "source": "web", "created_at": utcnow()}
        statement.execute(db.session.connection(), row)

        with pytest.raises(exc.IntegrityError):
            statement.execute(db.session.connection(), {**row, "ticket_code": "ABCDEFGHJKMN"})  # one active each
        db.session.rollback()

        assert db.session.scalar(select(Registration.id)) is None


def test_a_templated_email_takes_the_servers_defaults_and_is_due_at_once(app):
    """mail.service.queue_message (every booking email) inserts the builder's columns on the driver
    and leaves status, attempts and when it is due to the database: the sender must find it."""
    with app.app_context():
        queue_templated("xue@example.com", "booking_confirmed", registration_id=1, waitlist_position=None)
        queue_templated(None, "booking_confirmed", registration_id=2, waitlist_position=None)  # no address: none
        db.session.commit()

        message = db.session.scalars(select(OutboxMessage)).one()
        assert (message.status, message.attempts, message.to_address) == (OutboxStatus.PENDING, 0, "xue@example.com")
        assert message.context == {"registration_id": 1, "waitlist_position": None} and message.attachments == []
        assert message.created_at.tzinfo is not None and message.next_attempt_at is not None
        # The sender's question (mail/sender.py): pending and next_attempt_at <= now.
        due = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING,
                                             OutboxMessage.next_attempt_at <= utcnow() + timedelta(seconds=1))
        assert db.session.scalars(due).all() == [message.id]


def test_a_lost_connection_is_invalidated_and_the_next_request_gets_a_new_one(app):
    """PostgreSQL restarted or the connection cut mid-rush (on SQLite: the connection closed): the
    booking fails as SQLAlchemy's error, and the pool never hands that connection out again."""
    with app.app_context():
        session_id = make_session()
        connection = db.session.connection()
        if db.engine.dialect.name == "postgresql":
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with db.engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(backend)})")
        else:
            connection.connection.dbapi_connection.close()

        with pytest.raises(exc.DBAPIError) as raised:
            DriverStatement(_session_row).execute(connection, {"session_id": session_id})
        assert raised.value.connection_invalidated
        db.session.rollback()

        again = DriverStatement(_session_row).execute(db.session.connection(), {"session_id": session_id})
        assert again[0] == session_id
