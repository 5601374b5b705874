"""Roster search in a big session: the stored search key (users.search_key, one LIKE in SQL)
against computing each person's pinyin in Python at query time, for a 2,000-registration session.

Seeds the same database as bench/roster_exports.py (names drawn from common surnames and given
names, a few rare ones such as 王𠮷 and 买买提·艾力), fills the search keys the way migration
0009 does, then, through the Flask test client as a staff member:
  - the roster page with no search (the floor), with `wang ji`, with `wj`, and with a ticket code;
  - the alternative that was not built: read every name of the session and compute its key in
    Python for each search (what the page would add to the floor before it could filter and page).
Each figure is the median of `--rounds` requests, in milliseconds.

    .venv/bin/python bench/roster_search.py                     # SQLite and PostgreSQL
    .venv/bin/python bench/roster_search.py --db sqlite --registrations 2000
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from common import fresh_database, production_env  # noqa: E402  (bench/common.py)
from roster_exports import PASSWORD, STAFF_EMAIL, seed


def _app(database_url: str):
    """The test suite's settings (plain http, CSRF on as the roster page's forms need) on the
    bench's database."""
    os.environ.update({k: v for k, v in production_env(database_url).items() if k in ("SECRET_KEY", "DATABASE_URL")})
    from app import create_app

    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})


def _median_ms(call, rounds: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(database_url: str, registrations: int, rounds: int) -> dict:
    info = seed(database_url, registrations, capacity=registrations // 2, cancelled=registrations // 20)
    from sqlalchemy import select, update

    from app.accounts.models import User
    from app.accounts.search import name_search_key
    from app.booking.models import Registration
    from app.extensions import db

    app = _app(database_url)
    session_id = info["session_id"]
    with app.app_context():
        people = db.session.execute(select(User.id, User.name).where(User.name.is_not(None))).all()
        db.session.execute(update(User), [{"id": row.id, "search_key": name_search_key(row.name)} for row in people])
        code = db.session.scalar(select(Registration.ticket_code).where(Registration.session_id == session_id)
                                 .order_by(Registration.id.desc()).limit(1))
        db.session.commit()

    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/account/login").get_data(as_text=True))
    response = client.post("/account/login", data={"login": STAFF_EMAIL, "password": PASSWORD,
                                                   "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    url = f"/staff/sessions/{session_id}/roster"

    def page(q: str = ""):
        def call():
            answer = client.get(url, query_string={"q": q} if q else {})
            assert answer.status_code == 200
        return call

    def python_keys():
        with app.app_context():
            names = db.session.scalars(select(User.name).join(Registration, Registration.user_id == User.id)
                                       .where(Registration.session_id == session_id)).all()
            [name_search_key(name) for name in names]
            db.session.remove()

    grouped = "-".join(code[i:i + 4] for i in (0, 4, 8)).lower()
    return {
        "roster, no search": _median_ms(page(), rounds),
        "search `wang ji` (stored key)": _median_ms(page("wang ji"), rounds),
        "search `wj` (stored key)": _median_ms(page("wj"), rounds),
        f"search ticket `{grouped}`": _median_ms(page(grouped), rounds),
        "keys computed in Python per search (extra)": _median_ms(python_keys, rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for kind in kinds:
        with tempfile.TemporaryDirectory() as workdir:
            url = fresh_database(kind, Path(workdir), "bench_roster_search")
            figures = measure(url, args.registrations, args.rounds)
        print(f"\n{kind}, {args.registrations} registrations, median of {args.rounds} (ms):")
        for label, value in figures.items():
            print(f"  {label:<48} {value:8.1f}")


if __name__ == "__main__":
    main()
