"""The camp rush: N students book one session of C seats at the same moment, over HTTP.

Starts the app under gunicorn (production settings, sync workers) on a fresh database, creates the
students and their API tokens, then, against the same server in the same run, for each of
--rounds sessions:
  1. every student calls a trivial authenticated endpoint (GET /api/v1/me): the server's baseline;
  2. every student books the round's session at once (POST /api/v1/sessions/<id>/registrations);
and a last baseline after the last rush. Each rush is compared with the mean of the baselines just
before and just after it, so a machine that slows down or speeds up during the run (other tenants,
CPU frequency) moves both sides of the ratio alike.
Prints, per round and as the median of the rounds: confirmed / waitlisted / errors, requests per
second, p50 and p99 latency, bookings per minute, and booking throughput as a ratio of the
baseline (the figure that matters: it does not depend on how fast this machine is), and the CPU
time one request of each kind cost the gunicorn workers, PostgreSQL and the load generator (from
/proc, on Linux). Then it checks the database: for every session exactly C confirmed, the rest
waitlisted with positions 1..N-C, and one audit entry and one queued email per booking.

    .venv/bin/python bench/booking_rush.py                      # SQLite and PostgreSQL, 1000 students, 60 seats
    .venv/bin/python bench/booking_rush.py --db sqlite --students 200 --seats 20 --rounds 1
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from common import APP_SETTINGS, ROOT, fresh_database, production_env  # noqa: E402  (bench/common.py)


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000 if ordered else 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(database_url: str, students: int, seats: int, rounds: int) -> tuple[list[int], list[str]]:
    """Migrate, create one session per round and the students (one shared password hash: sign-up
    is not what is measured), and return the session ids and one API token per student."""
    env = production_env(database_url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    os.environ.update({k: env[k] for k in APP_SETTINGS})
    from werkzeug.security import generate_password_hash

    from app import create_app
    from app.accounts.models import User
    from app.api.auth import make_token
    from app.catalog import service as catalog
    from app.common.time import utcnow
    from app.extensions import db

    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
        session_ids = []
        for week in range(rounds):
            starts_at = utcnow() + timedelta(days=60 + 7 * week)
            session_ids.append(catalog.create_session(
                course.id, capacity=seats, starts_at=starts_at, ends_at=starts_at + timedelta(days=2, hours=9),
                city="杭州", venue="玺承集团杭州培训中心", price=Decimal("3980.00"), is_published=True,
            ).id)
        password_hash = generate_password_hash("bench-password")
        users = [
            User(email=f"rush{n:05d}@example.com", name="抢位学员", phone=f"138{n:08d}",
                 password_hash=password_hash)
            for n in range(students)
        ]
        db.session.add_all(users)
        db.session.commit()
        tokens = [make_token(user) for user in users]
        db.engine.dispose()
    return session_ids, tokens


@contextmanager
def _gunicorn(database_url: str, port: int, workers: int):
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--backlog", "2048", "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=production_env(database_url))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/api/v1/openapi.json")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _cpu_seconds(gunicorn_pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the gunicorn workers, the PostgreSQL server
    processes and this load generator, from /proc (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {"gunicorn": 0.0, "postgres": 0.0, "client": sum(os.times()[:2])}
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                command = cmdline_file.read()
        except OSError:  # ended meanwhile
            continue
        parent, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if parent == gunicorn_pid or int(pid) == gunicorn_pid:
            used["gunicorn"] += cpu
        elif command.startswith(b"postgres"):
            used["postgres"] += cpu
    return used


def _run_phase(name: str, port: int, method: str, path: str, tokens: list[str], concurrency: int,
               gunicorn_pid: int | None = None) -> Phase:
    """Every token makes one request; `concurrency` client threads, all released at once."""
    phase = Phase(name)
    lock = threading.Lock()
    local = threading.local()
    start_line = threading.Barrier(concurrency)

    def connection() -> http.client.HTTPConnection:
        if getattr(local, "connection", None) is None:
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        return local.connection

    def one_request(token: str) -> None:
        began = time.perf_counter()
        try:
            conn = connection()
            conn.request(method, path, body=b"" if method == "POST" else None,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            status = str(response.status)
            if response.status in (200, 201) and method == "POST":
                status = json.loads(body)["status"]
            elif response.status >= 400:
                with lock:
                    phase.errors.append(f"{response.status} {body[:200]!r}")
        except (OSError, http.client.HTTPException) as error:
            local.connection = None
            status = "exception"
            with lock:
                phase.errors.append(repr(error))
        elapsed = time.perf_counter() - began
        with lock:
            phase.latencies.append(elapsed)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1

    def worker(share: list[str]) -> None:
        start_line.wait()
        for token in share:
            one_request(token)

    shares = [tokens[i::concurrency] for i in range(concurrency)]
    cpu_before = _cpu_seconds(gunicorn_pid) if gunicorn_pid else {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        began = time.perf_counter()
        list(pool.map(worker, shares))
        phase.seconds = time.perf_counter() - began
    if cpu_before:
        cpu_after = _cpu_seconds(gunicorn_pid)
        phase.cpu_ms_per_request = {kind: (cpu_after[kind] - cpu_before[kind]) * 1000 / len(tokens)
                                    for kind in cpu_before}
    return phase


def _check_database(database_url: str, session_id: int, seats: int, students: int) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        confirmed = connection.execute(text(
            "SELECT count(*) FROM registrations WHERE session_id = :s AND status = 'confirmed'"), {"s": session_id}
        ).scalar()
        numbers = [row[0] for row in connection.execute(text(
            "SELECT waitlist_number FROM registrations WHERE session_id = :s AND status = 'waitlisted' "
            "ORDER BY waitlist_number"), {"s": session_id})]
        seats_taken = connection.execute(text("SELECT seats_taken FROM camp_sessions WHERE id = :s"),
                                         {"s": session_id}).scalar()
        # Every booking leaves its audit entry and its email, whatever the database.
        audited = connection.execute(text(
            "SELECT count(*) FROM audit_entries WHERE session_id = :s AND action = 'registration.book'"),
            {"s": session_id}).scalar()
        emails = connection.execute(text(
            "SELECT count(*) FROM outbox_messages o JOIN registrations r ON r.id = CAST(o.context ->> 'registration_id'"
            " AS INTEGER) WHERE r.session_id = :s"), {"s": session_id}).scalar()
    engine.dispose()
    problems = []
    if confirmed != seats or seats_taken != seats:
        problems.append(f"confirmed rows {confirmed}, seats_taken {seats_taken}, expected {seats}")
    if len(numbers) != students - seats or len(set(numbers)) != len(numbers):
        problems.append(f"{len(numbers)} waitlisted (unique: {len(set(numbers))}), expected {students - seats}")
    if audited != students or emails != students:
        problems.append(f"{audited} audit entries and {emails} emails for {students} bookings")
    return ("OK: " + f"{confirmed} confirmed, waitlist 1..{len(numbers)} unique, {audited} audit entries, "
            f"{emails} emails") if not problems else "; ".join(problems)


def _round_figures(rush: Phase, baseline_rps: float) -> dict:
    return {
        "confirmed": rush.statuses.get("confirmed", 0),
        "waitlisted": rush.statuses.get("waitlisted", 0),
        "errors": len(rush.errors),
        "booking_rps": rush.requests_per_second,
        "booking_p50_ms": rush.percentile(50),
        "booking_p99_ms": rush.percentile(99),
        "bookings_per_minute": rush.requests_per_second * 60,
        "baseline_rps": baseline_rps,
        "ratio": rush.requests_per_second / baseline_rps if baseline_rps else 0.0,
    }


def run(kind: str, students: int, seats: int, workers: int, concurrency: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database(kind, Path(workdir), "bench_booking_rush")
        session_ids, tokens = _prepare(database_url, students, seats, rounds)
        port = _free_port()
        baselines, rushes = [], []
        with _gunicorn(database_url, port, workers) as server_pid:
            _run_phase("warm-up", port, "GET", "/api/v1/me", tokens[: concurrency * 2], concurrency)
            for session_id in session_ids:
                baselines.append(_run_phase("GET /api/v1/me", port, "GET", "/api/v1/me", tokens, concurrency,
                                            server_pid))
                rushes.append(_run_phase("book", port, "POST", f"/api/v1/sessions/{session_id}/registrations",
                                         tokens, concurrency, server_pid))
            baselines.append(_run_phase("GET /api/v1/me", port, "GET", "/api/v1/me", tokens, concurrency,
                                        server_pid))
        verdicts = [_check_database(database_url, session_id, seats, students) for session_id in session_ids]
    per_round = [
        _round_figures(rush, (baselines[n].requests_per_second + baselines[n + 1].requests_per_second) / 2)
        for n, rush in enumerate(rushes)
    ]
    baseline_errors = sum(len(phase.errors) for phase in baselines)
    return {
        "database": kind,
        "rounds": per_round,
        "median": {key: statistics.median(r[key] for r in per_round) for key in per_round[0]},
        "baseline_rps": [phase.requests_per_second for phase in baselines],
        "cpu_ms": {name: _median_cpu(phases) for name, phases in (("baseline", baselines), ("booking", rushes))},
        "baseline_p50_ms": statistics.median(phase.percentile(50) for phase in baselines),
        "baseline_errors": baseline_errors,
        "database_check": "; ".join(sorted(set(verdicts))),
        "first_errors": [error for phase in rushes + baselines for error in phase.errors][:3],
    }


def _median_cpu(phases: list[Phase]) -> dict[str, float]:
    kinds = phases[0].cpu_ms_per_request
    return {kind: statistics.median(phase.cpu_ms_per_request[kind] for phase in phases) for kind in kinds}


def _describe(figures: dict) -> str:
    return (f"confirmed {figures['confirmed']:.0f}, waitlisted {figures['waitlisted']:.0f}, "
            f"errors {figures['errors']:.0f}; booking {figures['booking_rps']:.0f} req/s "
            f"(p50 {figures['booking_p50_ms']:.0f} ms, p99 {figures['booking_p99_ms']:.0f} ms, "
            f"{figures['bookings_per_minute']:.0f}/minute); baseline {figures['baseline_rps']:.0f} req/s; "
            f"ratio {figures['ratio']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5, help="rushes, each on its own session")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=50, help="client connections at once")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"booking rush: {args.students} students, {args.seats} seats, {args.rounds} rounds, gunicorn "
          f"{args.workers} sync workers, {args.concurrency} concurrent clients, {os.cpu_count()} CPU cores")
    for kind in kinds:
        r = run(kind, args.students, args.seats, args.workers, args.concurrency, args.rounds)
        print(f"\n[{r['database']}]")
        for n, figures in enumerate(r["rounds"], start=1):
            print(f"  round {n}: {_describe(figures)}")
        median = r["median"]
        print(f"  median:  {_describe(median)}")
        print(f"  baseline: GET /api/v1/me, {' / '.join(f'{rps:.0f}' for rps in r['baseline_rps'])} req/s before, "
              f"between and after the rushes, p50 {r['baseline_p50_ms']:.1f} ms, errors {r['baseline_errors']}")
        print(f"  booking throughput / baseline = {median['ratio']:.2f}  (goal >= 0.50; rounds "
              f"{min(x['ratio'] for x in r['rounds']):.2f}-{max(x['ratio'] for x in r['rounds']):.2f})")
        for name, cpu in r["cpu_ms"].items():
            if cpu:
                print(f"  CPU per {name} request: " + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in cpu.items())
                      + f", total {sum(cpu.values()):.2f} ms")
        print(f"  database: {r['database_check']}")
        for error in r["first_errors"]:
            print(f"  error: {error}")


if __name__ == "__main__":
    main()
