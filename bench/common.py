"""What the benchmarks share: a fresh database of either kind and the production-like settings
the app runs with under them."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Connected to for CREATE / DROP DATABASE only; the benchmarks never touch the tests' database.
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_database(kind: str, workdir: Path, pg_name: str) -> str:
    """An empty database: an SQLite file in `workdir`, or PostgreSQL database `pg_name` made anew."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {pg_name}"))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name


# One key per benchmark process: the API tokens made in-process must verify in the gunicorn workers.
_SECRET_KEY = secrets.token_hex(32)
# The settings create_app() reads from the environment, for the benchmarks that build the app in-process.
APP_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "SITE_URL", "TRUSTED_HOSTS")


def production_env(database_url: str) -> dict[str, str]:
    """Production settings for a benchmark run, rate limits off (a load test, not a test of the limits)."""
    return {
        **os.environ,
        "APP_CONFIG": "production",
        "SECRET_KEY": _SECRET_KEY,
        "DATABASE_URL": database_url,
        # gunicorn on 127.0.0.1 and the in-process test client (Host: localhost)
        "SITE_URL": "http://127.0.0.1",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
