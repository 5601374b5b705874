#!/usr/bin/env bash
# Set everything up and run the whole test suite. Extra arguments go to pytest.
# SQLite by default; TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test for PostgreSQL.
# The browser tests (tests/e2e) need Debian's chromium: run as root with apt-get, this installs it
# (scripts/install-browser.sh); otherwise they skip with the reason (under CI=true they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-dev.txt

if [ ! -x /usr/bin/chromium ]; then
  skipped="the browser tests (tests/e2e) will be skipped (or fail, under CI=true)"
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    # A failed apt run (no network, no mirror) must not stop the rest of the suite.
    bash scripts/install-browser.sh || echo "test.sh: could not install chromium; $skipped" >&2
  else
    echo "test.sh: /usr/bin/chromium is missing, so $skipped; install it with: sudo bash scripts/install-browser.sh" >&2
  fi
fi

# tests/test_nginx_config.py checks the shipped nginx configuration with `nginx -t`: as root, install
# nginx-light (Debian's) if it is missing, as scripts/cluster.sh does; otherwise those two tests skip.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
    || echo "test.sh: could not install nginx; the nginx configuration tests will be skipped" >&2
fi

# The tests of the shared page cache and view-count buffer talk to a real Redis.
if [ -z "${TEST_REDIS_URL:-}" ]; then
  bash scripts/ensure-redis.sh
fi

python -m pytest "$@"
