#!/usr/bin/env bash
# The local cluster: the production topology (docs/deployment.md) on this machine, in one command.
#
#   bash scripts/cluster.sh up       nginx on 127.0.0.1:8080 in front of two app instances (gunicorn,
#                                    production settings) on :8081 and :8082, two workers, PostgreSQL
#                                    (database `cluster`), Redis and an S3-compatible server (:8083),
#                                    with the demo data when the database is new
#   bash scripts/cluster.sh status   each process, its pid, and whether it is alive and answering
#   bash scripts/cluster.sh check    the cluster behaves as one site (scripts/cluster_tool.py check)
#   bash scripts/cluster.sh down     stop everything `up` started (PostgreSQL and Redis only if it
#                                    started them)
#
# Everything it writes (pid files, logs, the rendered nginx.conf, the secret key) is under
# CLUSTER_DIR (instance/cluster/, git-ignored). Another cluster can run beside this one with other
# CLUSTER_DIR, CLUSTER_PORT, CLUSTER_DATABASE and CLUSTER_REDIS_DB (bench/cluster_rush.py does).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_DIR="${CLUSTER_DIR:-instance/cluster}"
CLUSTER_PORT="${CLUSTER_PORT:-8080}"  # nginx; the two instances take the next two ports, S3 the third
CLUSTER_DATABASE="${CLUSTER_DATABASE:-cluster}"
CLUSTER_REDIS_DB="${CLUSTER_REDIS_DB:-5}"  # not the tests' (0)
CLUSTER_GUNICORN_WORKERS="${CLUSTER_GUNICORN_WORKERS:-2}"  # per instance: two instances share this machine
CLUSTER_DEMO="${CLUSTER_DEMO:-1}"  # 0: a new database stays empty

app_ports=("$((CLUSTER_PORT + 1))" "$((CLUSTER_PORT + 2))")
s3_port="$((CLUSTER_PORT + 3))"
worker_count=2
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR="$(cd "$CLUSTER_DIR" && pwd)"
run_dir="$CLUSTER_DIR/run"
log_dir="$CLUSTER_DIR/logs"
python=.venv/bin/python
tool() { "$python" scripts/cluster_tool.py "$@"; }

# --- how an instance is asked if it is ready, the worker, the S3 server: one place each --------

# What `up` waits for before it starts the next step, and `status` asks: 200 when the instance's
# database answers at its migrations' head (/healthz: only that the process answers).
READY_PATH="/readyz"

# One worker: every background job, in one process.
worker_command=(flask --app wsgi worker run)

# The S3-compatible server for media: moto's (scripts/s3-server.sh), in memory. Its objects go
# with it while the database's rows of uploaded images stay: images uploaded before a `down` are
# missing after the next `up`. Installed alone, at requirements-dev.txt's pin, rather than with
# the whole of requirements-dev.txt (test tools the cluster does not need).
ensure_s3_server() {
  "$python" -c 'import moto.server' 2>/dev/null && return
  local requirement
  requirement="$(grep -hE '^moto\[server\]==' requirements-dev.txt)"
  echo "cluster: installing $requirement (the S3-compatible server)"
  "$python" -m pip install --quiet --disable-pip-version-check "$requirement"
}
start_s3_server() {
  # setsid: like the other processes, out of reach of a Ctrl+C in the terminal that ran `up`.
  setsid bash scripts/s3-server.sh start "$s3_port" "$CLUSTER_DIR/s3" "$S3_BUCKET"
}

# --- settings -----------------------------------------------------------------------------------

export_settings() {
  [ -s "$CLUSTER_DIR/secret-key" ] || (umask 077 && "$python" -c 'import secrets; print(secrets.token_hex(32))' \
    > "$CLUSTER_DIR/secret-key")
  export FLASK_APP=wsgi APP_CONFIG=production
  SECRET_KEY="$(cat "$CLUSTER_DIR/secret-key")"
  export SECRET_KEY
  export SITE_URL="http://127.0.0.1:$CLUSTER_PORT"
  # The instances are also reached by their own ports (status, check): the same host name.
  export TRUSTED_HOSTS="127.0.0.1,localhost"
  export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$CLUSTER_DATABASE"
  export REDIS_URL="redis://127.0.0.1:6379/$CLUSTER_REDIS_DB"
  export RATELIMIT_STORAGE_URI="$REDIS_URL"
  export PROXY_FIX_X_FOR=1  # nginx, one proxy
  export APP_INSTANCES="${#app_ports[@]}"
  export MEDIA_STORAGE=s3 S3_ENDPOINT_URL="http://127.0.0.1:$s3_port" S3_BUCKET=cluster-media
  export S3_ACCESS_KEY_ID=cluster S3_SECRET_ACCESS_KEY=cluster-secret S3_REGION=us-east-1
  # Empty: the app answers /media/ itself from the bucket (and nginx keeps what it answered), so the
  # bucket needs no public access and the pages no other origin in their Content-Security-Policy.
  export MEDIA_PUBLIC_URL=""
  # No mail server here: emails are written to the workers' logs (and marked sent in the outbox).
  export MAIL_BACKEND=console
}

# --- processes: one pid file each, each the leader of its own process group -------------------

# The S3 server's pid file is scripts/s3-server.sh's.
pid_file() { if [ "$1" = s3 ]; then echo "$CLUSTER_DIR/s3/s3-server.pid"; else echo "$run_dir/$1.pid"; fi; }
pid_of() { cat "$(pid_file "$1")" 2>/dev/null || true; }
alive() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# start_process NAME COMMAND...: in a session of its own (Ctrl+C in this terminal does not reach it,
# and `down` stops its children with it), output appended to logs/NAME.log.
start_process() {
  local name="$1"; shift
  setsid "$@" >>"$log_dir/$name.log" 2>&1 </dev/null &
  echo $! >"$run_dir/$name.pid"
  echo "cluster: started $name (pid $!)"
}

# stop_process NAME: TERM (gunicorn finishes its requests, the worker its job, nginx its
# connections), up to 30 s; then KILL whatever is left of its process group.
stop_process() {
  local name="$1" pid
  pid="$(pid_of "$name")"
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    echo "cluster: stopped $name (pid $pid)"
  fi
  rm -f "$(pid_file "$name")"
}

process_names() {
  echo nginx
  local port n
  for port in "${app_ports[@]}"; do echo "app-$port"; done
  for n in $(seq "$worker_count"); do echo "worker-$n"; done
  echo s3
}

# --- the services the cluster shares with the machine --------------------------------------------

ensure_postgresql() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "cluster: PostgreSQL is not answering on 127.0.0.1:5432 and is not installed here" >&2
    exit 1
  fi
  echo "cluster: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  touch "$run_dir/started-postgresql"
}

ensure_redis() {
  tool redis-answers && return
  bash scripts/ensure-redis.sh
  touch "$run_dir/started-redis"
}

ensure_nginx() {
  command -v nginx >/dev/null && return
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    # The package's own service (port 80) is not used: the cluster runs nginx with its own conf.
    echo "cluster: installing nginx with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  else
    echo "cluster: nginx is not installed; install it (sudo apt-get install nginx-light)" >&2
    exit 1
  fi
}

# --- the commands ---------------------------------------------------------------------------------

up() {
  mkdir -p "$run_dir" "$log_dir" "$CLUSTER_DIR/nginx/tmp"
  local name
  for name in $(process_names); do
    if alive "$name"; then
      echo "cluster: already up ($name is pid $(pid_of "$name")); see 'bash scripts/cluster.sh status', or 'down' first" >&2
      exit 1
    fi
    rm -f "$(pid_file "$name")"
  done
  # shellcheck source=scripts/bootstrap.sh
  source scripts/bootstrap.sh requirements.txt
  ensure_nginx
  ensure_s3_server
  export_settings
  tool ports-free "$CLUSTER_PORT" "${app_ports[@]}" "$s3_port"
  ensure_postgresql
  ensure_redis
  # Whatever fails from here on (set -e), what was started is stopped again, so `up` can be retried.
  trap 'echo "cluster: up failed; stopping what it started (logs: $log_dir)" >&2; down' EXIT

  start_s3_server
  # Migrations first, once, before any instance runs the new code.
  local database_state
  database_state="$(tool create-database "$CLUSTER_DATABASE")"
  echo "cluster: database $CLUSTER_DATABASE: $database_state; migrating"
  flask db upgrade 2>&1 | tail -n 3
  if [ "$database_state" = "created" ] && [ "$CLUSTER_DEMO" = "1" ]; then
    # seed-demo refuses production settings (its accounts have a public password): this one command
    # runs with the development ones, against the cluster's database, Redis and bucket.
    APP_CONFIG=development flask seed-demo
  fi

  local port
  for port in "${app_ports[@]}"; do
    mkdir -p "$CLUSTER_DIR/app-$port"
    # Each instance its own upload folder, as on separate servers: media must come from the bucket.
    CMS_UPLOAD_FOLDER="$CLUSTER_DIR/app-$port/uploads" start_process "app-$port" \
      gunicorn --workers "$CLUSTER_GUNICORN_WORKERS" --bind "127.0.0.1:$port" --timeout 30 \
      --graceful-timeout 30 --log-level info wsgi:app
  done
  for port in "${app_ports[@]}"; do tool wait "http://127.0.0.1:$port$READY_PATH" 60; done

  local n
  for n in $(seq "$worker_count"); do start_process "worker-$n" "${worker_command[@]}"; done

  local upstreams=()
  for port in "${app_ports[@]}"; do upstreams+=(--upstream "127.0.0.1:$port"); done
  "$python" deploy/nginx/render.py "${upstreams[@]}" --listen "127.0.0.1:$CLUSTER_PORT" \
    --prefix "$CLUSTER_DIR/nginx" --log-dir "$log_dir" --media-cache "$CLUSTER_DIR/nginx/media-cache" \
    --out "$CLUSTER_DIR/nginx/nginx.conf"
  local nginx_options=(-p "$CLUSTER_DIR/nginx" -c "$CLUSTER_DIR/nginx/nginx.conf" -e "$log_dir/nginx-error.log")
  nginx "${nginx_options[@]}" -t -q
  start_process nginx nginx "${nginx_options[@]}"
  tool wait "http://127.0.0.1:$CLUSTER_PORT$READY_PATH" 30
  trap - EXIT

  echo
  status
  echo
  echo "Site: $SITE_URL   (stop: bash scripts/cluster.sh down; logs: $log_dir)"
  if [ "$CLUSTER_DEMO" = "1" ]; then
    echo "Demo logins (from the demo data): admin@example.com / demo12345, staff@example.com, student@example.com"
  fi
}

down() {
  trap - EXIT
  mkdir -p "$run_dir"
  local name
  [ -n "$(ls "$run_dir"/*.pid "$(pid_file s3)" 2>/dev/null)" ] || echo "cluster: no process of this cluster is running"
  for name in $(process_names); do stop_process "$name"; done
  if [ -f "$run_dir/started-redis" ]; then
    echo "cluster: stopping the Redis it started"
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    rm -f "$run_dir/started-redis"
  fi
  if [ -f "$run_dir/started-postgresql" ]; then
    echo "cluster: stopping the PostgreSQL it started"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main stop || true
    rm -f "$run_dir/started-postgresql"
  fi
}

status() {
  mkdir -p "$run_dir"
  local name pid state url
  printf '%-22s %-8s %s\n' process pid state
  for name in $(process_names); do
    pid="$(pid_of "$name")"
    if [ -z "$pid" ]; then
      state="not started"
    elif ! kill -0 "$pid" 2>/dev/null; then
      state="dead"
    else
      state="alive"
      url=""
      case "$name" in
        nginx) url="http://127.0.0.1:$CLUSTER_PORT$READY_PATH" ;;
        app-*) url="http://127.0.0.1:${name#app-}$READY_PATH" ;;
        s3) url="http://127.0.0.1:$s3_port/" ;;
      esac
      [ -z "$url" ] || state="$state, $(tool answer "$url")"
    fi
    printf '%-22s %-8s %s\n' "$name" "${pid:--}" "$state"
  done
  local service
  for service in postgresql redis; do
    [ ! -f "$run_dir/started-$service" ] || echo "($service was started by the cluster: 'down' stops it)"
  done
}

check() {
  export_settings
  tool check --site "http://127.0.0.1:$CLUSTER_PORT" --ready-path "$READY_PATH" \
    --instance "http://127.0.0.1:${app_ports[0]}" --instance "http://127.0.0.1:${app_ports[1]}"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  check) check ;;
  *) echo "usage: bash scripts/cluster.sh up|down|status|check" >&2; exit 2 ;;
esac
