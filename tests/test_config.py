"""Settings an operator relies on: production refuses unsafe starts, and rate-limit counters can
live in Redis so that every gunicorn worker shares them."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import redis

from config import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter: config.py reads the environment when it is imported."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "APP_CONFIG"}}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {"APP_CONFIG": "production", "SECRET_KEY": "s3cret", "DATABASE_URL": "sqlite:////tmp/never-used.db"}
    del env[missing]
    result = _run_python("from app import create_app; create_app()", env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_cookies_are_secure():
    result = _run_python(
        """
        from app import create_app
        app = create_app()
        c = app.config
        print(c["SESSION_COOKIE_SECURE"], c["REMEMBER_COOKIE_SECURE"], c["SESSION_COOKIE_HTTPONLY"],
              c["SESSION_COOKIE_SAMESITE"], c["PREFERRED_URL_SCHEME"])
        """,
        {"APP_CONFIG": "production", "SECRET_KEY": "s3cret", "DATABASE_URL": "sqlite:////tmp/never-used.db"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "Lax", "https"]


def test_postgres_urls_as_hosts_write_them_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///instance/app.db") == "sqlite:///instance/app.db"


def test_login_limits_are_counted_in_redis_when_configured():
    """Several workers share one Redis: the limit holds across processes, not per process."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    script = """
        import sys
        from app import create_app
        from app.extensions import db
        app = create_app("testing", {
            "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_KEY_PREFIX": sys.argv[1], "WTF_CSRF_ENABLED": False,
        })
        with app.app_context():
            db.create_all()
        client = app.test_client()
        print(*[client.post("/account/login", data={"login": "a@example.com", "password": "x"}).status_code
                for _ in range(2)])
    """
    first = _run_python(script.replace("sys.argv[1]", repr(prefix)), {})
    second = _run_python(script.replace("sys.argv[1]", repr(prefix)), {})
    assert first.returncode == 0, first.stderr
    # Process one used 2 of the 3 attempts; process two gets 1 more, then 429: the count is shared.
    assert first.stdout.split() == ["200", "200"]
    assert second.stdout.split() == ["200", "429"]
    store = redis.Redis(host="127.0.0.1", port=6379)
    keys = store.keys(f"*{prefix}*")
    assert keys
    store.delete(*keys)
