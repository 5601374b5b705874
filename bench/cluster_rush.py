"""The camp rush on the local cluster: N students book one free session of C seats at once, through
nginx in front of two app instances, then again while one instance is killed halfway.

Starts a cluster of its own with scripts/cluster.sh (database bench_cluster made anew, nginx on
:8090, the instances on :8091 and :8092, the S3 server on :8093, Redis db 6, files in
instance/cluster-bench/), so it runs beside `cluster.sh up`'s cluster and stops its own at the end
(--keep leaves it up). Then, in the same run, for each of --rounds:
  1. one instance: every student calls GET /api/v1/me, then books a session, straight at :8091;
  2. the cluster: the same through nginx (:8090), on another session.
The workers are paused during these phases (the emails they compose would take CPU from whichever
phase runs beside them) and run during the last rush. It prints each phase's throughput and
latency and the cluster's throughput as a ratio of one instance's, and checks the database after
each rush as bench/booking_rush.py does: exactly C confirmed, the rest waitlisted 1..N-C, one audit
entry and one queued email per student.

Last, the rush through nginx while the instance on :8092 is killed (SIGKILL to its master and
workers at once, as a crashed server) when half the students have their answer. Each client is a
phone that books again after a connection error or a 502/503/504 (booking the same session again
answers 200 with the registration already made), so no booking may be lost or doubled: the
database check above, and every student's last answer names the registration the database has.

    .venv/bin/python bench/cluster_rush.py                            # 1000 students, 60 seats
    .venv/bin/python bench/cluster_rush.py --students 200 --seats 20 --rounds 1
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from booking_rush import (  # noqa: E402  (bench/booking_rush.py)
    api_calls,
    baseline_phase,
    check_rush_database,
    rush_figures,
    rush_phase,
    rush_sessions,
    students_with_tokens,
)
from common import ROOT, Call, Client, Phase, fresh_database, production_app, run_phase  # noqa: E402

CLUSTER_DIR = ROOT / "instance" / "cluster-bench"
NGINX_PORT = 8090
INSTANCE_PORTS = (NGINX_PORT + 1, NGINX_PORT + 2)
DATABASE = "bench_cluster"
REDIS_URL = "redis://127.0.0.1:6379/6"
CLUSTER_ENV = {"CLUSTER_DIR": str(CLUSTER_DIR), "CLUSTER_PORT": str(NGINX_PORT), "CLUSTER_DATABASE": DATABASE,
               "CLUSTER_REDIS_DB": REDIS_URL.rsplit("/", 1)[1], "CLUSTER_DEMO": "0"}
# What nginx answers when the instance it sent a request to died with it (the request had been
# sent, so nginx does not pass it on: it may have been booked).
RETRIED_STATUSES = (502, 503, 504)


def cluster(command: str) -> None:
    """`bash scripts/cluster.sh COMMAND` for the bench's cluster; its output only if it fails."""
    done = subprocess.run(["bash", "scripts/cluster.sh", command], cwd=ROOT, env={**os.environ, **CLUSTER_ENV},
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"cluster.sh {command} failed:\n{done.stdout}\n{done.stderr}")


def instance_pid(port: int) -> int:
    return int((CLUSTER_DIR / "run" / f"app-{port}.pid").read_text())


@contextmanager
def workers_paused():
    """The cluster's workers stopped (SIGSTOP) for the measured comparison: each booking queues an
    email, which they compose (QR code, .ics) as fast as the rush queues them, and on a small
    machine their CPU would go to whichever phase runs beside them, not to the one it belongs to."""
    pids = [int(path.read_text()) for path in (CLUSTER_DIR / "run").glob("worker-*.pid")]
    for pid in pids:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield len(pids)
    finally:
        for pid in pids:
            os.killpg(pid, signal.SIGCONT)


def _prepare(database_url: str, students: int, seats: int, sessions: int) -> tuple[list[int], list[str]]:
    """The sessions (free: the seat is booked at once) and the students' API tokens, signed with the
    cluster's key so its instances accept them."""
    key = (CLUSTER_DIR / "secret-key").read_text().strip()
    app = production_app(database_url, {"SECRET_KEY": key, "REDIS_URL": REDIS_URL})
    with app.app_context():
        from app.catalog import service as catalog
        from app.extensions import db

        course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
        session_ids = rush_sessions(course.id, seats, sessions, days_ahead=60, price="0.00")
        tokens = students_with_tokens(students)
        db.engine.dispose()
    return session_ids, tokens


class RetryingClient(Client):
    """A phone's app on a bad network: after a connection error or a 502/503/504 it sends the same
    booking again, up to `attempts` times."""

    def __init__(self, port: int, attempts: int = 5, pause: float = 0.2):
        super().__init__(port)
        self.attempts, self.pause = attempts, pause
        self.retried: Counter[str] = Counter()  # why a request was sent again

    def send(self, call: Call) -> tuple[int, bytes]:
        for attempt in range(1, self.attempts + 1):
            try:
                status, body = super().send(call)
            except (OSError, http.client.HTTPException) as error:
                if attempt == self.attempts:
                    raise
                self.retried[type(error).__name__] += 1
            else:
                if status not in RETRIED_STATUSES or attempt == self.attempts:
                    return status, body
                self.retried[f"HTTP {status}"] += 1
            time.sleep(self.pause)
        raise AssertionError("unreachable")


def killed_rush(session_id: int, tokens: list[str], concurrency: int, database_url: str, seats: int) -> dict:
    """The rush through nginx; the second instance is killed when half the students have their answer."""
    victim_port = INSTANCE_PORTS[1]
    victim = instance_pid(victim_port)
    clients = [RetryingClient(NGINX_PORT) for _ in range(concurrency)]
    answered: list[int] = []  # the registration each student's last answer names
    lock = threading.Lock()
    killed_at: dict[str, float] = {}

    def outcome(status: int, body: bytes) -> str:
        registration = json.loads(body)
        with lock:
            answered.append(registration["id"])
            if len(answered) == len(tokens) // 2:
                os.killpg(victim, signal.SIGKILL)  # master and workers at once: the server is gone
                killed_at["answers"] = len(answered)
        # 200: the booking was made by an earlier try whose answer was lost; this one gave it back.
        return registration["status"] + (" (again)" if status == 200 else "")

    rush = run_phase("book, one instance killed", clients,
                     api_calls("POST", f"/api/v1/sessions/{session_id}/registrations", tokens), outcome=outcome)
    retried = sum((client.retried for client in clients), Counter())
    # Requests that found the instance gone before they were sent: nginx passes those on itself.
    errors = (CLUSTER_DIR / "logs" / "nginx-error.log").read_text(errors="replace").splitlines()
    passed_on = sum("connect() failed (111" in line for line in errors)
    return {"phase": rush, "retried": retried, "passed_on": passed_on, "killed_after": killed_at.get("answers"),
            "victim": victim,
            "victim_port": victim_port, "victim_dead": not _alive(victim),
            "database_check": check_rush_database(database_url, session_id, seats, len(tokens)),
            "answers_check": _answers_match(database_url, session_id, answered, len(tokens))}


def _alive(pid: int) -> bool:
    """Running: a killed process its new parent (init) has not reaped yet is a zombie, not alive."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _answers_match(database_url: str, session_id: int, answered: list[int], students: int) -> str:
    """Every student got one answer, naming the one registration the database has for them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = [row[0] for row in connection.execute(
            text("SELECT id FROM registrations WHERE session_id = :s"), {"s": session_id})]
        people = connection.execute(text("SELECT count(DISTINCT user_id) FROM registrations WHERE session_id = :s"),
                                    {"s": session_id}).scalar()
    engine.dispose()
    if len(answered) == students and sorted(answered) == sorted(stored) and people == students:
        return f"OK: {students} answers name the {len(stored)} registrations stored, one per student"
    return (f"{len(answered)} answers ({len(set(answered))} different), {len(stored)} registrations stored "
            f"for {people} students; answers not stored: {len(set(answered) - set(stored))}")


def run(students: int, seats: int, concurrency: int, rounds: int, keep: bool) -> dict:
    cluster("down")  # a bench cluster left by an interrupted run
    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database("postgres", Path(workdir), DATABASE)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # rate-limit counts of an earlier run's same user ids
    shutil.rmtree(CLUSTER_DIR / "logs", ignore_errors=True)  # cluster.sh appends: this run's only
    began = time.perf_counter()
    cluster("up")
    up_seconds = time.perf_counter() - began
    try:
        session_ids, tokens = _prepare(database_url, students, seats, 2 * rounds + 1)
        single = [Client(INSTANCE_PORTS[0]) for _ in range(concurrency)]
        through_nginx = [Client(NGINX_PORT) for _ in range(concurrency)]
        for clients in (single, through_nginx, [Client(INSTANCE_PORTS[1]) for _ in range(concurrency)]):
            run_phase("warm-up", clients, api_calls("GET", "/api/v1/me", tokens[: concurrency * 2]))
        measured, verdicts = [], []
        with workers_paused():
            for n in range(rounds):
                row = {}
                for label, clients, session_id in (("one instance", single, session_ids[2 * n]),
                                                   ("cluster", through_nginx, session_ids[2 * n + 1])):
                    baseline = baseline_phase(clients, tokens)
                    rush = rush_phase(clients, session_id, tokens)
                    row[label] = (baseline, rush)
                    verdicts.append(check_rush_database(database_url, session_id, seats, students))
                measured.append(row)
        killed = killed_rush(session_ids[-1], tokens, concurrency, database_url, seats)
    finally:
        if not keep:
            cluster("down")
    return {"up_seconds": up_seconds, "rounds": measured, "database_check": "; ".join(sorted(set(verdicts))),
            "killed": killed}


def describe(phase: Phase, baseline: Phase) -> str:
    figures = rush_figures(phase, baseline.requests_per_second)
    return (f"confirmed {figures['confirmed']}, waitlisted {figures['waitlisted']}, errors {figures['errors']}; "
            f"booking {figures['booking_rps']:.0f} req/s (p50 {figures['booking_p50_ms']:.0f} ms, "
            f"p99 {figures['booking_p99_ms']:.0f} ms); GET /api/v1/me {baseline.requests_per_second:.0f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of rushes: one instance, then the cluster")
    parser.add_argument("--concurrency", type=int, default=50, help="client connections at once")
    parser.add_argument("--keep", action="store_true", help="leave the bench's cluster up at the end")
    args = parser.parse_args()
    workers = os.environ.get("CLUSTER_GUNICORN_WORKERS", "2")
    print(f"cluster rush: {args.students} students, {args.seats} seats, {args.rounds} rounds, nginx :{NGINX_PORT} "
          f"in front of 2 instances of {workers} gunicorn sync workers, {args.concurrency} concurrent clients, "
          f"{os.cpu_count()} CPU cores")
    r = run(args.students, args.seats, args.concurrency, args.rounds, args.keep)
    print(f"  cluster up in {r['up_seconds']:.0f} s")
    ratios, baseline_ratios = [], []
    for n, row in enumerate(r["rounds"], start=1):
        for label, (baseline, rush) in row.items():
            print(f"  round {n}, {label:<12}: {describe(rush, baseline)}")
        (single_base, single), (cluster_base, clustered) = row["one instance"], row["cluster"]
        ratios.append(clustered.requests_per_second / single.requests_per_second)
        baseline_ratios.append(cluster_base.requests_per_second / single_base.requests_per_second)
    print(f"  cluster / one instance: booking throughput {statistics.median(ratios):.2f} "
          f"(rounds {min(ratios):.2f}-{max(ratios):.2f}), GET /api/v1/me {statistics.median(baseline_ratios):.2f}")
    print(f"  database: {r['database_check']}")
    for error in [e for row in r["rounds"] for _b, rush in row.values() for e in rush.errors][:3]:
        print(f"  error: {error}")
    k = r["killed"]
    rush = k["phase"]
    statuses = rush.statuses
    again = sum(count for status, count in statuses.items() if status.endswith("(again)"))
    print(f"\n  one instance killed halfway (:{k['victim_port']}, pid {k['victim']}, SIGKILL to master and workers "
          f"after {k['killed_after']} answers; {'dead' if k['victim_dead'] else 'STILL ALIVE'} at the end):")
    print(f"    confirmed {statuses.get('confirmed', 0) + statuses.get('confirmed (again)', 0)}, waitlisted "
          f"{statuses.get('waitlisted', 0) + statuses.get('waitlisted (again)', 0)}, errors {len(rush.errors)}; "
          f"{rush.requests_per_second:.0f} req/s (p50 {rush.percentile(50):.0f} ms, p99 {rush.percentile(99):.0f} ms)")
    print("    sent again by the clients: " + (", ".join(f"{why} x{count}" for why, count in k["retried"].items())
                                              or "none") + f"; answered 200 with the existing registration: {again}")
    print(f"    passed to the other instance by nginx (connection refused, not yet sent): {k['passed_on']}")
    print(f"    database: {k['database_check']}")
    print(f"    answers: {k['answers_check']}")
    for error in rush.errors[:3]:
        print(f"    error: {error}")


if __name__ == "__main__":
    main()
