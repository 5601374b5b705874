#!/usr/bin/env bash
# Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis), on PostgreSQL.
#
# Starts gunicorn on a free loopback port with a throwaway PostgreSQL database (created, migrated,
# filled by seed-demo, dropped at the end), signs in as the demo student for the operations that
# need a token, and runs schemathesis with the "no server error" check. Fails if schemathesis
# finds a 5xx or if the server's log holds a traceback. Offline: only 127.0.0.1 is contacted.
#
# Usage: bash scripts/fuzz-api.sh [MAX_EXAMPLES]   (default 60 per operation; about a minute)
# PostgreSQL: FUZZ_PG_SERVER (default postgresql+psycopg://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-dev.txt

max_examples="${1:-60}"
pg_server="${FUZZ_PG_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432}"
database="fuzz_api_$$"
workdir="$(mktemp -d)"
repo="$PWD"
server_log="artifacts/fuzz-api-server.log"
mkdir -p artifacts

pg_admin() {  # run one statement on the server's maintenance database, outside a transaction
  python - "$pg_server/postgres" "$1" <<'EOF'
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], isolation_level="AUTOCOMMIT")
with engine.connect() as connection:
    connection.execute(text(sys.argv[2]))
engine.dispose()
EOF
}

gunicorn_pid=""
cleanup() {
  if [ -n "$gunicorn_pid" ]; then
    kill "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
  pg_admin "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$workdir"
}
trap cleanup EXIT

# Explicit settings: whatever APP_CONFIG defaults to, this is a development app on a scratch
# database. Rate limits are off so the fuzzer reaches the handlers instead of a 429.
export APP_CONFIG=development FLASK_APP=wsgi
export SECRET_KEY="fuzz-$(python -c 'import secrets; print(secrets.token_hex(16))')"
export DATABASE_URL="$pg_server/$database"
export RATELIMIT_ENABLED=false MAIL_BACKEND=console
export SCHEMATHESIS_TELEMETRY=false  # no network

pg_admin "CREATE DATABASE $database"
flask db upgrade >"$workdir/setup.log" 2>&1 || { cat "$workdir/setup.log"; exit 1; }
flask seed-demo >>"$workdir/setup.log" 2>&1 || { cat "$workdir/setup.log"; exit 1; }

port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
gunicorn --workers 2 --bind "127.0.0.1:$port" --access-logfile - wsgi:app >"$server_log" 2>&1 &
gunicorn_pid=$!

python - "$base" <<'EOF'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/api/v1/openapi.json", timeout=2)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("fuzz-api: the server did not start")
EOF

token="$(python - "$base" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1] + "/api/v1/auth/token", method="POST", headers={"Content-Type": "application/json"},
    data=json.dumps({"login": "student@example.com", "password": "demo12345"}).encode(),
)
print(json.load(urllib.request.urlopen(request, timeout=10))["token"])
EOF
)"

echo "== schemathesis: $max_examples examples per operation against $base (PostgreSQL $database)"
status=0
# --workers 1: with threads, hypothesis' ast.parse of lambdas hits a CPython 3.11 race (SystemError).
# Run from the scratch folder: schemathesis and hypothesis leave their caches in the current one.
(cd "$workdir" && schemathesis run "$base/api/v1/openapi.json" --url "$base/api/v1" \
  --checks not_a_server_error --max-examples "$max_examples" --seed 20261204 \
  --header "Authorization: Bearer $token" --workers 1 --request-timeout 30 --generation-database none \
  --report junit --report-junit-path "$repo/artifacts/fuzz-api-junit.xml") | tee "$workdir/schemathesis.log" \
  || status=$?

if grep -q "Traceback" "$server_log"; then
  echo "fuzz-api: the server logged a traceback ($server_log):" >&2
  grep -n -A 30 "Traceback" "$server_log" | head -80 >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz-api: FAILED (server log: $server_log)" >&2
  exit "$status"
fi
# The closing line CI reads: how many generated requests were answered without a server error.
cases="$(grep -oE '[0-9]+ generated' "$workdir/schemathesis.log" | grep -oE '[0-9]+' | tail -1)"
echo "fuzz-api: no server error and no traceback in the server log"
echo "fuzz-api: ${cases:-0} passed, 0 failed"
