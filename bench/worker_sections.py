"""Where a booking's CPU goes inside the gunicorn workers, under the rush itself.

`bench/booking_cpu.py` splits a booking in-process, with one connection; under a rush the same code
costs more (another worker's commit just emptied this one's SQLite page cache, the worker holding
the turn or the row is put off the CPU and the rest runs colder). This runs bench/booking_rush.py's
phases (every student calls GET /api/v1/me, then every student books one session; --rounds times)
against gunicorn started with this file as its config (`-c`): its `post_worker_init` wraps the
parts of a request below in `time.thread_time_ns()` counters, which leave out the time a worker
waits (for the write turn, the row lock, the database), and `worker_exit` writes each worker's
totals to a file. Prints CPU ms per request of each part, for GET /api/v1/me and for a booking.

    .venv/bin/python bench/worker_sections.py --db both
    .venv/bin/python bench/worker_sections.py --db sqlite --workers 1     # no other worker's commits

The wrapped names are the app's own (the token check, the booking service's steps, the API's
answer): renaming one fails here at once, by name.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile
import time
from pathlib import Path

# Set for the gunicorn it starts: where each worker writes its totals.
OUTPUT_DIR = "WORKER_SECTIONS_DIR"
# (module, attribute, label): the parts of a request that are measured.
PARTS = (
    ("app.api.auth", "user_for_token", "token check"),
    ("app.booking.service", "begin_write", "begin_write"),
    ("app.booking.service", "_booking_statements", "statements"),
    ("app.booking.service", "_outcome", "outcome objects"),
    ("app.api.registrations", "booking_json", "answer JSON"),
    ("sqlalchemy.orm.scoping", "scoped_session.commit", "commit"),
)
REQUEST_KINDS = {"GET /api/v1/me": "me", "POST /api/v1/sessions/": "booking"}

# --- gunicorn config hooks (this file loaded with `gunicorn -c`) ------------------------------

_totals: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
_requests: collections.Counter = collections.Counter()
_current = {"kind": None}


def _kind(environ) -> str | None:
    request = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}"
    return next((kind for prefix, kind in REQUEST_KINDS.items() if request.startswith(prefix)), None)


def _measured(function, label: str):
    def wrapper(*args, **kwargs):
        began = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            if _current["kind"]:
                _totals[_current["kind"]][label] += time.thread_time_ns() - began
    return wrapper


def post_worker_init(worker) -> None:
    import importlib

    for module_name, attribute, label in PARTS:
        owner = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for step in path:
            owner = getattr(owner, step)
        setattr(owner, name, _measured(getattr(owner, name), label))
    flask_class = type(worker.wsgi)
    wsgi_app = flask_class.wsgi_app

    def measured_wsgi_app(self, environ, start_response):
        _current["kind"] = kind = _kind(environ)
        began = time.thread_time_ns()
        try:
            return wsgi_app(self, environ, start_response)
        finally:
            if kind:
                _totals[kind]["the whole request in Flask"] += time.thread_time_ns() - began
                _requests[kind] += 1
            _current["kind"] = None

    flask_class.wsgi_app = measured_wsgi_app


def worker_exit(server, worker) -> None:
    with open(Path(os.environ[OUTPUT_DIR]) / f"worker-{os.getpid()}.json", "w") as out:
        json.dump({"totals": _totals, "requests": _requests}, out)


# --- the run ---------------------------------------------------------------------------------

def run(kind: str, students: int, seats: int, workers: int, concurrency: int, rounds: int) -> None:
    import booking_rush
    from common import Client, free_port, fresh_database, gunicorn, run_phase

    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database(kind, Path(workdir), "bench_worker_sections")
        sessions, tokens = booking_rush._prepare(database_url, students, seats, rounds, 0)
        port, output = free_port(), Path(workdir) / "sections"
        output.mkdir()
        clients = [Client(port) for _ in range(concurrency)]
        settings = {"GUNICORN_CMD_ARGS": f"-c {Path(__file__).resolve()}", OUTPUT_DIR: str(output)}
        with gunicorn(database_url, port, workers, settings) as server_pid:
            run_phase("warm-up", clients, booking_rush.api_calls("GET", "/api/v1/me", tokens[: concurrency * 2]))
            rates = collections.defaultdict(list)
            for session_id, _paid in sessions:
                rates["me"].append(booking_rush.baseline_phase(clients, tokens, server_pid).requests_per_second)
                rates["booking"].append(
                    booking_rush.rush_phase(clients, session_id, tokens, server_pid).requests_per_second)
        totals, requests = collections.defaultdict(collections.Counter), collections.Counter()
        for dump in output.glob("worker-*.json"):
            figures = json.loads(dump.read_text())
            for request_kind, parts in figures["totals"].items():
                totals[request_kind].update(parts)
            requests.update(figures["requests"])
    print(f"\n[{kind}] {workers} gunicorn workers, {students} students, {seats} seats, {rounds} rounds "
          f"(warm-up included): thread CPU ms per request")
    print(f"  {'part':<28}{'GET /api/v1/me':>16}{'booking':>10}")
    labels = ["the whole request in Flask"] + [label for _module, _attribute, label in PARTS]
    for label in labels:
        cells = [f"{totals[k][label] / requests[k] / 1e6:.3f}" if totals[k][label] else "" for k in ("me", "booking")]
        print(f"  {label:<28}{cells[0]:>16}{cells[1]:>10}")
    print(f"  requests: {requests['me']} / {requests['booking']}; req/s "
          + ", ".join(f"{k} {sum(v) / len(v):.0f}" for k, v in rates.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=50, help="client connections at once")
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(kind, args.students, args.seats, args.workers, args.concurrency, args.rounds)


if __name__ == "__main__":
    main()
