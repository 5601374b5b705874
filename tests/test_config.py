"""Settings an operator relies on: production refuses unsafe starts, and rate-limit counters can
live in Redis so that every gunicorn worker shares them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import redis

from config import normalise_database_url
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter: config.py reads the environment when it is imported."""
    clean = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


UNSET = {"SECRET_KEY", "DATABASE_URL", "APP_CONFIG", "SITE_URL", "TRUSTED_HOSTS", "FLASK_DEBUG", "APP_INSTANCES",
         "REDIS_URL", "RATELIMIT_STORAGE_URI", "MEDIA_STORAGE"}
STRONG_KEY = "9f3c2a7d4e1b8c6f0a5d3e7b2c9f4a1d6e8b0c3f5a7d9e2b4c6f8a0d1e3b5c7f"
PRODUCTION = {"APP_CONFIG": "production", "SECRET_KEY": STRONG_KEY, "DATABASE_URL": "sqlite:////tmp/never-used.db",
              "SITE_URL": "https://xue.example.com"}
HOW_TO_MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "SITE_URL"])
def test_production_refuses_to_start_without_its_settings(missing):
    env = dict(PRODUCTION)
    del env[missing]
    result = _run_python("from app import create_app; create_app()", env)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("key", [
    "a", "s3cret", "dev-only-not-secret", "testing-secret", "changeme", "secret", "  Dev-Only-Not-Secret ",
    "x" * 31,  # one short of the minimum
    "a" * 64,  # long, but one character
])
def test_production_refuses_a_short_or_known_secret_key_and_says_how_to_make_one(key):
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and HOW_TO_MAKE_A_KEY in result.stderr


def test_a_key_made_the_suggested_way_is_accepted():
    made = subprocess.run(["python3", "-c", "import secrets; print(secrets.token_hex(32))"], capture_output=True,
                          text=True, check=True).stdout.strip()
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, "SECRET_KEY": made})
    assert result.returncode == 0, result.stderr


def test_a_start_without_app_config_is_production_not_debug():
    """`gunicorn wsgi:app` with nothing configured must not run the development settings."""
    bare = _run_python("import wsgi", {})
    assert bare.returncode != 0
    assert "SECRET_KEY" in bare.stderr and HOW_TO_MAKE_A_KEY in bare.stderr
    configured = {**{k: v for k, v in PRODUCTION.items() if k != "APP_CONFIG"}, "FLASK_DEBUG": "1"}
    result = _run_python("""
        import os, wsgi
        c = wsgi.app.config
        print(c["ENV_NAME"], wsgi.app.debug, c["SECRET_KEY"] == os.environ["SECRET_KEY"], c["TRUSTED_HOSTS"])
        """, configured)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "False", "True", "['xue.example.com']"]


def test_development_is_an_explicit_choice_with_its_own_key():
    result = _run_python("""
        import wsgi
        print(wsgi.app.config["ENV_NAME"], wsgi.app.debug, wsgi.app.config["SECRET_KEY"])
        """, {"APP_CONFIG": "development"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["development", "True", "dev-only-not-secret"]


def test_an_unknown_app_config_is_refused_by_name():
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, "APP_CONFIG": "prod"})
    assert result.returncode != 0 and "APP_CONFIG='prod'" in result.stderr


def test_trusted_hosts_come_from_the_environment_as_a_list():
    result = _run_python("""
        from app import create_app
        print(create_app().config["TRUSTED_HOSTS"])
        """, {**PRODUCTION, "TRUSTED_HOSTS": "xue.example.com, www.xue.example.com,,"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['xue.example.com', 'www.xue.example.com']"


def test_production_cookies_are_secure():
    result = _run_python(
        """
        from app import create_app
        app = create_app()
        c = app.config
        print(c["SESSION_COOKIE_SECURE"], c["REMEMBER_COOKIE_SECURE"], c["SESSION_COOKIE_HTTPONLY"],
              c["SESSION_COOKIE_SAMESITE"], c["PREFERRED_URL_SCHEME"])
        """,
        PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "Lax", "https"]


# Several instances behind a load balancer, with everything they must share shared (nothing here
# is connected to at start).
SHARED = {"APP_INSTANCES": "2", "DATABASE_URL": "postgresql://app@127.0.0.1:5432/app",
          "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "REDIS_URL": "redis://127.0.0.1:6379/0"}
# Media in a bucket (the media storage's own check wants the bucket's name).
START_WITH_S3_MEDIA = "from app import create_app; create_app(overrides={'MEDIA_STORAGE': 's3', 'S3_BUCKET': 'media'})"


@pytest.mark.parametrize("setting, value", [
    ("DATABASE_URL", "sqlite:////tmp/never-used.db"),
    ("RATELIMIT_STORAGE_URI", "memory://"),
    ("REDIS_URL", ""),
])
def test_several_instances_refuse_to_start_with_state_one_instance_would_keep(setting, value):
    result = _run_python(START_WITH_S3_MEDIA, {**PRODUCTION, **SHARED, setting: value})
    assert result.returncode != 0
    assert "APP_INSTANCES=2, but" in result.stderr and f"\n- {setting} is" in result.stderr
    assert "set APP_INSTANCES=1" in result.stderr


def test_several_instances_refuse_media_on_one_instances_disk():
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, **SHARED})
    assert result.returncode != 0
    assert "MEDIA_STORAGE is 'local'" in result.stderr and "MEDIA_STORAGE=s3" in result.stderr


def test_several_instances_are_told_everything_to_change_at_once():
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, "APP_INSTANCES": "3"})
    assert result.returncode != 0
    for setting in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "REDIS_URL", "MEDIA_STORAGE"):
        assert f"\n- {setting} is" in result.stderr


def test_several_instances_start_when_everything_is_shared():
    result = _run_python(START_WITH_S3_MEDIA.replace("create_app(", "print(create_app(") + ".config['APP_INSTANCES'])",
                         {**PRODUCTION, **SHARED})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


@pytest.mark.parametrize("env", [
    {**PRODUCTION, "APP_INSTANCES": "1"},  # one instance: its own memory and disk are the whole site's
    {"APP_CONFIG": "development", "APP_INSTANCES": "2"},  # only production is checked
    {"APP_CONFIG": "testing", "APP_INSTANCES": "2"},
], ids=["production-one-instance", "development", "testing"])
def test_instance_state_is_fine_for_one_instance_and_outside_production(env):
    result = _run_python("from app import create_app; create_app()", env)
    assert result.returncode == 0, result.stderr


def test_app_instances_below_one_is_refused():
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, "APP_INSTANCES": "0"})
    assert result.returncode != 0 and "APP_INSTANCES must be at least 1" in result.stderr


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


LOGINS_WITH_REDIS_AT = """
    import sys, time
    from app import create_app
    from app.extensions import db
    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": sys.argv[1],
        "RATELIMIT_LOGIN": "3 per minute", "WTF_CSRF_ENABLED": False,
    })
    with app.app_context():
        db.create_all()
    client = app.test_client()
    started = time.monotonic()
    print(*[client.post("/account/login", data={"login": "a@example.com", "password": "x"}).status_code
            for _ in range(4)])
    print(time.monotonic() - started)
"""


def test_with_the_limiters_redis_down_logins_are_answered_and_still_limited():
    """Not a 500 for every login (the limiter's default), nor no limit at all (swallow_errors alone):
    each process counts in its own memory until Redis is back."""
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = _run_python(LOGINS_WITH_REDIS_AT.replace("sys.argv[1]", repr(url)), {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "200 200 200 429"
    assert "falling back to in-memory storage" in result.stderr


def test_with_the_limiters_redis_hanging_logins_are_not_held():
    """Each call to a Redis that never answers gives up after 0.5 s (the first login pays one, and
    one for Flask-Limiter's check whether it is back; later checks back off). Without a socket
    timeout the first login would wait for ever."""
    with socket.socket() as silent:  # takes connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        result = _run_python(LOGINS_WITH_REDIS_AT.replace("sys.argv[1]", repr(url)), {})
    assert result.returncode == 0, result.stderr
    statuses, seconds = result.stdout.splitlines()
    assert statuses == "200 200 200 429"
    assert float(seconds) < 6  # four logins, about 2.5 s on an idle machine

