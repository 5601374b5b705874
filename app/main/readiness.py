"""GET /readyz: may the load balancer send this instance requests? Yes when the database answers
and its Alembic revision is this release's head (or a newer release's, mid-deploy); no (503) when
it is down, hangs, has no migrations, or is behind the code.

Redis is not asked: every instance shares it, so a Redis outage would take all of them out of
rotation at once, while the app carries on without it (the limiter counts in memory, pages are
rendered uncached, counts are buffered in the process).

The probe uses connections of its own (NullPool: opened and closed each time, nothing to go stale
or to share across a fork), never the request pool: a hung database must cost a probe
READYZ_TIMEOUT_SECONDS, not the pool's 30 s wait or psycopg's 130 s default connect timeout.
- PostgreSQL: `connect_timeout` bounds the whole connection start (a server that accepts TCP and
  then says nothing included), the `statement_timeout` set at connection start bounds the query
  (a lock on alembic_version held by a migration included); autocommit, so the query is the only
  round trip after the start.
- SQLite: the file is opened read-write without creating it (a probe must not leave an empty
  database where a missing one was), with READYZ_TIMEOUT_SECONDS as its busy timeout.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from urllib.parse import quote

from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from app.extensions import db

log = logging.getLogger(__name__)

_EXTENSION = "readiness_probe"
_CURRENT_REVISIONS = text("SELECT version_num FROM alembic_version")
_UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATEs: a table that does not exist,
_QUERY_CANCELED = "57014"  # a statement that ran past statement_timeout


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str  # one line for the operator: the revision the database is at, or why not ready


@dataclass(frozen=True)
class Migrations:
    """This release's migration scripts: their head(s), and every revision they know."""

    heads: frozenset[str]
    known: frozenset[str]


class _Probe:
    """What a process reads once: the migrations and the probe's engine."""

    def __init__(self, app: Flask) -> None:
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        self.migrations = Migrations(frozenset(script.get_heads()),
                                     frozenset(revision.revision for revision in script.walk_revisions()))
        self.engine = _probe_engine(app.config["SQLALCHEMY_DATABASE_URI"], app.config["READYZ_TIMEOUT_SECONDS"])
        self.last_reason: str | None = None


_probe_lock = threading.Lock()


def _probe_of(app: Flask) -> _Probe:
    probe = app.extensions.get(_EXTENSION)
    if probe is None:
        with _probe_lock:
            probe = app.extensions.get(_EXTENSION)
            if probe is None:
                probe = app.extensions[_EXTENSION] = _Probe(app)
    return probe


def check_readiness() -> Readiness:
    """One query: the database's revision(s), compared with the migrations' head(s). Never raises."""
    app = current_app._get_current_object()
    try:
        probe = _probe_of(app)
    except Exception:  # not kept: the next probe reads the scripts again
        log.exception("readyz: the migration scripts could not be read")
        return Readiness(False, "this release's migration scripts cannot be read")
    cause = ""
    try:
        with (probe.engine or db.engine).connect() as connection:
            revisions = frozenset(connection.execute(_CURRENT_REVISIONS).scalars())
    except Exception as error:  # whatever the driver raises, the answer is a 503, never a 500
        if _is_missing_table(error):
            readiness = compare(frozenset(), probe.migrations)
        elif _sqlstate(error) == _QUERY_CANCELED:
            readiness = Readiness(False, f"the database did not answer within {app.config['READYZ_TIMEOUT_SECONDS']} s "
                                         "(alembic_version locked by a migration?)")
        else:
            readiness = Readiness(False, "the database does not answer")
            cause = f" ({type(error).__name__}: {getattr(error, 'orig', None) or error})"  # the log's, not the body's
    else:
        readiness = compare(revisions, probe.migrations)
    if probe.last_reason != readiness.reason:  # once a change, not once a probe
        (log.info if readiness.ready else log.warning)("readyz: %s%s", readiness.reason, cause)
        probe.last_reason = readiness.reason
    return readiness


def compare(revisions: frozenset[str], migrations: Migrations) -> Readiness:
    """Ready at the head(s), and ahead of them: a deploy migrates first, while the old release still
    serves, and every migration must leave the database usable by the release before it
    (docs/deployment.md), so an old instance stays in rotation until its restart. Behind, the code
    would query columns that are not there yet."""
    at = ", ".join(sorted(revisions))
    head = ", ".join(sorted(migrations.heads))
    if revisions == migrations.heads:
        return Readiness(True, f"the database is at {at}, this release's head")
    if not revisions:
        return Readiness(False, "the database has no migrations applied (run: flask db upgrade)")
    if revisions - migrations.known:
        return Readiness(True, f"the database is at {at}, ahead of this release's {head} "
                               f"(a newer release migrated it; restart this instance with the new code)")
    return Readiness(False, f"the database is at {at}, behind this release's {head} (run: flask db upgrade)")


def _sqlstate(error: Exception) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)  # PostgreSQL's; SQLite has none


def _is_missing_table(error: Exception) -> bool:
    return _sqlstate(error) == _UNDEFINED_TABLE or "no such table" in str(getattr(error, "orig", ""))


def _probe_engine(database_uri: str, timeout_seconds: int) -> Engine | None:
    """An engine whose connections give up after `timeout_seconds`; None for an in-memory SQLite
    database (only the app's own connection sees it; tests)."""
    url = make_url(database_uri)
    if url.get_backend_name() == "postgresql":
        options = url.query.get("options")
        options = " ".join(options) if isinstance(options, tuple) else options
        statement_timeout = f"-c statement_timeout={timeout_seconds * 1000}"
        return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={
            "connect_timeout": timeout_seconds,
            # Beside any options DATABASE_URL gives (a search_path), which connect_args would replace.
            "options": f"{options} {statement_timeout}" if options else statement_timeout,
        })
    if url.get_backend_name() == "sqlite":
        url = _sqlite_without_creating(url)
        if url is None:
            return None
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": timeout_seconds})
    return create_engine(url, poolclass=NullPool)


def _sqlite_without_creating(url: URL) -> URL | None:
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    if url.query.get("uri") or database.startswith("file:"):
        return url  # the operator's own URI: its mode is theirs
    path = quote(os.path.abspath(database))
    return url.set(database=f"file:{path}", query={**url.query, "mode": "rw", "uri": "true"})
