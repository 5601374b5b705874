"""Buffered reading counts: what a read costs on the request path, and what a flush of 10,000 events costs.

On a fresh database with 50 published articles, 10,000 events (views of 6,000 readers, a fifth of
them reloads within the window, and one event in ten a booking-card click) are:
  - buffered as the request path does (record_view / record_card_click), in memory and in Redis;
  - flushed (batches of count_buffer.BATCH_EVENTS, one write transaction each): new readers (every
    mark an INSERT), the same events again (every mark fresh: nothing counts), and the same readers
    a window later (every mark an UPDATE);
  - for comparison, written one transaction per event, as every read did before the buffer.
Prints the times and checks the counts.

    .venv/bin/python bench/count_flush.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/count_flush.py --db sqlite --events 10000 --redis redis://127.0.0.1:6379/0
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from common import fresh_database, production_env  # noqa: E402  (bench/common.py)

ARTICLES = 50


def _app(database_url: str, redis_url: str):
    os.environ.update({k: v for k, v in production_env(database_url).items() if k in ("SECRET_KEY", "DATABASE_URL")})
    from app import create_app

    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                                  "CMS_COUNT_REDIS_KEY": f"bench-{uuid.uuid4().hex[:8]}:counts"})


def _events(count: int, article_ids: list[int], now) -> list:
    from app.cms.count_events import CLICK, VIEW, CountEvent

    rng = random.Random(16)
    readers = [f"{n:064x}" for n in range(int(count * 0.6))]
    events = []
    for n in range(count):
        reader = readers[n] if n < len(readers) else rng.choice(readers)  # the rest: reloads
        kind = CLICK if n % 10 == 9 else VIEW
        key = ("c" if kind == CLICK else "v") + reader[1:]
        events.append(CountEvent(kind, article_ids[int(reader, 16) % len(article_ids)], key,
                                 now + timedelta(milliseconds=n)))
    return events


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(database_url: str, redis_url: str, count: int) -> list[tuple[str, float]]:
    from sqlalchemy import func, select

    from app.cms import count_buffer, service
    from app.cms.count_events import VIEW
    from app.cms.count_writer import write_counts
    from app.cms.models import Article
    from app.common.time import utcnow
    from app.extensions import db

    figures = []
    for label, url in (("memory", ""), ("Redis", redis_url)):
        app = _app(database_url, url)
        with app.app_context():
            db.drop_all()
            db.create_all()
            article_ids = []
            for n in range(ARTICLES):
                article = service.create_article(service.ArticleInput(title=f"文章 {n}"), None)
                service.publish_article(article.id, None)
                article_ids.append(article.id)
            now = utcnow()
            events = _events(count, article_ids, now)
            def buffer_all(batch):
                for event in batch:
                    record = service.record_view if event.kind == VIEW else service.record_card_click
                    record(event.article_id, event.reader, now=event.at)

            def flush():
                report = count_buffer.flush_counts()
                assert not report.failed and report.events == count, report

            spent = _timed(lambda events=events: buffer_all(events))
            figures.append((f"{label}: buffer {count} events (request path), µs per event", spent * 1000 / count))
            figures.append((f"{label}: flush {count} events, new readers (ms)", _timed(flush)))
            readers = len({(e.article_id, e.reader) for e in events})
            total = db.session.execute(select(func.sum(Article.view_count) + func.sum(Article.card_clicks))).scalar()
            assert total == readers, (total, readers)
            buffer_all(events)
            figures.append((f"{label}: flush the same {count} again, marks fresh (ms)", _timed(flush)))
            later = [type(e)(e.kind, e.article_id, e.reader, e.at + timedelta(hours=1)) for e in events]
            buffer_all(later)
            figures.append((f"{label}: flush {count} a window later, marks moved (ms)", _timed(flush)))
            total = db.session.execute(select(func.sum(Article.view_count) + func.sum(Article.card_clicks))).scalar()
            assert total == 2 * readers, (total, readers)
            if label == "memory":
                single = [type(e)(e.kind, e.article_id, e.reader, e.at + timedelta(hours=2)) for e in events[:2000]]
                spent = _timed(lambda single=single: [write_counts([event]) for event in single])
                # (Each also reads its article first: a little more than the old per-read statements.)
                figures.append(("one write transaction per event, as each read did before: 2,000 events (ms)", spent))
            count_buffer.buffers_of(app).clear()
            db.session.remove()
            db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--pg-name", default="bench_count_flush")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for kind in kinds:
        with tempfile.TemporaryDirectory() as workdir:
            url = fresh_database(kind, Path(workdir), args.pg_name)
            figures = measure(url, args.redis, args.events)
        print(f"\n{kind}:")
        for label, value in figures:
            print(f"  {label:<72} {value:9.1f}")


if __name__ == "__main__":
    main()
