#!/usr/bin/env bash
# Set everything up and run the whole test suite. Extra arguments go to pytest.
# SQLite by default; TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-dev.txt
python -m pytest "$@"
