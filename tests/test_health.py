"""The load balancer's probes: /healthz says the process answers, /readyz that the database answers
and is migrated to this release's head. A probe never gets a 500, never waits long on a database
that hangs, is never rate limited, and is answered whatever Host the prober names."""
from __future__ import annotations

import socket
import time

import flask_migrate
import pytest
from sqlalchemy import event, text

from app import create_app
from app.extensions import db
from tests.conftest import free_port
from tests.test_config import _run_python

BEHIND = "0010"  # a revision the migrations have, before their head
UNKNOWN = "ffffffffffff"  # one they do not have: a newer release's


@pytest.fixture
def probed(fresh_database_url):
    """An app on a new, empty database of the suite's kind (the file exists: the app has run)."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with app.app_context():
        db.engine.connect().close()
    yield app
    with app.app_context():
        db.engine.dispose()  # PostgreSQL cannot drop a database while connections are open


def stamp(app, revision: str) -> None:
    """Set the database's Alembic revision, as `flask db upgrade` / `flask db stamp` leave it."""
    with app.app_context():
        flask_migrate.stamp(revision=revision)


def readyz(app) -> tuple[int, str]:
    response = app.test_client().get("/readyz")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/plain"
    return response.status_code, response.get_data(as_text=True)


def test_ready_when_the_database_is_at_the_head(probed):
    stamp(probed, "head")
    status, body = readyz(probed)
    assert status == 200, body
    assert body.startswith("ready: ")


def test_not_ready_before_any_migration(probed):
    status, body = readyz(probed)
    assert status == 503
    assert body == "not ready: the database has no migrations applied (run: flask db upgrade)\n"


def test_not_ready_when_every_migration_was_undone(probed):
    stamp(probed, "head")
    stamp(probed, "base")  # alembic_version is there, empty
    status, body = readyz(probed)
    assert status == 503 and "no migrations applied" in body


def test_not_ready_behind_the_head_and_ready_once_upgraded(probed):
    stamp(probed, BEHIND)
    status, body = readyz(probed)
    assert status == 503
    assert f"the database is at {BEHIND}, behind this release's" in body and "flask db upgrade" in body

    stamp(probed, "head")  # the same process: the head was read once, the revision is read each time
    assert readyz(probed)[0] == 200


def test_still_ready_when_a_newer_release_migrated_the_database_first(probed):
    """A deploy migrates before it restarts the instances: the old ones keep serving meanwhile."""
    stamp(probed, "head")
    with probed.app_context(), db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :unknown"), {"unknown": UNKNOWN})
    status, body = readyz(probed)
    assert status == 200
    assert body.startswith(f"ready: the database is at {UNKNOWN}, ahead of this release's")


def test_a_probe_asks_the_database_one_query(probed):
    stamp(probed, "head")
    client = probed.test_client()
    assert client.get("/readyz").status_code == 200  # the first probe reads the migration scripts
    statements: list[str] = []
    probe_engine = probed.extensions["readiness_probe"].engine
    record = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(probe_engine, "before_cursor_execute", record)
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        event.remove(probe_engine, "before_cursor_execute", record)
    assert [s for s in statements if not s.startswith("BEGIN")] == ["SELECT version_num FROM alembic_version"]


def test_not_ready_at_once_when_nothing_listens_on_the_database_port():
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"})
    started = time.monotonic()
    status, body = readyz(app)
    assert (status, body) == (503, "not ready: the database does not answer\n")
    assert time.monotonic() - started < 1


def test_not_ready_within_the_timeout_when_the_database_hangs():
    """A server that takes the connection and never says a word (a database stopped, or behind a
    dead link): the probe gives up after READYZ_TIMEOUT_SECONDS instead of holding the worker."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        port = silent.getsockname()[1]
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/x",
                                     "READYZ_TIMEOUT_SECONDS": 2})
        started = time.monotonic()
        status, body = readyz(app)
        waited = time.monotonic() - started
    assert (status, body) == (503, "not ready: the database does not answer\n")
    assert 1.5 < waited < 4


def test_not_ready_within_the_timeout_while_a_migration_locks_the_version_table(probed):
    """PostgreSQL: a migration holds alembic_version for its whole transaction; the probe's
    statement_timeout ends its wait."""
    with probed.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite readers do not wait for a writer (WAL)")
    stamp(probed, "head")
    with probed.app_context(), db.engine.connect() as migration:
        migration.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        status, body = readyz(probed)
        waited = time.monotonic() - started
        migration.rollback()
    assert (status, body) == (503, "not ready: the database did not answer within 2 s "
                                   "(alembic_version locked by a migration?)\n")
    assert 1.5 < waited < 4
    assert readyz(probed)[0] == 200


def test_not_ready_when_the_sqlite_file_is_not_there_and_none_is_left_behind(tmp_path):
    missing = tmp_path / "gone" / "app.db"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})
    assert readyz(app) == (503, "not ready: the database does not answer\n")
    assert not missing.parent.exists()
    (tmp_path / "gone").mkdir()
    assert readyz(app)[0] == 503
    assert not missing.exists()  # the probe opened nothing it would have had to create


def test_health_probes_are_answered_for_the_address_a_load_balancer_uses(probed):
    """Production refuses hosts other than the site's (TRUSTED_HOSTS); a prober names the instance's
    address, and a 400 there would take every instance out of rotation."""
    stamp(probed, "head")
    probed.config["TRUSTED_HOSTS"] = ["xue.example.com"]
    client = probed.test_client()
    for host in ("127.0.0.1:8081", "10.0.0.5"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200
        assert client.get("/readyz", headers={"Host": host}).status_code == 200
        assert client.head("/readyz", headers={"Host": host}).status_code == 200
        # Everything else is still refused for that host, a probe's path with another method too.
        assert client.get("/", headers={"Host": host}).status_code == 400
        assert client.post("/healthz", headers={"Host": host}).status_code == 400
        assert client.get("/healthz/x", headers={"Host": host}).status_code == 400
    assert client.get("/readyz", headers={"Host": "xue.example.com"}).status_code == 200


def test_health_probes_are_never_rate_limited():
    """In a process of its own: the limiter is one object, and a default limit would stay on it."""
    result = _run_python("""
        from app import create_app
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_DEFAULT": "2 per minute"})
        client = app.test_client()
        print(*[client.get("/favicon.ico").status_code for _ in range(3)])
        print(*[client.get("/healthz").status_code for _ in range(5)])
        print(*[client.get("/readyz").status_code for _ in range(5)])
    """, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["301 301 429", "200 200 200 200 200", "503 503 503 503 503"]
