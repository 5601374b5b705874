"""Buffered reading counts: reading an article writes nothing; the flusher writes every event once,
with two flushers at once, after a database outage, and after a flusher died."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event

from app import create_app
from app.cms import service
from app.cms.count_buffer import LocalBuffer, _flush_at_exit, buffers_of, flush_counts, pending_counts
from app.cms.count_events import VIEW, CountEvent
from app.cms.count_writer import write_counts
from app.cms.models import Article
from app.common.time import utcnow
from app.extensions import db
from tests.conftest import free_port
from tests.factories import make_editor, make_session, write_article
from tests.helpers import flushed_counts, login, recorded_statements, run_together

_WRITES = ("INSERT", "UPDATE", "DELETE")


def _counts(app, article_id: int) -> tuple[int, int]:
    with app.app_context():
        article = db.session.get(Article, article_id)
        figures = article.view_count, article.card_clicks
        db.session.remove()
    return figures


def _pending(app) -> int:
    with app.app_context():
        return pending_counts()


def _article_with_card(app) -> tuple[int, int]:
    make_editor(app)
    with app.app_context():
        session_id = make_session()
        article_id = write_article("爆款文章", slug="viral", body=f"正文\n\n[[session:{session_id}]]")
        db.session.remove()
    return article_id, session_id


def test_reading_an_article_and_pressing_its_card_write_nothing_to_the_database(app, student, counting):
    article_id, session_id = _article_with_card(app)
    newcomer, member = app.test_client(), app.test_client()
    login(member, "student@example.com", "secret-pass-1")
    write_locks: list[str] = []  # SQLite's BEGIN IMMEDIATE (left out of recorded_statements) takes the writer

    def record_write_lock(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("BEGIN IMMEDIATE"):
            write_locks.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record_write_lock)
    try:
        with recorded_statements(app) as statements:
            assert newcomer.get("/articles/viral").status_code == 200  # a first visit: the cookie, then the beacon
            assert newcomer.get(f"/articles/{article_id}/seen").status_code == 204
            assert newcomer.get("/articles/viral").status_code == 200
            assert newcomer.get(f"/articles/{article_id}/book/{session_id}").status_code == 302
            assert member.get("/articles/viral").status_code == 200
            assert member.get(f"/articles/{article_id}/book/{session_id}").status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", record_write_lock)
    assert statements, "the pages read the database"
    assert [s for s in statements if s.lstrip().upper().startswith(_WRITES)] == [] and write_locks == []
    assert _counts(app, article_id) == (0, 0)  # not yet written...
    assert _pending(app) == 5  # the reload too: whether it counts is the flusher's to decide
    report = flushed_counts(app)  # ...until the flusher runs
    assert (report.events, report.views, report.clicks) == (5, 2, 2)
    assert _counts(app, article_id) == (2, 2) and _pending(app) == 0


def test_two_flushers_at_once_count_each_event_once(app, counting):
    make_editor(app)
    with app.app_context():
        articles = [write_article(f"文章{n}") for n in range(4)]
        readers = [service.visitor_key(None, f"{n:032x}") for n in range(700)]
        clickers = [service.clicker_key(None, f"{n:032x}") for n in range(100)]
        now = utcnow()
        # Each reader reads one article three times within the window (one view), and some of them
        # press its card twice (one click): 2,400 events, more than one batch each flusher.
        for n, reader in enumerate(readers):
            for repeat in range(3):
                service.record_view(articles[n % 4], reader, now=now + timedelta(seconds=repeat))
        for n, clicker in enumerate(clickers):
            for repeat in range(3):
                service.record_card_click(articles[n % 4], clicker, now=now + timedelta(seconds=repeat))
        db.session.remove()

    reports, _ = run_together(app, [flush_counts, flush_counts])
    assert not any(report.failed for report in reports)
    assert sum(report.events for report in reports) == 2400
    assert (sum(report.views for report in reports), sum(report.clicks for report in reports)) == (700, 100)
    assert [_counts(app, article_id) for article_id in articles] == [(175, 25)] * 4
    assert _pending(app) == 0


def test_a_flush_the_database_refuses_keeps_its_events_for_the_next(app, tmp_path, counting):
    # An app whose database is away: its SQLite file is in a folder that does not exist yet.
    folder = tmp_path / "not-yet"
    away = create_app("testing", overrides={
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'app.db'}",
        "REDIS_URL": app.config["REDIS_URL"], "CMS_COUNT_REDIS_KEY": app.config["CMS_COUNT_REDIS_KEY"],
    })
    try:
        with away.app_context():
            for n in range(5):
                service.record_view(1, service.visitor_key(None, f"{n:032x}"))
            service.record_card_click(1, service.clicker_key(None, "0" * 32))
            for _ in range(2):  # the database stays away: nothing is lost however often it fails
                report = flush_counts()
                assert report.failed and report.events == 0
                assert pending_counts() == 6
            # The database is back.
            folder.mkdir()
            db.create_all()
            make_editor(away)
            write_article("回来了")
            report = flush_counts()
            assert not report.failed and (report.events, report.views, report.clicks) == (6, 5, 1)
            assert pending_counts() == 0
            assert (db.session.get(Article, 1).view_count, db.session.get(Article, 1).card_clicks) == (5, 1)
            db.session.remove()
    finally:
        with away.app_context():
            buffers_of(away).clear()
            db.engine.dispose()


def _view(n: int) -> CountEvent:
    return CountEvent(VIEW, 1, f"reader-{n}", utcnow())


def test_a_full_buffer_drops_its_oldest_events_with_a_warning(caplog):
    buffer = LocalBuffer(limit=4)
    for n in range(3):
        buffer.add(_view(n))
    taken = buffer.take(10)  # a flush takes them; the database is away
    for n in range(3, 5):
        buffer.add(_view(n))
    buffer.put_back(taken)  # five events for four places: the oldest goes
    assert [event.reader for event in buffer.take(10)] == ["reader-1", "reader-2", "reader-3", "reader-4"]
    assert "dropped the 1 oldest" in caplog.text
    for n in range(6):
        buffer.add(_view(n))
    assert len(buffer) == 4


def _flusher_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "cms-count-flusher")


def test_the_flusher_starts_with_a_process_first_event_and_writes_by_itself(app):
    before = _flusher_threads()
    other = create_app("testing", overrides={"CMS_COUNT_FLUSH_SECONDS": 0.05})
    assert _flusher_threads() == before  # not at start-up: gunicorn forks its workers after it
    make_editor(app)
    with app.app_context():
        article_id = write_article("自动写入")
        db.session.remove()
    try:
        with other.app_context():
            service.record_view(article_id, service.visitor_key(None, "e" * 32))
        assert _flusher_threads() == before + 1
        deadline = time.monotonic() + 30
        while _counts(app, article_id) != (1, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts(app, article_id) == (1, 0)
    finally:
        buffers_of(other).stop_flusher()
        with other.app_context():
            db.engine.dispose()


def test_a_batch_of_a_flusher_that_died_is_written_once_by_another(redis_counts):
    app = redis_counts
    make_editor(app)
    with app.app_context():
        article_id = write_article("不丢")
        for n in range(10):
            service.record_view(article_id, service.visitor_key(None, f"{n:032x}"))
        queue = buffers_of(app).shared
        taken = queue.claim(100)  # a worker takes the batch, and is killed before writing it
        assert len(taken.events) == 10
        assert flush_counts().events == 0 and pending_counts() == 10  # not abandoned yet: its flusher may be slow
        queue.redis.zadd(f"{queue.key}:claims", {taken.id: time.time() - 600})  # ten minutes on
        report = flush_counts()
        assert (report.events, report.views) == (10, 10) and pending_counts() == 0
        # Had the first flusher been slow rather than dead, its late write counts nothing again.
        assert write_counts(taken.events).views == 0
        db.session.remove()
    assert _counts(app, article_id) == (10, 0)


def test_events_redis_refuses_are_kept_in_the_process_and_written(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    app.extensions.pop("cms_count_buffers", None)
    make_editor(app)
    try:
        with app.app_context():
            article_id = write_article("Redis 不在")
            for n in range(3):
                service.record_view(article_id, service.visitor_key(None, f"{n:032x}"))  # no error for the reader
            assert len(buffers_of(app).local) == 3
            report = flush_counts()
            assert report.failed  # what Redis holds waits for it...
            assert report.views == 3  # ...and what this process kept is written
            db.session.remove()
        assert _counts(app, article_id) == (3, 0)
        assert "buffering in this process" in caplog.text
    finally:
        app.extensions.pop("cms_count_buffers", None)


def test_a_process_exiting_while_redis_is_away_writes_what_it_kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    app.extensions.pop("cms_count_buffers", None)
    make_editor(app)
    try:
        with app.app_context():
            article_id = write_article("退出时 Redis 不在")
            service.record_view(article_id, service.visitor_key(None, f"{1:032x}"))
            db.session.remove()
        _flush_at_exit(app)  # what atexit runs
        assert _counts(app, article_id) == (1, 0)
    finally:
        app.extensions.pop("cms_count_buffers", None)


def test_flush_counts_command_writes_the_buffer(app, counting):
    make_editor(app)
    with app.app_context():
        article_id = write_article("命令")
        service.record_view(article_id, service.visitor_key(3, None))
        service.record_card_click(article_id, service.clicker_key(3, None))
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["cms", "flush-counts"])
    assert result.exit_code == 0, result.output
    assert "已写入 2 条记录：阅读 +1，卡片点击 +1" in result.output
    assert _counts(app, article_id) == (1, 1)


def test_flush_refuses_to_run_inside_a_write_transaction(app, ctx):
    from app.common.db import write_transaction

    @write_transaction
    def an_action():
        flush_counts()

    with pytest.raises(RuntimeError, match="inside a write transaction"):
        an_action()
