#!/usr/bin/env bash
# A local server of the S3 API (moto's, from requirements-dev.txt) on 127.0.0.1, for development,
# the cluster and CI. It keeps objects in memory: they are gone when it stops.
#
#   scripts/s3-server.sh start PORT DIR [BUCKET...]   in the background (pid in DIR/s3-server.pid,
#                                                      log in DIR/s3-server.log), then makes the buckets
#   scripts/s3-server.sh stop DIR
#
# The app then uses it with: MEDIA_STORAGE=s3 S3_ENDPOINT_URL=http://127.0.0.1:PORT S3_BUCKET=BUCKET
# S3_ACCESS_KEY_ID=test S3_SECRET_ACCESS_KEY=test (moto accepts any keys).
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3

usage() {
  echo "usage: $0 start PORT DIR [BUCKET...] | $0 stop DIR" >&2
  exit 2
}

running() {  # the pid in $1's file is alive
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

case "${1:-}" in
  start)
    [ $# -ge 3 ] || usage
    port=$2 dir=$3
    shift 3
    mkdir -p "$dir"
    pid_file="$dir/s3-server.pid"
    if running "$pid_file"; then
      echo "s3-server: already running (pid $(cat "$pid_file"))" >&2
      exit 1
    fi
    "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$dir/s3-server.log" 2>&1 &
    echo $! >"$pid_file"
    S3_ENDPOINT_URL="http://127.0.0.1:$port" "$python" - "$@" <<'PY' || { "$0" stop "$dir"; exit 1; }
import os, sys, time
import boto3
from botocore.exceptions import EndpointConnectionError

client = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
deadline = time.monotonic() + 30
while True:
    try:
        client.list_buckets()
        break
    except EndpointConnectionError:
        if time.monotonic() > deadline:
            sys.exit("s3-server: no answer on " + os.environ["S3_ENDPOINT_URL"] + " after 30 s")
        time.sleep(0.1)
for bucket in sys.argv[1:]:
    client.create_bucket(Bucket=bucket)
PY
    echo "s3-server: http://127.0.0.1:$port (pid $(cat "$pid_file"))${*:+, buckets: $*}"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    pid_file="$2/s3-server.pid"
    if running "$pid_file"; then
      pid=$(cat "$pid_file")
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pid_file"
    ;;
  *)
    usage
    ;;
esac
