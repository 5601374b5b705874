"""Buffered views and card clicks written to the database, a batch per write transaction.

The rule is the one a single view always had: an event of a reader on an article counts when the
reader has no mark on it, or a mark older than CMS_VIEW_WINDOW_SECONDS before the event; a counted
event moves the mark to its own time. The conditional upsert of the marks decides it, many rows a
statement, and the counts go up by one atomic UPDATE per article.

Writing the same events twice counts nothing the second time (a mark only moves forward, to the
time of the event that counted, so a replayed event always finds a fresh mark): a batch that a
stalled flusher and the one that took it over both write is counted once.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, literal_column, select, tuple_, update

from app.cms.count_events import CLICK, VIEW, CountEvent
from app.cms.models import Article, ArticleViewMark
from app.common.db import write_transaction
from app.common.sql import dialect_insert
from app.extensions import db

# Marks per statement: 3 parameters a row keeps a statement far below SQLite's 32,766 and
# PostgreSQL's 65,535 parameters.
MARKS_PER_STATEMENT = 1000

Reader = tuple[int, str]  # (article id, reader key): one mark


@dataclass
class FlushTotals:
    """What writing events added: the views and clicks that counted, the events written, and those
    dropped because their article no longer exists."""

    events: int = 0
    views: int = 0
    clicks: int = 0
    dropped: int = 0

    def add(self, other: FlushTotals) -> None:
        self.events += other.events
        self.views += other.views
        self.clicks += other.clicks
        self.dropped += other.dropped


@write_transaction
def write_counts(events: Sequence[CountEvent]) -> FlushTotals:
    """Write a batch of events: one transaction that marks the readers and adds the counted views
    and clicks to their articles. Raises (writing nothing) when the database refuses."""
    totals = FlushTotals(events=len(events))
    window = timedelta(seconds=int(current_app.config["CMS_VIEW_WINDOW_SECONDS"]))
    by_reader: dict[Reader, list[tuple[datetime, str]]] = defaultdict(list)
    for event in events:
        by_reader[(event.article_id, event.reader)].append((event.at, event.kind))
    existing = _lock_existing_articles({article_id for article_id, _ in by_reader})
    for key in [key for key in by_reader if key[0] not in existing]:
        totals.dropped += len(by_reader.pop(key))  # the article was deleted since: nothing to count
    for times in by_reader.values():
        times.sort()
    readers = sorted(by_reader)  # one order for every flusher: row locks taken in it never deadlock

    counted: dict[int, dict[str, int]] = defaultdict(lambda: {VIEW: 0, CLICK: 0})
    # The first event of each reader: the database decides, against the mark it has.
    first_written = _upsert_marks([(key, by_reader[key][0][0]) for key in readers], window)
    marks: dict[Reader, datetime] = {}
    for key in readers:
        if key in first_written:
            marks[key] = by_reader[key][0][0]
            counted[key[0]][by_reader[key][0][1]] += 1
    # A reader's later events in the batch are decided against the mark the first left. The
    # upsert locked every mark it met (PostgreSQL locks a conflicting row even when its WHERE is
    # false; SQLite holds the write lock), so the marks read now stay so until the commit.
    repeated = [key for key in readers if len(by_reader[key]) > 1]
    marks.update(_current_marks([key for key in repeated if key not in marks]))
    moved: dict[Reader, datetime] = {}
    for key in repeated:
        mark = marks[key]
        for at, kind in by_reader[key][1:]:
            if mark < at - window:  # the upsert's condition, in Python
                mark = moved[key] = at
                counted[key[0]][kind] += 1
    if moved:
        rows = sorted(moved.items())
        if len(_upsert_marks(rows, window)) != len(rows):
            raise RuntimeError("a mark moved under the flusher: its batch is kept for the next flush")
    _add_counts(counted)
    totals.views = sum(numbers[VIEW] for numbers in counted.values())
    totals.clicks = sum(numbers[CLICK] for numbers in counted.values())
    return totals


def _lock_existing_articles(article_ids: set[int]) -> set[int]:
    """The articles of the batch that exist, kept from deletion until the commit (FOR KEY SHARE on
    PostgreSQL, which leaves edits and other flushers alone; SQLite's write lock already does)."""
    if not article_ids:
        return set()
    query = select(Article.id).where(Article.id.in_(sorted(article_ids))).with_for_update(key_share=True)
    return set(db.session.scalars(query))


def _window_start(event_time, window: timedelta):
    """SQL: the event's time minus the window, exact to the microsecond on both databases."""
    seconds = int(window.total_seconds())
    if db.session.get_bind().dialect.name == "postgresql":
        return event_time - literal_column(f"interval '{seconds} seconds'")  # a whole number: no input
    # SQLite keeps the time as text, 'YYYY-MM-DD HH:MM:SS.ffffff': the whole seconds move back by the
    # window (a whole number of seconds) and the microseconds stay as they are. (strftime on the full
    # text would round the fraction to milliseconds, and .9996 up to the next second.)
    whole = func.strftime("%Y-%m-%d %H:%M:%S", func.substr(event_time, 1, 19), f"-{seconds} seconds")
    return whole.op("||")(func.substr(event_time, 20))


def _upsert_marks(rows: Iterable[tuple[Reader, datetime]], window: timedelta) -> set[Reader]:
    """Write each reader's mark at its time unless a fresh one is there; the readers written."""
    marks = ArticleViewMark.__table__
    rows = list(rows)
    written: set[Reader] = set()
    for start in range(0, len(rows), MARKS_PER_STATEMENT):
        chunk = rows[start:start + MARKS_PER_STATEMENT]
        insert = dialect_insert(marks).values(
            [{"article_id": article_id, "visitor": reader, "counted_at": at} for (article_id, reader), at in chunk]
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[marks.c.article_id, marks.c.visitor],
            set_={"counted_at": insert.excluded.counted_at},
            where=marks.c.counted_at < _window_start(insert.excluded.counted_at, window),
        ).returning(marks.c.article_id, marks.c.visitor)  # the rows written (rowcount is -1 on psycopg)
        written.update((article_id, reader) for article_id, reader in db.session.execute(upsert))
    return written


def _current_marks(readers: list[Reader]) -> dict[Reader, datetime]:
    marks = ArticleViewMark.__table__
    found: dict[Reader, datetime] = {}
    for start in range(0, len(readers), MARKS_PER_STATEMENT):
        chunk = readers[start:start + MARKS_PER_STATEMENT]
        query = select(marks.c.article_id, marks.c.visitor, marks.c.counted_at).where(
            tuple_(marks.c.article_id, marks.c.visitor).in_(chunk))
        found.update(((article_id, reader), at) for article_id, reader, at in db.session.execute(query))
    return found


def _add_counts(counted: dict[int, dict[str, int]]) -> None:
    """One atomic UPDATE per article (in id order), so nothing another writer added is lost."""
    rows = [{"b_article": article_id, "b_views": numbers[VIEW], "b_clicks": numbers[CLICK]}
            for article_id, numbers in sorted(counted.items())]
    if not rows:
        return
    articles = Article.__table__
    statement = (
        update(articles).where(articles.c.id == bindparam("b_article"))
        .values(view_count=articles.c.view_count + bindparam("b_views"),
                card_clicks=articles.c.card_clicks + bindparam("b_clicks"))
    )
    db.session.execute(statement, rows)
