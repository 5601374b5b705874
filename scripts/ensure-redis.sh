#!/usr/bin/env bash
# Make sure Redis answers on 127.0.0.1:6379 for the tests of the shared page cache and view-count
# buffer (tests/conftest.py: TEST_REDIS_URL). Starts it if installed; installs Debian's
# redis-server first when run as root with apt-get. The app itself needs Redis only with REDIS_URL.
set -euo pipefail

answers() {
  python3 - <<'PY' 2>/dev/null
import socket
with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
    connection.sendall(b"PING\r\n")
    assert connection.recv(16).startswith(b"+PONG")
PY
}

answers && exit 0
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "ensure-redis: installing redis-server with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; }
  else
    echo "ensure-redis: Redis is not answering on 127.0.0.1:6379 and redis-server is not installed;" \
         "install it (sudo apt-get install redis-server) or set TEST_REDIS_URL" >&2
    exit 1
  fi
fi
echo "ensure-redis: starting redis-server on 127.0.0.1:6379 (in memory only)"
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
for _ in $(seq 50); do answers && exit 0; sleep 0.1; done
echo "ensure-redis: redis-server did not answer" >&2
exit 1
