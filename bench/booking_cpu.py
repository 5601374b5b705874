"""CPU per booking in-process: what the rush's throughput ratio follows, without the noise of a
loaded server on a shared machine.

The app with production settings (rate limits off) on a fresh database, in this process, through
Flask's test client: per round, every student calls `GET /api/v1/me` (the rush's baseline), then
books the round's session (`POST /api/v1/sessions/<id>/registrations`, no body, as the rush does:
60 seats, the rest waitlisted). Prints per round the CPU time (time.process_time) one request of
each kind cost this process and, on PostgreSQL, its server process (from /proc), and the medians.
With --profile, one more booking round under cProfile: the functions with the most own time.

    .venv/bin/python bench/booking_cpu.py --db both
    .venv/bin/python bench/booking_cpu.py --db sqlite --students 500 --rounds 3 --profile

Instruction counts (deterministic where CPU time is not, on a shared machine): each phase runs
inside operator.call, which nothing else in a request calls, so callgrind can count that alone;
--only runs one kind of request. Instructions per request = the collected count / (students x rounds):
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=_operator_call \
        .venv/bin/python bench/booking_cpu.py --db sqlite --students 300 --rounds 1 --only booking

To compare two versions of the code, export the older one (git archive) to a directory, copy this
file into its bench/ and run both, one after the other: each measures the code of the tree it is in.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import operator
import os
import pstats
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from common import fresh_database, migrate, production_app  # noqa: E402  (bench/common.py)

PG_NAME = os.environ.get("BENCH_PG_NAME", "wt_perf_bench")


def _server_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these PostgreSQL server processes (0 where unreadable)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / tick
    return used


def _prepare(students: int, seats: int, sessions: int) -> tuple[list[int], list[dict]]:
    """A course, `sessions` published free sessions of `seats` seats, and the students' API
    headers; in an app context."""
    from app.accounts.models import User
    from app.api.auth import make_token
    from app.catalog import service as catalog
    from app.common.time import utcnow
    from app.extensions import db

    course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
    session_ids = []
    for week in range(sessions):
        starts_at = utcnow() + timedelta(days=60 + 7 * week)
        session_ids.append(catalog.create_session(
            course.id, capacity=seats, starts_at=starts_at, ends_at=starts_at + timedelta(days=2, hours=9),
            city="杭州", venue="玺承集团杭州培训中心", price=Decimal("0.00"), is_published=True).id)
    users = [User(email=f"cpu{n:05d}@example.com", name="抢位学员", phone=f"137{n:08d}", password_hash="x")
             for n in range(students)]
    db.session.add_all(users)
    db.session.commit()
    return session_ids, [{"Authorization": f"Bearer {make_token(user)}"} for user in users]


def _timed(requests, server_pids: list[int]) -> tuple[float, float]:
    """Run the requests; (process CPU ms, server CPU ms) per request."""
    requests = list(requests)
    count = len(requests)

    def run_all():
        for request in requests:
            request()

    cpu, server = time.process_time(), _server_cpu(server_pids)
    operator.call(run_all)  # what callgrind counts (--toggle-collect=_operator_call)
    return ((time.process_time() - cpu) * 1000 / count, (_server_cpu(server_pids) - server) * 1000 / count)


def run(kind: str, students: int, seats: int, rounds: int, profile: bool, only: str | None = None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="booking_cpu_"))
    url = fresh_database(kind, workdir, PG_NAME)
    migrate(url)
    # Rate limits off, as in bench/booking_rush.py's server (production_env sets it for gunicorn
    # only): with them on, the booking's limit is counted (in memory here) and costs more than the
    # booking's statements.
    app = production_app(url, {"RATELIMIT_ENABLED": False})
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        session_ids, headers = _prepare(students, seats, rounds + 1 + int(profile))
        server_pids = []
        if kind == "postgres":
            server_pids = list(db.session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
        db.session.remove()
    client = app.test_client()

    def baseline():
        for header in headers:
            yield lambda header=header: _expect(client.get("/api/v1/me", headers=header), 200)

    def bookings(session_id):
        for header in headers:
            yield lambda header=header: _expect(
                client.post(f"/api/v1/sessions/{session_id}/registrations", headers=header), 201)

    # Warm up (not counted: outside operator.call): caches, the pool's connection, psycopg's prepared statements.
    for request in [*list(baseline())[:100], *list(bookings(session_ids[0]))[:100]]:
        request()
    if kind == "postgres":
        with app.app_context():
            server_pids = list(db.session.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
            db.session.remove()

    figures = []
    print(f"{kind}: {students} students, {seats} seats, CPU ms per request (app process + database server)")
    for number, session_id in enumerate(session_ids[1:rounds + 1], start=1):
        base = _timed(baseline(), server_pids) if only != "booking" else (0.0, 0.0)
        booked = _timed(bookings(session_id), server_pids) if only != "baseline" else (1.0, 0.0)
        figures.append((base, booked))
        print(f"  round {number}: baseline {base[0]:.3f} + {base[1]:.3f}  booking {booked[0]:.3f} + {booked[1]:.3f}"
              f"  ratio {(base[0] + base[1]) / (booked[0] + booked[1]):.3f}")
    base = [statistics.median(f[0][part] for f in figures) for part in (0, 1)]
    booked = [statistics.median(f[1][part] for f in figures) for part in (0, 1)]
    print(f"  median: baseline {base[0]:.3f} + {base[1]:.3f}  booking {booked[0]:.3f} + {booked[1]:.3f}"
          f"  ratio {sum(base) / sum(booked):.3f}")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for request in bookings(session_ids[-1]):
            request()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(35)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"app/", 40)
        print(out.getvalue())
    with app.app_context():
        db.engine.dispose()


def _expect(response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=("baseline", "booking"), help="run one kind of request (for callgrind)")
    args = parser.parse_args()
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(kind, args.students, args.seats, args.rounds, args.profile, args.only)


if __name__ == "__main__":
    main()
