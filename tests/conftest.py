"""Fixtures: one app per test session, a clean database for every test, a client per role.

The database is SQLite (a file under instance/) unless TEST_DATABASE_URL points elsewhere;
`.ci/run` runs the suite once on each.
"""
from __future__ import annotations

import os
import socket
import threading
import uuid

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from app import create_app
from app.accounts.models import Role
from app.cms.count_buffer import buffers_of
from app.common import page_cache
from app.extensions import cache, db, limiter
from tests.factories import PASSWORD, make_user
from tests.helpers import login

# The payment providers' stand-ins (fixture `providers`); a server of the S3 API (fixture `s3_media`).
pytest_plugins = ["tests.payment_standins", "tests.s3_server"]


@pytest.fixture(scope="session")
def app():
    app = create_app("testing")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.engine.dispose()
            path = db.engine.url.database
            for suffix in ("", "-wal", "-shm"):
                if path and os.path.exists(path + suffix):
                    os.remove(path + suffix)
        db.drop_all()
        db.create_all()  # tests only; real databases are built by the migrations (see test_migrations)
    yield app
    with app.app_context():
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_database(app):
    """Every test starts with empty tables, no buffered view counts, no kept pages and fresh rate-limit
    counters."""
    yield
    with app.app_context():
        db.session.remove()
        buffers_of(app).clear()  # events left unflushed would count on the next test's articles
        _empty_all_tables()
        cache.clear()
    page_cache.forget_live_parts()
    limiter.reset()


@pytest.fixture
def fresh_database_url(app, tmp_path):
    """The URL of a new, empty database on the same kind of server as the suite's."""
    with app.app_context():
        suite_url = db.engine.url
    if suite_url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return

    name = f"migration_check_{uuid.uuid4().hex[:12]}"
    server = create_engine(suite_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield suite_url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


# Redis for the tests that share the count buffer through it; each test run has its own keys.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_REDIS_RUN_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
_COUNT_BUFFERS = "cms_count_buffers"  # app/cms/count_buffer.py keeps an app's buffers there


@pytest.fixture(scope="session")
def _redis_keys_of_this_run():
    """Deletes every Redis key this test run made, whatever a test left."""
    yield
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(match=f"{_REDIS_RUN_PREFIX}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_counts(app, monkeypatch, _redis_keys_of_this_run):
    """The app with its view counts buffered in Redis (under keys of this test only)."""
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS_URL)
    monkeypatch.setitem(app.config, "CMS_COUNT_REDIS_KEY", f"{_REDIS_RUN_PREFIX}:{uuid.uuid4().hex[:8]}:counts")
    app.extensions.pop(_COUNT_BUFFERS, None)  # the next event makes buffers from the settings above
    yield app
    buffers_of(app).clear()
    app.extensions.pop(_COUNT_BUFFERS, None)  # back to this process's memory after the test


@pytest.fixture(params=["memory", "redis"])
def counting(request, app):
    """Each test that uses it runs twice: counts buffered in this process, then in Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_counts")
    return request.param


@pytest.fixture
def ctx(app):
    """An application context, for tests that call services or query models directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def student(app):
    return make_user(app, "student@example.com", Role.STUDENT, "张喆", "13800000003")


@pytest.fixture
def staff(app):
    return make_user(app, "staff@example.com", Role.STAFF, "李助教", "13800000002")


@pytest.fixture
def admin(app):
    return make_user(app, "admin@example.com", Role.ADMIN, "王管理", "13800000001")


def _logged_in_client(app, email: str):
    client = app.test_client()
    response = login(client, email, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def student_client(app, student):
    return _logged_in_client(app, "student@example.com")


@pytest.fixture
def staff_client(app, staff):
    return _logged_in_client(app, "staff@example.com")


@pytest.fixture
def admin_client(app, admin):
    return _logged_in_client(app, "admin@example.com")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Inbox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        from email import message_from_bytes
        from email.policy import default

        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app, monkeypatch):
    """A real SMTP server on loopback (aiosmtpd); the app is pointed at it for this test."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    inbox.controller = controller
    yield inbox
    controller.stop()
