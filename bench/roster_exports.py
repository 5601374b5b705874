"""Roster exports of a big session: CSV, XLSX and the PDF sign-in sheet of 10,000 registrations.

Seeds a fresh database (migrated) with one session of N registrations (bulk inserts, one shared
password hash; confirmed, waitlisted and cancelled, attendance for part of the confirmed), then,
for each export, in a fresh Python process (so that its peak memory is its own):
  - the floor: the same rows fetched from the database and thrown away (same queries, same
    batches, no formatting);
  - the export, downloaded through the Flask test client as a staff member and read chunk by
    chunk as a browser would: seconds, rows per second, bytes;
  - memory: growth of the process's peak RSS (ru_maxrss) over the export, and the peak of
    Python allocations during a second, traced run (tracemalloc; not timed, it slows the code);
  - export time / floor time, the figure that does not depend on the machine.

    .venv/bin/python bench/roster_exports.py                              # SQLite and PostgreSQL
    .venv/bin/python bench/roster_exports.py --db sqlite --registrations 2000
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from common import APP_SETTINGS, ROOT, fresh_database, production_env  # noqa: E402  (bench/common.py)

STAFF_EMAIL, PASSWORD = "bench-staff@example.com", "bench-password"
EXPORTS = {"csv": "roster.csv", "xlsx": "roster.xlsx", "pdf": "signin.pdf"}
STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a three-day camp

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红鹏飞晶婷雪梅琳丹宇浩然子轩欣怡梓涵一诺喆堃昊淼"
RARE_NAMES = ["王𠮷", "张喆", "李堃", "买买提·艾力", "阿卜杜热合曼·买买提江·艾合买提"]


def _app(database_url: str):
    os.environ.update({k: v for k, v in production_env(database_url).items() if k in APP_SETTINGS})
    from app import create_app

    # The test client speaks plain http: secure cookies would not come back. CSRF is off only
    # so that the bench can log in without scraping the form.
    return create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, "SESSION_COOKIE_SECURE": False,
                                     "REMEMBER_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                                     "RATELIMIT_ENABLED": False})


def seed(database_url: str, registrations: int, capacity: int, cancelled: int) -> dict:
    """Migrate, then one session with `registrations` rows (the first `capacity` confirmed, then
    `cancelled` cancelled, the rest waitlisted) and a small warm-up session of 10."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=production_env(database_url), check=True, capture_output=True)
    from sqlalchemy import insert, update
    from werkzeug.security import generate_password_hash

    from app.accounts.models import Role, User
    from app.booking.models import Registration
    from app.booking.tickets import new_ticket_code
    from app.catalog import service as catalog
    from app.catalog.models import CampSession
    from app.extensions import db
    from app.roster.models import Attendance

    app = _app(database_url)
    rng = random.Random(20260917)
    with app.app_context():
        password_hash = generate_password_hash(PASSWORD)
        course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
        sessions = [
            catalog.create_session(course.id, capacity=size, starts_at=STARTS,
                                   ends_at=STARTS + timedelta(days=2, hours=9), label=label, city="杭州",
                                   venue="玺承集团杭州培训中心", price=Decimal("3980.00"), is_published=True).id
            for label, size in (("第12期", capacity), ("热身", 10))
        ]
        db.session.execute(insert(User.__table__), [
            {"email": STAFF_EMAIL, "name": "李助教", "phone": "13900000000", "password_hash": password_hash,
             "role": Role.STAFF}
        ])
        people = []
        for n in range(registrations + 10):
            name = RARE_NAMES[n // 997 % len(RARE_NAMES)] if n % 997 == 0 else (
                rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))))
            people.append({"email": f"student{n:05d}@example.com", "name": name, "phone": f"138{n:08d}",
                           "password_hash": password_hash, "role": Role.STUDENT})
        db.session.execute(insert(User.__table__), people)
        user_ids = [row.id for row in db.session.execute(
            User.__table__.select().where(User.role == Role.STUDENT).order_by(User.id))]
        booked_from = datetime(2027, 6, 1, tzinfo=UTC)
        rows, waitlist_number = [], 0
        for n, user_id in enumerate(user_ids):
            session_id, index = (sessions[0], n) if n < registrations else (sessions[1], n - registrations)
            row = {"session_id": session_id, "user_id": user_id, "ticket_code": new_ticket_code(),
                   "source": rng.choice(("web", "web", "web", "api", "staff", "article:12")),
                   "created_at": booked_from + timedelta(minutes=7 * n), "waitlist_number": None,
                   "confirmed_at": None, "cancelled_at": None}
            if session_id == sessions[1] or index < capacity:
                row.update(status="confirmed", confirmed_at=row["created_at"])
            elif index < capacity + cancelled:
                row.update(status="cancelled", cancelled_at=row["created_at"] + timedelta(days=1))
            else:
                waitlist_number += 1
                row.update(status="waitlisted", waitlist_number=waitlist_number)
            rows.append(row)
        db.session.execute(insert(Registration.__table__), rows)
        registration_ids = [row.id for row in db.session.execute(
            Registration.__table__.select().where(Registration.session_id == sessions[0],
                                                  Registration.status == "confirmed"))]
        days = [date(2027, 9, 17), date(2027, 9, 18), date(2027, 9, 19)]
        attendance = [{"registration_id": rid, "day": day, "checked_in_at": STARTS}
                      for i, rid in enumerate(registration_ids) for day in days[: i % 4]]  # 0 to 3 days each
        db.session.execute(insert(Attendance.__table__), attendance)
        db.session.execute(update(CampSession.__table__).where(CampSession.id == sessions[0])
                           .values(seats_taken=min(capacity, registrations), waitlist_issued=waitlist_number,
                                   waitlisted_count=waitlist_number))
        db.session.execute(update(CampSession.__table__).where(CampSession.id == sessions[1]).values(seats_taken=10))
        db.session.commit()
        with db.engine.connect() as connection:  # fresh statistics, as autovacuum would have them
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        db.engine.dispose()
    return {"session_id": sessions[0], "warmup_session_id": sessions[1], "attendance": len(attendance),
            "waitlisted": waitlist_number}


# --- measured in a child process -------------------------------------------------------------

def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _floor(export: str, session_id: int) -> int:
    """Fetch what the export shows, the way it does, and nothing else: the row count."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.booking.models import Registration, RegistrationStatus
    from app.extensions import db
    from app.roster.exports import _STATUS_ORDER, BATCH_SIZE
    from app.roster.models import Attendance

    if export == "pdf":
        return len(db.session.execute(
            select(User.name, User.phone, User.email).join(Registration, Registration.user_id == User.id)
            .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.CONFIRMED)
        ).all())
    count = 0
    query = (
        select(Registration.id, Registration.status, Registration.waitlist_number, Registration.ticket_code,
               Registration.source, Registration.created_at, User.name, User.phone, User.email)
        .join(User, User.id == Registration.user_id).where(Registration.session_id == session_id)
        .order_by(_STATUS_ORDER, Registration.waitlist_number, Registration.created_at, Registration.id)
        .execution_options(yield_per=BATCH_SIZE)
    )
    for batch in db.session.execute(query).partitions():
        ids = [row.id for row in batch]
        db.session.execute(select(Attendance.registration_id, Attendance.day)
                           .where(Attendance.registration_id.in_(ids))).all()
        count += len(batch)
    return count


def measure(database_url: str, export: str, session_id: int, warmup_session_id: int, runs: int) -> dict:
    from app.extensions import db

    app = _app(database_url)
    client = app.test_client()
    response = client.post("/account/login", data={"login": STAFF_EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    def download(sid: int) -> int:
        response = client.get(f"/staff/sessions/{sid}/{EXPORTS[export]}")
        assert response.status_code == 200, response.status_code
        size = sum(len(chunk) for chunk in response.response)  # chunk by chunk, as a browser reads it
        response.close()
        return size

    download(warmup_session_id)  # imports, fonts, compiled queries: a process's one-time costs
    floors = []
    with app.app_context():
        for _ in range(runs):
            began = time.perf_counter()
            rows = _floor(export, session_id)
            floors.append(time.perf_counter() - began)
            db.session.remove()
    rss_before = _max_rss_mib()
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        size = download(session_id)
        seconds.append(time.perf_counter() - began)
    rss_after = _max_rss_mib()
    tracemalloc.start()
    download(session_id)
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    export_seconds, floor_seconds = statistics.median(seconds), statistics.median(floors)
    return {"export": export, "rows": rows, "bytes": size, "seconds": export_seconds,
            "rows_per_second": rows / export_seconds, "floor_seconds": floor_seconds,
            "ratio": export_seconds / floor_seconds, "rss_growth_mib": rss_after - rss_before,
            "rss_mib": rss_after, "traced_peak_mib": traced_peak / 2**20}


def run(kind: str, registrations: int, capacity: int, cancelled: int, runs: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database(kind, Path(workdir), "bench_roster_exports")
        began = time.perf_counter()
        seeded = seed(database_url, registrations, capacity, cancelled)
        confirmed = min(capacity, registrations)
        print(f"\n[{kind}] seeded {registrations} registrations ({confirmed} confirmed, "
              f"{min(cancelled, registrations - confirmed)} cancelled, "
              f"{seeded['waitlisted']} waitlisted, {seeded['attendance']} attendance rows) "
              f"in {time.perf_counter() - began:.1f} s")
        results = []
        for export in EXPORTS:
            child = subprocess.run(
                [sys.executable, __file__, "--child", database_url, export, str(seeded["session_id"]),
                 str(seeded["warmup_session_id"]), str(runs)],
                cwd=ROOT, env=production_env(database_url), check=True, capture_output=True, text=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"  {result['export']:4} {result['rows']:>6} rows  {result['seconds']:6.2f} s  "
                  f"{result['rows_per_second']:>7,.0f} rows/s  {result['bytes'] / 2**20:5.1f} MiB  "
                  f"floor {result['floor_seconds']:.3f} s  export/floor {result['ratio']:5.1f}  "
                  f"peak RSS +{result['rss_growth_mib']:.1f} MiB (process {result['rss_mib']:.0f} MiB)  "
                  f"traced peak {result['traced_peak_mib']:.1f} MiB")
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        database_url, export, session_id, warmup_session_id, runs = sys.argv[2:7]
        print(json.dumps(measure(database_url, export, int(session_id), int(warmup_session_id), int(runs))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=6_000, help="confirmed registrations (PDF rows)")
    parser.add_argument("--cancelled", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each export (the median is shown)")
    args = parser.parse_args()
    print(f"roster exports: {args.registrations} registrations in one session, {os.cpu_count()} CPU cores, "
          f"median of {args.runs} runs")
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(kind, args.registrations, args.capacity, args.cancelled, args.runs)


if __name__ == "__main__":
    main()
