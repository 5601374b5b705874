"""The share spike: thousands of phones open an article from a WeChat share, then its booking card.

Starts the app under gunicorn (production settings, sync workers) on a fresh database seeded with
the demo content through the app's own services (app/demo: courses, sessions, bookings, articles
with their booking cards), then, against the same server in the same run:

  Pages alone. Anonymous readers (--readers client connections at once, each a phone that keeps the
  cookies the site sets: the article's `reader` cookie on the first visit, so its later visits are
  counted views; with --first-visits no cookies, every request a new phone's first visit) load, one
  phase each, the lead article (the 小红书 analysis with the booking card for
  《快速玩转小红书成长特训营》), the home page and the course page; before and after every page
  phase the same readers load the trivial endpoint GET /healthz (no database). Each page phase is
  compared with the mean of the two trivial phases around it (a machine that speeds up or slows
  down during the run moves both alike); --rounds rounds, medians. Per page: req/s, p50/p99
  latency, ratio, CPU per request of the gunicorn workers, PostgreSQL and the load generator
  (from /proc), and non-200 answers as errors.

  During a booking rush (--with-rush, on by default). Per round: the rush alone (--students
  students with API tokens book one session of --seats seats on another course than the article's
  card: POST /api/v1/sessions/<id>/registrations), bracketed by GET /api/v1/me; then each page
  again, loaded for as long as a rush on a fresh session runs beside it, bracketed by /healthz;
  then GET /api/v1/me again. Prints the page ratios during the rush (against /healthz measured
  alone) and the rush's ratio against GET /api/v1/me, measured alone and measured beside the same
  page load (the students' trivial calls while the readers read: the figure that says whether
  reading slows bookings more than it slows any request; the two cores are shared either way),
  for the rush alone and beside each page; then checks every rush in the database (exactly --seats confirmed, the rest
  waitlisted 1..N, one audit entry and one email per booking) as bench/booking_rush.py does.

  --profile PAGE: instead of all this, N requests of one page in-process (Flask test client,
  production settings, the same seeded database), the time split by part and cProfile's top
  functions (bench/page_profile.py).

    .venv/bin/python bench/pages.py                              # both databases, 16 readers, 3 rounds, with the rush
    .venv/bin/python bench/pages.py --db sqlite --readers 8 --requests 300 --rounds 1 --no-rush
    .venv/bin/python bench/pages.py --db postgres --profile article --profile-requests 300
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import common  # noqa: E402  (bench/common.py)
from booking_rush import (  # noqa: E402  (bench/booking_rush.py)
    baseline_phase,
    check_rush_database,
    rush_figures,
    rush_phase,
    rush_sessions,
    students_with_tokens,
)
from common import Client, Phase, run_phase  # noqa: E402

LEAD_ARTICLE_SLUG = "xiaohongshu-ecommerce-opportunity"  # app/demo/article_texts.py
TRIVIAL = "/healthz"
PG_NAME = "bench_pages"
# The rush sessions start far ahead, after every demo session, so that the pages show the demo's.
RUSH_DAYS_AHEAD = 400


@dataclass
class Site:
    pages: dict[str, str]  # page name -> path
    card_session_id: int  # the lead article's booking card
    lead_views: int  # the lead article's reading count (阅读) once seeded
    rush_session_ids: list[int]
    tokens: list[str]


def seed_site(database_url: str, rushes: int, seats: int, students: int) -> Site:
    """Migrate and seed the demo content, as `flask seed-demo` does (through the services), plus
    the rush sessions and students; in-process, production settings."""
    common.migrate(database_url)
    app = common.production_app(database_url)
    with app.app_context():
        from app.accounts import service as accounts
        from app.catalog import service as catalog
        from app.cms import rendering
        from app.cms.queries import article_page
        from app.common.time import utcnow
        from app.demo.articles import DOUYIN_SLUG, seed_articles
        from app.demo.catalog import XHS_SLUG, seed_catalog
        from app.demo.cli import DEMO_PASSWORD, seed_accounts
        from app.extensions import db

        seed_accounts()
        seed_catalog(DEMO_PASSWORD, demo_student=accounts.find_by_login("student@example.com"))
        seed_articles(actor=accounts.find_by_login("admin@example.com"))
        lead = article_page(LEAD_ARTICLE_SLUG, utcnow())
        cards = rendering.booking_card_ids(lead.article.body) if lead else []
        if len(cards) != 1:
            raise RuntimeError(f"the lead article {LEAD_ARTICLE_SLUG} should have one booking card, has {cards}")
        lead_views = lead.article.view_count
        # The rush books another course than the article's card (the 抖音 camp), so the card's seats stay put.
        douyin = catalog.published_course_by_slug(DOUYIN_SLUG)
        session_ids = (rush_sessions(douyin.id, seats, rushes, days_ahead=RUSH_DAYS_AHEAD, price="0.00")
                       if rushes else [])
        tokens = students_with_tokens(students) if rushes else []
        db.engine.dispose()
    pages = {"article": f"/articles/{LEAD_ARTICLE_SLUG}", "home": "/", "course": f"/courses/{XHS_SLUG}"}
    return Site(pages, cards[0], lead_views, session_ids, tokens)


def _page_calls(path: str, count: int) -> list[common.Call]:
    return [common.Call("GET", path, {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"})] * count


def _trivial(readers: list[Client], requests: int, server_pid: int | None = None) -> Phase:
    return run_phase(f"GET {TRIVIAL}", readers, _page_calls(TRIVIAL, requests), server_pid, ok_statuses=(200,))


def _ratio(phase: Phase, before: Phase, after: Phase) -> float:
    baseline = (before.requests_per_second + after.requests_per_second) / 2
    return phase.requests_per_second / baseline if baseline else 0.0


def _pages_alone(readers: list[Client], pages: dict[str, str], rounds: int, requests: int, trivial_requests: int,
                 server_pid: int) -> tuple[dict[str, list[tuple[Phase, float]]], list[Phase]]:
    """trivial, page, trivial, page, ... : each page phase with its ratio to the trivial phases around it."""
    measured: dict[str, list[tuple[Phase, float]]] = {name: [] for name in pages}
    trivial = [_trivial(readers, trivial_requests, server_pid)]
    for _ in range(rounds):
        for name, path in pages.items():
            phase = run_phase(f"GET {path}", readers, _page_calls(path, requests), server_pid, ok_statuses=(200,))
            trivial.append(_trivial(readers, trivial_requests, server_pid))
            measured[name].append((phase, _ratio(phase, trivial[-2], trivial[-1])))
    return measured, trivial


def _beside(readers: list[Client], path: str, action: Callable[[], Phase]) -> tuple[Phase, Phase]:
    """`action()` (a rush, or the students' trivial calls) while every reader loads the page over and
    over: the page's phase and the action's."""
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as background:
        page_load = background.submit(run_phase, f"GET {path}", readers, _page_calls(path, len(readers)),
                                      ok_statuses=(200,), until=done)
        try:
            result = action()
        finally:
            done.set()
        return page_load.result(), result


@dataclass
class RushRound:
    alone: dict  # rush_figures of the rush alone
    # page -> (page phase, its ratio, rush_figures of the rush against GET /api/v1/me with no page
    # load, rush_figures against GET /api/v1/me under the same page load)
    beside: dict[str, tuple[Phase, float, dict, dict]]


def _pages_during_rush(readers: list[Client], students: list[Client], site: Site, rounds: int,
                       trivial_requests: int) -> tuple[list[RushRound], list[Phase]]:
    """Per round: the rush alone between GET /api/v1/me phases, then each page beside a rush of its
    own between /healthz phases, then /api/v1/me again. Returns the rounds and the bracket phases."""
    sessions = iter(site.rush_session_ids)
    results, brackets = [], []
    for _ in range(rounds):
        me_before = baseline_phase(students, site.tokens)
        rush_alone = rush_phase(students, next(sessions), site.tokens)
        me_between = baseline_phase(students, site.tokens)
        trivial = [_trivial(readers, trivial_requests)]
        beside = {}
        for name, path in site.pages.items():
            # The rush beside the readers, bracketed by the students' trivial calls beside the same
            # readers: whether reading slows bookings more than it slows any request.
            _page, me_loaded_before = _beside(readers, path, partial(baseline_phase, students, site.tokens))
            page, rush = _beside(readers, path, partial(rush_phase, students, next(sessions), site.tokens))
            _page, me_loaded_after = _beside(readers, path, partial(baseline_phase, students, site.tokens))
            trivial.append(_trivial(readers, trivial_requests))
            loaded = (me_loaded_before.requests_per_second + me_loaded_after.requests_per_second) / 2
            beside[name] = (page, _ratio(page, trivial[-2], trivial[-1]), rush, loaded)
            brackets += [me_loaded_before, me_loaded_after]
        me_after = baseline_phase(students, site.tokens)
        brackets += [me_before, me_between, me_after, *trivial]
        alone = rush_figures(rush_alone, (me_before.requests_per_second + me_between.requests_per_second) / 2)
        me_around_pages = (me_between.requests_per_second + me_after.requests_per_second) / 2
        results.append(RushRound(alone, {
            name: (page, ratio, rush_figures(rush, me_around_pages), rush_figures(rush, loaded))
            for name, (page, ratio, rush, loaded) in beside.items()}))
    return results, brackets


def run(kind: str, args: argparse.Namespace) -> None:
    rushes = 4 * args.rounds if args.with_rush else 0  # per round: alone, then beside each of the 3 pages
    with tempfile.TemporaryDirectory() as workdir:
        database_url = common.fresh_database(kind, Path(workdir), PG_NAME)
        site = seed_site(database_url, rushes, args.seats, args.students)
        port = common.free_port()
        readers = [Client(port, keeps_cookies=not args.first_visits) for _ in range(args.readers)]
        with common.gunicorn(database_url, port, args.workers) as server_pid:
            _check_card(port, site)
            for path in site.pages.values():  # warm-up; each reader gets its reader cookie here
                run_phase("warm-up", readers, _page_calls(path, 2 * len(readers)), ok_statuses=(200,))
            alone, trivial = _pages_alone(readers, site.pages, args.rounds, args.requests, args.trivial_requests,
                                          server_pid)
            _print_alone(kind, args, alone, trivial)
            if args.with_rush:
                students = [Client(port) for _ in range(args.rush_clients)]
                baseline_phase(students, site.tokens[: 2 * len(students)])  # warm-up
                during, brackets = _pages_during_rush(readers, students, site, args.rounds, args.trivial_requests)
        expected = ("none expected: no reader sends the cookie back" if args.first_visits else
                    f"{len(readers)} readers, each counted once, on its first visit with the reader cookie")
        print(f"  the lead article's reading count went up by {_lead_views(database_url) - site.lead_views} "
              f"({expected})")
        if args.with_rush:
            verdicts = [check_rush_database(database_url, session_id, args.seats, args.students)
                        for session_id in site.rush_session_ids]
            _print_during_rush(args, during, brackets, verdicts)


def _check_card(port: int, site: Site) -> None:
    """The page under load is the real one: the lead article shows its booking card."""
    status, body = Client(port).send(_page_calls(site.pages["article"], 1)[0])
    if status != 200 or f"/book/{site.card_session_id}".encode() not in body:
        raise RuntimeError(f"the lead article answered {status} without its booking card")


def _lead_views(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        views = connection.execute(text("SELECT view_count FROM articles WHERE slug = :slug"),
                                   {"slug": LEAD_ARTICLE_SLUG}).scalar_one()
    engine.dispose()
    return views


def _first_errors(phases: list[Phase]) -> list[str]:
    return [error for phase in phases for error in phase.errors][:3]


def _line(label: str, rps: list[float], p50: list[float], p99: list[float], errors: int,
          ratios: list[float] | None = None, ratio_of: str = "") -> str:
    """One measured thing: medians over the rounds, and the range of its ratio."""
    text = (f"  {label:<54} {statistics.median(rps):6.0f} req/s  p50 {statistics.median(p50):5.1f} ms  "
            f"p99 {statistics.median(p99):6.1f} ms")
    if ratios:
        text += (f"  ratio{ratio_of} {statistics.median(ratios):.3f} "
                 f"(rounds {min(ratios):.3f}-{max(ratios):.3f})")
    return text + f"  errors {errors}"


def _phases_line(label: str, phases: list[Phase], ratios: list[float] | None = None) -> str:
    return _line(label, [p.requests_per_second for p in phases], [p.percentile(50) for p in phases],
                 [p.percentile(99) for p in phases], sum(len(p.errors) for p in phases), ratios)


def _rush_line(label: str, rushes: list[dict]) -> str:
    return _line(label, [f["booking_rps"] for f in rushes], [f["booking_p50_ms"] for f in rushes],
                 [f["booking_p99_ms"] for f in rushes], int(sum(f["errors"] for f in rushes)),
                 [f["ratio"] for f in rushes], " to GET /api/v1/me")


def _rates(phases: list[Phase]) -> str:
    return " / ".join(f"{phase.requests_per_second:.0f}" for phase in phases)


def _cpu_line(phases: list[Phase]) -> str:
    cpu = common.median_cpu(phases)
    if not cpu:
        return ""
    return ("    CPU per request: " + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in cpu.items())
            + f", total {sum(cpu.values()):.2f} ms")


def _print_alone(kind: str, args: argparse.Namespace, alone: dict[str, list[tuple[Phase, float]]],
                 trivial: list[Phase]) -> None:
    print(f"\n[{kind}] pages alone: {args.readers} readers, {args.requests} requests a page phase, "
          f"{args.trivial_requests} a trivial phase, {args.rounds} rounds")
    print(_phases_line(f"GET {TRIVIAL}", trivial) + f"  (phases {_rates(trivial)})")
    print(_cpu_line(trivial))
    for error in _first_errors(trivial):
        print(f"    error: {error}")
    for name, measured in alone.items():
        phases = [phase for phase, _ratio in measured]
        print(_phases_line(f"{name} {phases[0].name}", phases, [ratio for _phase, ratio in measured]))
        print(_cpu_line(phases))
        for error in _first_errors(phases):
            print(f"    error: {error}")


def _print_during_rush(args: argparse.Namespace, during: list[RushRound], brackets: list[Phase],
                       verdicts: list[str]) -> None:
    print(f"  during a booking rush: {args.students} students, {args.seats} seats, {args.rush_clients} "
          f"student connections, beside the {args.readers} readers")
    print(_rush_line("rush alone", [r.alone for r in during]))
    for name in during[0].beside:
        pages = [r.beside[name][0] for r in during]
        print(_phases_line(f"{name} during the rush", pages, [r.beside[name][1] for r in during]))
        print(_rush_line("  the rush meanwhile", [r.beside[name][2] for r in during]))
        print(_rush_line("  the rush, its baseline beside the readers",
                         [r.beside[name][3] for r in during]))
        for error in _first_errors(pages):
            print(f"    error: {error}")
    me = [phase for phase in brackets if phase.name == "GET /api/v1/me"]
    trivial = [phase for phase in brackets if phase.name != "GET /api/v1/me"]
    print(f"  brackets: GET /api/v1/me {_rates(me)} req/s, GET {TRIVIAL} {_rates(trivial)} req/s, "
          f"errors {sum(len(phase.errors) for phase in brackets)}")
    for error in _first_errors(brackets):
        print(f"    error: {error}")
    print(f"  database: {len(verdicts)} rushes; " + "; ".join(sorted(set(verdicts))))


def profile(kind: str, args: argparse.Namespace) -> None:
    from page_profile import profile_page

    with tempfile.TemporaryDirectory() as workdir:
        database_url = common.fresh_database(kind, Path(workdir), PG_NAME)
        site = seed_site(database_url, 0, args.seats, 0)
        path = TRIVIAL if args.profile == "healthz" else site.pages[args.profile]
        # The test client speaks plain http: a secure cookie would not come back.
        app = common.production_app(database_url, {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
        print(f"\n[{kind}] profile")
        print(profile_page(app, path, args.profile_requests))
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--readers", type=int, default=16, help="readers (client connections) at once")
    parser.add_argument("--requests", type=int, default=800, help="requests of each page phase")
    parser.add_argument("--trivial-requests", type=int, default=3000,
                        help="requests of each trivial phase (GET /healthz: about 2 s, like a page phase)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--with-rush", "--rush", action=argparse.BooleanOptionalAction, default=True,
                        help="also the pages during a booking rush (--no-rush: pages alone)")
    parser.add_argument("--first-visits", action="store_true",
                        help="readers keep no cookies: every article request is a new phone's first visit "
                             "(no view counted in the request; the page's beacon, not fetched here, would)")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--rush-clients", type=int, default=50, help="student connections at once in a rush")
    parser.add_argument("--profile", choices=["article", "home", "course", "healthz"],
                        help="profile one page in-process instead of the load")
    parser.add_argument("--profile-requests", type=int, default=300)
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        if args.profile:
            profile(kind, args)
            continue
        if kind == kinds[0]:
            print(f"share-spike pages: gunicorn {args.workers} sync workers, {os.cpu_count()} CPU cores")
        run(kind, args)


if __name__ == "__main__":
    main()
