"""The admin dashboard with a big site's data: 100,000 registrations, 1,000 articles.

Seeds a fresh, migrated database with bulk inserts (multi-row INSERTs in chunks): 20,000 students,
500 sessions over three years (most finished, some upcoming), registrations confirmed, waitlisted
and cancelled, 30 % of them attributed to an article, attendance and certificates for the finished
sessions, 1,000 articles with views and card clicks. Then, with production settings, logged in as an
admin through the Flask test client, times (median of N, after warm-up requests):
  - the dashboard, GET /admin/ (30 days) and /admin/?days=90;
  - the trivial admin page, GET /admin/outbox/ with an empty outbox: the baseline;
  - each chart's CSV download;
  - each query of the page alone, to see where the time goes.
Prints the figures and the dashboard / baseline ratio (goal: dashboard under 300 ms).

    .venv/bin/python bench/dashboard.py                         # SQLite and PostgreSQL
    .venv/bin/python bench/dashboard.py --db sqlite --registrations 20000 --runs 5
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import APP_SETTINGS, ROOT, fresh_database, production_env  # noqa: E402  (bench/common.py)

ADMIN_EMAIL, PASSWORD = "bench-admin@example.com", "bench-password"
CHUNK = 5_000
COURSES = ["快速玩转小红书成长特训营", "抖音电商爆款打造特训营", "拼多多运营实战营", "淘宝天猫店铺精细化运营",
           "京东自营与POP运营", "1688源头工厂增长营", "亚马逊跨境新手营", "私域社群成交训练营"]
CHARTS = ("upcoming", "registrations", "checkins", "certificates", "articles")


def _app(database_url: str):
    os.environ.update({k: v for k, v in production_env(database_url).items() if k in APP_SETTINGS})
    from app import create_app

    # The test client speaks plain http: secure cookies would not come back. CSRF is off only so
    # that the bench can log in without scraping the form.
    return create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url, "SESSION_COOKIE_SECURE": False,
                                     "REMEMBER_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                                     "RATELIMIT_ENABLED": False})


def _insert(table, rows: list[dict]) -> None:
    from app.extensions import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start:start + CHUNK])


def _sessions(rng: random.Random, count: int, course_ids: list[int], now: datetime) -> list[dict]:
    """`count` three-day camps: 85 % finished (over the last three years), the rest upcoming."""
    sessions = []
    for n in range(count):
        if n < count * 85 // 100:
            starts = now - timedelta(days=rng.uniform(3, 3 * 365))
        else:
            starts = now + timedelta(days=rng.uniform(-1, 365))  # a few are running now
        starts = starts.replace(minute=0, second=0, microsecond=0)
        sessions.append({"id": n + 1, "course_id": rng.choice(course_ids), "label": f"第{n + 1}期",
                         "starts_at": starts, "ends_at": starts + timedelta(days=2, hours=9),
                         "city": rng.choice(["杭州", "广州", "深圳", "上海", "义乌"]), "venue": "玺承集团培训中心",
                         "price": "3980.00", "capacity": rng.randint(60, 220), "seats_taken": 0,
                         "waitlist_issued": 0, "is_published": True, "created_at": starts - timedelta(days=150)})
    return sessions


def _article(rng: random.Random, n: int, now: datetime) -> dict:
    """A published article; views follow a long tail (a few articles are read by thousands)."""
    views = int(rng.paretovariate(1.2) * 200)
    return {"id": n, "slug": f"article-{n}", "title": f"第{n}篇：小红书种草笔记的{rng.randint(3, 9)}个写法",
            "status": "published", "publish_at": now - timedelta(days=rng.uniform(1, 700)), "view_count": views,
            "card_clicks": int(views * rng.uniform(0, 0.1))}


def _book_session(rng: random.Random, camp: dict, people: list[int], now: datetime, zone, articles: int,
                  rows: list, attendance: list, certificates: list) -> None:
    """One session's registrations in booking order (8 % cancelled, confirmed up to capacity, the
    rest waitlisted), and for a finished session its attendance (0-3 days) and certificates (3 days)."""
    finished = camp["ends_at"] < now
    first_day = camp["starts_at"].astimezone(zone).date()
    times = sorted(min(camp["starts_at"] - timedelta(days=rng.uniform(0.5, 120)),
                       now - timedelta(minutes=rng.uniform(1, 60 * 24 * 60))) for _ in people)
    confirmed = waitlisted = issued = 0
    for user_id, created in zip(people, times, strict=True):
        reg_id = len(rows) + 1
        source = f"article:{rng.randint(1, articles)}" if rng.random() < 0.3 else rng.choice(("web", "web", "api"))
        row = {"id": reg_id, "session_id": camp["id"], "user_id": user_id, "created_at": created, "source": source,
               "ticket_code": f"B{reg_id:09d}", "waitlist_number": None, "confirmed_at": None, "cancelled_at": None}
        rows.append(row)
        if rng.random() < 0.08:
            row.update(status="cancelled", cancelled_at=created + timedelta(days=1))
            continue
        if confirmed == camp["capacity"]:
            waitlisted += 1
            row.update(status="waitlisted", waitlist_number=waitlisted)
            continue
        confirmed += 1
        row.update(status="confirmed", confirmed_at=created)
        days = rng.choices((0, 1, 2, 3), weights=(15, 10, 15, 60))[0] if finished else 0
        attendance += [{"registration_id": reg_id, "day": first_day + timedelta(days=d),
                        "checked_in_at": camp["starts_at"] + timedelta(days=d)} for d in range(days)]
        if days == 3:
            issued += 1
            certificates.append({
                "registration_id": reg_id, "serial": f"XC{first_day.year}-{camp['id']:04d}-{issued:04d}",
                "verify_token": f"t{reg_id:042d}", "status": "revoked" if rng.random() < 0.02 else "valid",
                "name": "学员", "course_title": COURSES[0], "start_date": first_day,
                "end_date": first_day + timedelta(days=2), "hours": 24, "issued_on": first_day + timedelta(days=3),
                "created_at": camp["ends_at"] + timedelta(days=1)})
    camp.update(seats_taken=confirmed, waitlist_issued=waitlisted, waitlisted_count=waitlisted,
                certificates_issued=issued)


def seed(database_url: str, registrations: int, students: int, session_count: int, articles: int) -> dict:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                   env=production_env(database_url), check=True, capture_output=True)
    # The app first: its settings are read from the environment when the app package is first imported.
    app = _app(database_url)
    from werkzeug.security import generate_password_hash

    from app.accounts.models import Role, User
    from app.booking.models import Registration
    from app.catalog import service as catalog
    from app.catalog.models import CampSession
    from app.certificates.models import Certificate
    from app.cms.models import Article
    from app.common.time import site_zone
    from app.extensions import db
    from app.roster.models import Attendance

    rng = random.Random(20261202)
    now = datetime.now(UTC)
    began = time.perf_counter()
    with app.app_context():
        zone = site_zone()
        course_ids = [catalog.create_course(title=title, is_published=True).id for title in COURSES]
        password_hash = generate_password_hash(PASSWORD)
        users = [{"id": 1, "email": ADMIN_EMAIL, "name": "王管理", "phone": "13900000000",
                  "password_hash": password_hash, "role": Role.ADMIN}]
        users += [{"id": n + 2, "email": f"student{n:05d}@example.com", "name": "学员", "phone": f"138{n:08d}",
                   "password_hash": password_hash, "role": Role.STUDENT} for n in range(students)]
        _insert(User.__table__, users)

        sessions = _sessions(rng, session_count, course_ids, now)
        # Registrations per session: 0.6 to 1.4 times the average, adding up to exactly `registrations`.
        weights = [rng.uniform(0.6, 1.4) for _ in sessions]
        sizes = [int(w / sum(weights) * registrations) for w in weights]
        for n in range(registrations - sum(sizes)):
            sizes[n % len(sizes)] += 1
        rows, attendance, certificates = [], [], []
        for camp, size in zip(sessions, sizes, strict=True):
            people = rng.sample(range(2, students + 2), min(size, students))
            _book_session(rng, camp, people, now, zone, articles, rows, attendance, certificates)
        _insert(CampSession.__table__, sessions)
        _insert(Registration.__table__, rows)
        _insert(Attendance.__table__, attendance)
        _insert(Certificate.__table__, certificates)
        _insert(Article.__table__, [_article(rng, n, now) for n in range(1, articles + 1)])
        db.session.commit()
        with db.engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:  # explicit ids were inserted: move the sequences on
                for table in ("users", "camp_sessions", "registrations", "articles"):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            if not postgres:
                connection.exec_driver_sql("ANALYZE")  # fresh statistics, as a long-running site has them
            connection.commit()
        if postgres:  # statistics and the visibility map (index-only scans), as autovacuum would leave them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    return {"registrations": len(rows), "sessions": len(sessions), "attendance": len(attendance),
            "certificates": len(certificates), "articles": articles, "students": students,
            "seconds": time.perf_counter() - began}


def _median_ms(action, runs: int) -> tuple[float, float]:
    """Median and worst of `runs` timings, in milliseconds."""
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings), max(timings)


def measure(database_url: str, runs: int) -> dict:
    from app.admin import dashboard_queries as queries
    from app.common.time import utcnow
    from app.roster.service import local_today

    app = _app(database_url)
    client = app.test_client()
    response = client.post("/account/login", data={"login": ADMIN_EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.status_code

    def get(url: str):
        def fetch() -> None:
            reply = client.get(url)
            assert reply.status_code == 200, (url, reply.status_code)
            reply.get_data()
        return fetch

    pages = {"GET /admin/ (30 days)": "/admin/", "GET /admin/?days=90": "/admin/?days=90",
             "GET /admin/outbox/ (baseline)": "/admin/outbox/"}
    for url in pages.values():  # warm-up: imports, templates, compiled queries
        for _ in range(3):
            get(url)()
    figures = {name: _median_ms(get(url), runs) for name, url in pages.items()}
    for key in CHARTS:
        figures[f"CSV {key}"] = _median_ms(get(f"/admin/dashboard/{key}.csv?days=90"), max(3, runs // 4))

    with app.app_context():
        now = utcnow()
        parts = {
            "upcoming sessions (20) + waitlists": lambda: queries.upcoming_sessions(now, 20),
            "registrations per day, 30 days": lambda: queries.registrations_per_day(local_today(now), 30),
            "registrations per day, 90 days": lambda: queries.registrations_per_day(local_today(now), 90),
            "past sessions (20): confirmed, checked in, certificates": lambda: queries.past_sessions(now, 20),
            "certificate totals": queries.certificate_totals,
            "article funnel (article_figures, 1,000 articles)": queries.article_funnel,
        }
        queries_ms = {}
        for name, action in parts.items():
            action()
            queries_ms[name] = _median_ms(action, runs)
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()
    return {"pages": figures, "queries": queries_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=21, help="timed requests per page (median)")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"admin dashboard: {args.registrations:,} registrations, {args.sessions} sessions, "
          f"{args.students:,} students, {args.articles:,} articles; median of {args.runs} requests through the "
          f"Flask test client, production settings, {os.cpu_count()} CPU cores")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as workdir:
            database_url = fresh_database(kind, Path(workdir), "bench_dashboard")
            seeded = seed(database_url, args.registrations, args.students, args.sessions, args.articles)
            result = measure(database_url, args.runs)
        print(f"\n[{kind}] seeded in {seeded['seconds']:.1f} s: {seeded['registrations']:,} registrations, "
              f"{seeded['attendance']:,} attendance rows, {seeded['certificates']:,} certificates, "
              f"{seeded['sessions']} sessions, {seeded['articles']:,} articles")
        pages = result["pages"]
        for name, (median, worst) in pages.items():
            print(f"  {name:<40} median {median:7.1f} ms   max {worst:7.1f} ms")
        baseline = pages["GET /admin/outbox/ (baseline)"][0]
        for name in ("GET /admin/ (30 days)", "GET /admin/?days=90"):
            median = pages[name][0]
            verdict = "met" if median < 300 else "NOT met"
            print(f"  {name} / baseline = {median / baseline:.1f}   (goal: under 300 ms: {verdict})")
        print("  queries alone:")
        for name, (median, _worst) in result["queries"].items():
            print(f"    {name:<58} median {median:7.2f} ms")


if __name__ == "__main__":
    main()
