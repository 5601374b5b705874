"""The camp rush: N students book one session of C seats at the same moment, over HTTP.

Starts the app under gunicorn (production settings, sync workers) on a fresh database, creates the
students and their API tokens, then, against the same server in the same run, for each of
--rounds free sessions and then --paid-rounds paid ones (¥3,980: each booking holds its seat,
pending_payment):
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

After the last paid rush, the payments: --paying of the held seats are paid through WeChat Pay
(orders opened with the real SDK against the local stand-in, which signs and encrypts the
notifications as WeChat does), their notifications posted to the server at once and then replayed
ten times each (WeChat retries), measured like a rush against the baseline; the other holds are
left to run out (the server's PAYMENT_HOLD_SECONDS is short here), the payments worker runs once,
and the database must show exactly that many offers, to the first people of the waiting list.

    .venv/bin/python bench/booking_rush.py                      # SQLite and PostgreSQL, 1000 students, 60 seats
    .venv/bin/python bench/booking_rush.py --db sqlite --students 200 --seats 20 --rounds 1 --paid-rounds 1
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from common import (  # noqa: E402  (bench/common.py)
    ROOT,
    Call,
    Client,
    Phase,
    free_port,
    fresh_database,
    gunicorn,
    median_cpu,
    migrate,
    production_app,
    production_env,
    run_phase,
)

PRICE = "3980.00"
# The bench server's hold: long enough for the rush and the payments, short enough to wait for.
HOLD_SECONDS = 30


def _prepare(database_url: str, students: int, seats: int, rounds: int,
             paid_rounds: int) -> tuple[list[tuple[int, bool]], list[str]]:
    """Migrate, create one session per round (free ones, then paid ones) and the students, and
    return (session id, paid) per round and one API token per student."""
    migrate(database_url)
    app = production_app(database_url)
    with app.app_context():
        from app.catalog import service as catalog
        from app.extensions import db

        course = catalog.create_course(title="快速玩转小红书成长特训营", duration_label="3天2夜", is_published=True)
        free = rush_sessions(course.id, seats, rounds, days_ahead=60, price="0.00")
        paid = rush_sessions(course.id, seats, paid_rounds, days_ahead=60 + 7 * rounds, price=PRICE)
        tokens = students_with_tokens(students)
        db.engine.dispose()
    return [(session_id, False) for session_id in free] + [(session_id, True) for session_id in paid], tokens


def rush_sessions(course_id: int, seats: int, count: int, days_ahead: int, price: str = PRICE) -> list[int]:
    """`count` published sessions of `seats` seats at `price`, a week apart (one rush each); in an app context."""
    from app.catalog import service as catalog
    from app.common.time import utcnow

    session_ids = []
    for week in range(count):
        starts_at = utcnow() + timedelta(days=days_ahead + 7 * week)
        session_ids.append(catalog.create_session(
            course_id, capacity=seats, starts_at=starts_at, ends_at=starts_at + timedelta(days=2, hours=9),
            city="杭州", venue="玺承集团杭州培训中心", price=Decimal(price), is_published=True,
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
    """What a booking answer says: confirmed (free), pending_payment (paid: the seat held) or waitlisted."""
    return json.loads(body)["status"]


def check_rush_database(database_url: str, session_id: int, seats: int, students: int, paid: bool = False) -> str:
    """Exactly `seats` seats taken (confirmed, or for a paid session held), the rest waitlisted 1..N-C."""
    seat_status = "pending_payment" if paid else "confirmed"
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        confirmed = connection.execute(text(
            "SELECT count(*) FROM registrations WHERE session_id = :s AND status = :status"),
            {"s": session_id, "status": seat_status}).scalar()
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
        problems.append(f"{seat_status} rows {confirmed}, seats_taken {seats_taken}, expected {seats}")
    if len(numbers) != students - seats or len(set(numbers)) != len(numbers):
        problems.append(f"{len(numbers)} waitlisted (unique: {len(set(numbers))}), expected {students - seats}")
    if audited != students or emails != students:
        problems.append(f"{audited} audit entries and {emails} emails for {students} bookings")
    return ("OK: " + f"{confirmed} {seat_status}, waitlist 1..{len(numbers)} unique, {audited} audit entries, "
            f"{emails} emails") if not problems else "; ".join(problems)


def rush_figures(rush: Phase, baseline_rps: float) -> dict:
    return {
        "confirmed": rush.statuses.get("confirmed", 0) + rush.statuses.get("pending_payment", 0),
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


def standin_settings(workdir: Path):
    """The WeChat Pay stand-in on a local port and the app's settings for it (keys made in `workdir`)."""
    from standins import wechatpay
    from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
    from standins.serving import BackgroundServer

    keys = ensure_wechatpay_keys(workdir / "standin-keys")
    server = BackgroundServer(wechatpay.create_app(**standin_options(keys)))
    return server, app_settings(keys, server.url)


def paid_notifications(database_url: str, settings: dict, session_id: int, paying: int,
                       standin_url: str) -> tuple[list[Call], list[int], int]:
    """Open WeChat Pay orders (the real SDK, against the stand-in) for the first `paying` held
    seats and pay them there without notifying; the notifications as calls to the server, the
    registrations of the first people waiting (who must be offered the unpaid seats), and how
    many holds are left unpaid."""
    import requests
    from sqlalchemy import select

    from app.booking.models import Registration, RegistrationStatus
    from app.extensions import db
    from app.payments import checkout
    from app.payments.methods import PayMethod

    app = production_app(database_url, settings)
    with app.app_context():
        held = db.session.scalars(select(Registration).where(
            Registration.session_id == session_id, Registration.status == RegistrationStatus.PENDING_PAYMENT)
            .order_by(Registration.id)).all()
        unpaid = len(held) - paying
        first_waiting = list(db.session.scalars(select(Registration.id).where(
            Registration.session_id == session_id, Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.waitlist_number).limit(unpaid)))
        calls = []
        with app.test_request_context():
            for registration in held[:paying]:
                started = checkout.start(registration.id, registration.user, PayMethod.WECHAT_NATIVE)
                paid = requests.post(f"{standin_url}/standin/pay/{started.order.out_trade_no}", json={"notify": False},
                                     timeout=10).json()["notification"]
                calls.append(Call("POST", "/payments/notify/wechat", dict(paid["headers"]), paid["body"].encode()))
        db.engine.dispose()
    return calls, first_waiting, unpaid


def release_lapsed_holds(database_url: str, settings: dict) -> None:
    """The payments worker, once (`flask payments work`), as production runs it."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "payments", "work"], cwd=ROOT, check=True,
                   env=production_env(database_url, settings), capture_output=True)


def check_payments(database_url: str, session_id: int, paying: int, unpaid: int, first_waiting: list[int]) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        counts = dict(connection.execute(text(
            "SELECT status, count(*) FROM registrations WHERE session_id = :s GROUP BY status"),
            {"s": session_id}).all())
        offered = [row[0] for row in connection.execute(text(
            "SELECT id FROM registrations WHERE session_id = :s AND status = 'offered' ORDER BY id"),
            {"s": session_id})]
        payments = connection.execute(text(
            "SELECT count(*) FROM payments p JOIN registrations r ON r.id = p.registration_id WHERE r.session_id = :s"),
            {"s": session_id}).scalar()
        seats_taken = connection.execute(text("SELECT seats_taken FROM camp_sessions WHERE id = :s"),
                                         {"s": session_id}).scalar()
    engine.dispose()
    problems = []
    if counts.get("confirmed") != paying or payments != paying:
        problems.append(f"{counts.get('confirmed')} confirmed, {payments} payments, expected {paying}")
    if counts.get("expired") != unpaid or sorted(offered) != sorted(first_waiting):
        whom = "the first waiting" if sorted(offered) == sorted(first_waiting) else "not the first waiting"
        problems.append(f"{counts.get('expired')} expired, offers to {len(offered)} people ({whom})")
    if seats_taken != paying + unpaid:
        problems.append(f"seats_taken {seats_taken}")
    return (f"OK: {paying} paid and confirmed (one payment each, replays ignored), {unpaid} expired, "
            f"{len(offered)} offers to the first {unpaid} waiting") if not problems else "; ".join(problems)


def run(kind: str, students: int, seats: int, workers: int, concurrency: int, rounds: int, paid_rounds: int,
        paying: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        database_url = fresh_database(kind, Path(workdir), "bench_booking_rush")
        sessions, tokens = _prepare(database_url, students, seats, rounds, paid_rounds)
        standin, settings = standin_settings(Path(workdir))
        settings = {**settings, "PAYMENT_HOLD_SECONDS": str(HOLD_SECONDS)}
        port = free_port()
        clients = [Client(port) for _ in range(concurrency)]
        baselines, rushes, payment, verdicts = [], [], {}, []
        with gunicorn(database_url, port, workers, settings) as server_pid:
            run_phase("warm-up", clients, api_calls("GET", "/api/v1/me", tokens[: concurrency * 2]))
            for session_id, paid in sessions:
                baselines.append(baseline_phase(clients, tokens, server_pid))
                rushes.append(rush_phase(clients, session_id, tokens, server_pid))
                # Checked at once, between the measured phases: a paid rush's holds run out later.
                verdicts.append(check_rush_database(database_url, session_id, seats, students, paid))
            baselines.append(baseline_phase(clients, tokens, server_pid))
            if paid_rounds:
                payment = _payments(database_url, settings, sessions[-1][0], paying, standin.url, clients,
                                    server_pid, baselines[-1])
        standin.stop()
        if paid_rounds:
            verdicts.append(check_payments(database_url, sessions[-1][0], paying, seats - paying,
                                           payment.pop("first_waiting")))
    per_round = [
        {**rush_figures(rush, (baselines[n].requests_per_second + baselines[n + 1].requests_per_second) / 2),
         "paid": sessions[n][1]}
        for n, rush in enumerate(rushes)
    ]
    baseline_errors = sum(len(phase.errors) for phase in baselines)
    free, paid = [r for r in per_round if not r["paid"]], [r for r in per_round if r["paid"]]
    return {
        "database": kind,
        "rounds": per_round,
        "median": _median(free), "median_paid": _median(paid),
        "baseline_rps": [phase.requests_per_second for phase in baselines],
        "cpu_ms": {name: median_cpu(phases) for name, phases in (("baseline", baselines), ("booking", rushes))},
        "baseline_p50_ms": statistics.median(phase.percentile(50) for phase in baselines),
        "baseline_errors": baseline_errors,
        "payment": payment,
        "database_check": "; ".join(sorted(set(verdicts))),
        "first_errors": [error for phase in rushes + baselines for error in phase.errors][:3],
    }


def _median(rounds: list[dict]) -> dict:
    keys = [key for key in rounds[0] if key != "paid"] if rounds else []
    return {key: statistics.median(r[key] for r in rounds) for key in keys}


def _payments(database_url: str, settings: dict, session_id: int, paying: int, standin_url: str,
              clients: list[Client], server_pid: int, baseline: Phase) -> dict:
    """Pay `paying` of the paid rush's holds by notification, replay them, let the rest run out."""
    calls, first_waiting, unpaid = paid_notifications(database_url, settings, session_id, paying, standin_url)
    notified = run_phase("notify", clients[:len(calls)], calls, server_pid, ok_statuses=(204,))
    replayed = run_phase("replay", clients, calls * 10, server_pid, ok_statuses=(204,))
    time.sleep(HOLD_SECONDS + 1)  # the unpaid holds run out
    release_lapsed_holds(database_url, settings)
    return {"first_waiting": first_waiting, "paying": paying, "unpaid": unpaid,
            "notify_rps": notified.requests_per_second, "replay_rps": replayed.requests_per_second,
            "notify_ratio": notified.requests_per_second / baseline.requests_per_second,
            "replay_ratio": replayed.requests_per_second / baseline.requests_per_second,
            "notify_p50_ms": notified.percentile(50), "replay_p50_ms": replayed.percentile(50),
            "cpu_ms": {"notify": notified.cpu_ms_per_request, "replay": replayed.cpu_ms_per_request},
            "errors": (notified.errors + replayed.errors)[:3]}


def describe_rush(figures: dict) -> str:
    return (f"{'held' if figures.get('paid') else 'confirmed'} {figures['confirmed']:.0f}, "
            f"waitlisted {figures['waitlisted']:.0f}, "
            f"errors {figures['errors']:.0f}; booking {figures['booking_rps']:.0f} req/s "
            f"(p50 {figures['booking_p50_ms']:.0f} ms, p99 {figures['booking_p99_ms']:.0f} ms, "
            f"{figures['bookings_per_minute']:.0f}/minute); baseline {figures['baseline_rps']:.0f} req/s; "
            f"ratio {figures['ratio']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="rushes of free sessions, each on its own session")
    parser.add_argument("--paid-rounds", type=int, default=3, help="rushes of paid sessions (¥3,980), after them")
    parser.add_argument("--paying", type=int, default=40, help="held seats of the last paid rush that are paid")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=50, help="client connections at once")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"booking rush: {args.students} students, {args.seats} seats, {args.rounds} free and "
          f"{args.paid_rounds} paid rounds, gunicorn "
          f"{args.workers} sync workers, {args.concurrency} concurrent clients, {os.cpu_count()} CPU cores")
    for kind in kinds:
        r = run(kind, args.students, args.seats, args.workers, args.concurrency, args.rounds, args.paid_rounds,
                min(args.paying, args.seats))
        print(f"\n[{r['database']}]")
        for n, figures in enumerate(r["rounds"], start=1):
            print(f"  round {n} ({'paid' if figures['paid'] else 'free'}): {describe_rush(figures)}")
        for label, median in (("free", r["median"]), ("paid", r["median_paid"])):
            if median:
                print(f"  median ({label}):  {describe_rush(median)}")
        median = r["median"] or r["median_paid"]
        print(f"  baseline: GET /api/v1/me, {' / '.join(f'{rps:.0f}' for rps in r['baseline_rps'])} req/s before, "
              f"between and after the rushes, p50 {r['baseline_p50_ms']:.1f} ms, errors {r['baseline_errors']}")
        for label, part in (("free", r["median"]), ("paid", r["median_paid"])):
            ratios = [x["ratio"] for x in r["rounds"] if x["paid"] == (label == "paid")]
            if part:
                print(f"  booking throughput / baseline, {label} sessions = {part['ratio']:.2f}  (goal >= 0.50; "
                      f"rounds {min(ratios):.2f}-{max(ratios):.2f})")
        if r["payment"]:
            p = r["payment"]
            print(f"  payments: {p['paying']} WeChat Pay notifications {p['notify_rps']:.0f}/s (p50 "
                  f"{p['notify_p50_ms']:.0f} ms, ratio {p['notify_ratio']:.2f} of the baseline), replays "
                  f"{p['replay_rps']:.0f}/s (p50 {p['replay_p50_ms']:.0f} ms, ratio {p['replay_ratio']:.2f}); "
                  f"{p['unpaid']} holds left to run out")
            for name, cpu in p["cpu_ms"].items():
                if cpu:
                    print(f"  CPU per {name}: " + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in cpu.items()))
            for error in p["errors"]:
                print(f"  payment error: {error}")
        for name, cpu in r["cpu_ms"].items():
            if cpu:
                print(f"  CPU per {name} request: " + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in cpu.items())
                      + f", total {sum(cpu.values()):.2f} ms")
        print(f"  database: {r['database_check']}")
        for error in r["first_errors"]:
            print(f"  error: {error}")


if __name__ == "__main__":
    main()
