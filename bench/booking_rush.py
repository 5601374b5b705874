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
import json
import os
import statistics
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from common import (  # noqa: E402  (bench/common.py)
    Call,
    Client,
    Phase,
    free_port,
    fresh_database,
    gunicorn,
    median_cpu,
    migrate,
    production_app,
    run_phase,
)


def _prepare(database_url: str, students: int, seats: int, rounds: int) -> tuple[list[int], list[str]]:
    """Migrate, create one session per round and the students, and return the session ids and one
    API token per student."""
    migrate(database_url)
    app = production_app(database_url)
    with app.app_context():
        from app.catalog import service as catalog
        from app.extensions import db

        course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
        session_ids = rush_sessions(course.id, seats, rounds, days_ahead=60)
        tokens = students_with_tokens(students)
        db.engine.dispose()
    return session_ids, tokens


def rush_sessions(course_id: int, seats: int, count: int, days_ahead: int) -> list[int]:
    """`count` published sessions of `seats` seats, a week apart (one rush each); in an app context."""
    from app.catalog import service as catalog
    from app.common.time import utcnow

    session_ids = []
    for week in range(count):
        starts_at = utcnow() + timedelta(days=days_ahead + 7 * week)
        session_ids.append(catalog.create_session(
            course_id, capacity=seats, starts_at=starts_at, ends_at=starts_at + timedelta(days=2, hours=9),
            city="杭州", venue="玺承集团杭州培训中心", price=Decimal("3980.00"), is_published=True,
        ).id)
    return session_ids


def students_with_tokens(count: int) -> list[str]:
    """`count` students (one shared password hash: sign-up is not what is measured; phones 137...,
    apart from the demo accounts') and one API token each; in an app context."""
    from werkzeug.security import generate_password_hash

    from app.accounts.models import User
    from app.api.auth import make_token
    from app.extensions import db

    password_hash = generate_password_hash("bench-password")
    users = [
        User(email=f"rush{n:05d}@example.com", name="抢位学员", phone=f"137{n:08d}", password_hash=password_hash)
        for n in range(count)
    ]
    db.session.add_all(users)
    db.session.commit()
    return [make_token(user) for user in users]


def api_calls(method: str, path: str, tokens: list[str]) -> list[Call]:
    """One API call per student, each with their token."""
    return [Call(method, path, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            for token in tokens]


def booking_outcome(status: int, body: bytes) -> str:
    """What a booking answer says: confirmed or waitlisted."""
    return json.loads(body)["status"]


def check_rush_database(database_url: str, session_id: int, seats: int, students: int) -> str:
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


def rush_figures(rush: Phase, baseline_rps: float) -> dict:
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


def baseline_phase(clients: list[Client], tokens: list[str], server_pid: int | None = None) -> Phase:
    """Every student calls the trivial authenticated endpoint once."""
    return run_phase("GET /api/v1/me", clients, api_calls("GET", "/api/v1/me", tokens), server_pid)


def rush_phase(clients: list[Client], session_id: int, tokens: list[str], server_pid: int | None = None) -> Phase:
    """Every student books the session at once."""
    return run_phase("book", clients, api_calls("POST", f"/api/v1/sessions/{session_id}/registrations", tokens),
                     server_pid, outcome=booking_outcome)


def run(kind: str, students: int, seats: int, workers: int, concurrency: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database(kind, Path(workdir), "bench_booking_rush")
        session_ids, tokens = _prepare(database_url, students, seats, rounds)
        port = free_port()
        clients = [Client(port) for _ in range(concurrency)]
        baselines, rushes = [], []
        with gunicorn(database_url, port, workers) as server_pid:
            run_phase("warm-up", clients, api_calls("GET", "/api/v1/me", tokens[: concurrency * 2]))
            for session_id in session_ids:
                baselines.append(baseline_phase(clients, tokens, server_pid))
                rushes.append(rush_phase(clients, session_id, tokens, server_pid))
            baselines.append(baseline_phase(clients, tokens, server_pid))
        verdicts = [check_rush_database(database_url, session_id, seats, students) for session_id in session_ids]
    per_round = [
        rush_figures(rush, (baselines[n].requests_per_second + baselines[n + 1].requests_per_second) / 2)
        for n, rush in enumerate(rushes)
    ]
    baseline_errors = sum(len(phase.errors) for phase in baselines)
    return {
        "database": kind,
        "rounds": per_round,
        "median": {key: statistics.median(r[key] for r in per_round) for key in per_round[0]},
        "baseline_rps": [phase.requests_per_second for phase in baselines],
        "cpu_ms": {name: median_cpu(phases) for name, phases in (("baseline", baselines), ("booking", rushes))},
        "baseline_p50_ms": statistics.median(phase.percentile(50) for phase in baselines),
        "baseline_errors": baseline_errors,
        "database_check": "; ".join(sorted(set(verdicts))),
        "first_errors": [error for phase in rushes + baselines for error in phase.errors][:3],
    }


def describe_rush(figures: dict) -> str:
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
            print(f"  round {n}: {describe_rush(figures)}")
        median = r["median"]
        print(f"  median:  {describe_rush(median)}")
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
