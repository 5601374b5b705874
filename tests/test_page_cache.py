"""The pages anonymous readers share come from a cache (app/common/page_cache.py), and that cache
never shows anyone what they should not see: an edited article is new at the next request, an
unpublished or scheduled one is not there, a booking card's seats are at most LIVE_PARTS_SECONDS
old and the booking page's are the seats now. Each check is made in this app and in a second app on
the same database with a cache of its own: another gunicorn worker, which hears of no change but
must still be right."""
from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from app.catalog import service as catalog
from app.catalog.models import Course
from app.cms import service as cms
from app.cms.count_buffer import buffers_of
from app.cms.models import Article
from app.cms.service import ArticleInput
from app.common import page_cache
from app.common.time import utcnow
from app.extensions import cache, db
from tests.conftest import free_port
from tests.factories import book, editor, make_editor, make_person, new_session, write_article
from tests.helpers import login, recorded_statements, text_of


@pytest.fixture
def other_worker(app):
    """A second app on the same database, with its own cache: another process."""
    other = create_app("testing")
    yield other.test_client()
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def article(app):
    """The 小红书 analysis with its booking card for a 60-seat session: (slug, article id, session id)."""
    make_editor(app)
    session_id = new_session(app, capacity=60)
    with app.app_context():
        article_id = write_article("小红书电商化的三个信号", slug="xiaohongshu",
                                   body=f"小红书正在加速电商化。\n\n[[session:{session_id}]]\n\n玺承集团")
        db.session.remove()
    return "xiaohongshu", article_id, session_id


@pytest.fixture
def cards_clock(monkeypatch):
    """The clock of the kept booking and session cards, moved on by hand: later(seconds)."""
    now = [time.monotonic()]
    monkeypatch.setattr(page_cache, "clock", lambda: now[0])

    def later(seconds: float) -> None:
        now[0] += seconds

    return later


def test_an_edited_article_is_new_at_the_next_request_in_every_process(app, client, other_worker, article):
    slug, article_id, _session_id = article
    for reader in (client, other_worker):
        assert "小红书正在加速电商化" in text_of(reader.get(f"/articles/{slug}"))  # now kept by both

    with app.app_context():
        edited = ArticleInput(title="小红书电商化的三个信号", slug=slug, body="改过的正文：种草到交易。")
        cms.save_article(article_id, edited, editor())
        db.session.remove()

    for reader in (client, other_worker):
        page = text_of(reader.get(f"/articles/{slug}"))
        assert "改过的正文：种草到交易。" in page and "小红书正在加速电商化" not in page


def test_an_unpublished_article_is_gone_at_once_from_every_process(app, client, other_worker, article):
    slug, article_id, _session_id = article
    for reader in (client, other_worker):
        assert reader.get(f"/articles/{slug}").status_code == 200

    with app.app_context():
        cms.unpublish_article(article_id, editor())
        db.session.remove()

    for reader in (client, other_worker):
        assert reader.get(f"/articles/{slug}").status_code == 404


def test_a_scheduled_article_is_not_served_before_its_time_then_is(app, client, other_worker):
    make_editor(app)
    with app.app_context():
        article_id = write_article("定时发布的文章", slug="later", status="scheduled",
                                   publish_at=utcnow() + timedelta(hours=2))
        db.session.remove()
    for reader in (client, other_worker):
        assert reader.get("/articles/later").status_code == 404
        assert "定时发布的文章" not in text_of(reader.get("/"))

    with app.app_context():  # two hours later: its publish time has come (no write marks it)
        db.session.execute(update(Article).where(Article.id == article_id)
                           .values(publish_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()

    for reader in (client, other_worker):
        assert "定时发布的文章" in text_of(reader.get("/articles/later"))


def test_the_booking_card_shows_the_seats_left_a_few_seconds_after_each_booking_and_the_booking_page_at_once(
        app, client, other_worker, article, student, cards_clock):
    slug, _article_id, session_id = article
    for reader in (client, other_worker):
        assert "剩余 60 席" in text_of(reader.get(f"/articles/{slug}"))

    book(app, make_person(app, "王𠮷", "13900000001"), session_id)
    book(app, make_person(app, "李䶮", "13900000002"), session_id)

    # The reader taps 立即预约: the booking page reads the seats.
    tapping = app.test_client()
    login(tapping, "student@example.com", "secret-pass-1")
    assert "剩余 58 席" in text_of(tapping.get(f"/sessions/{session_id}/book"))

    cards_clock(app.config["LIVE_PARTS_SECONDS"])
    for reader in (client, other_worker):
        page = text_of(reader.get(f"/articles/{slug}"))
        assert "剩余 58 席" in page and "剩余 60 席" not in page
        assert "剩余 58 席" in text_of(reader.get("/"))  # the home page's session card too


def test_readers_during_a_rush_read_the_seats_once_an_interval_not_once_a_booking(app, client, article, cards_clock):
    slug, _article_id, session_id = article
    client.get(f"/articles/{slug}")  # the reader cookie
    assert "剩余 60 席" in text_of(client.get(f"/articles/{slug}"))

    with recorded_statements(app) as statements:
        for n in range(3):  # bookings in this very process, each followed by a reader
            book(app, make_person(app, "抢位学员", f"1390000000{n}"), session_id)
            statements.clear()
            assert client.get(f"/articles/{slug}").status_code == 200
            assert statements == []  # the kept page, the kept card: no query

    cards_clock(app.config["LIVE_PARTS_SECONDS"])
    assert "剩余 57 席" in text_of(client.get(f"/articles/{slug}"))


def test_a_phone_that_has_the_page_gets_a_304_until_the_seats_change(app, client, article, cards_clock):
    slug, _article_id, session_id = article
    first = client.get(f"/articles/{slug}")
    assert first.headers["ETag"].startswith('W/"')
    assert first.headers["Cache-Control"] in ("private, no-cache", "no-cache, private")  # it set the reader cookie
    second = client.get(f"/articles/{slug}")
    assert "public" in second.headers["Cache-Control"] and "no-cache" in second.headers["Cache-Control"]
    assert "Cookie" in second.headers["Vary"]

    again = client.get(f"/articles/{slug}", headers={"If-None-Match": second.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    book(app, make_person(app, "王𠮷", "13900000001"), session_id)
    cards_clock(app.config["LIVE_PARTS_SECONDS"])  # the card shows it
    changed = client.get(f"/articles/{slug}", headers={"If-None-Match": second.headers["ETag"]})
    assert changed.status_code == 200 and "剩余 59 席" in text_of(changed)


def test_a_logged_in_reader_never_gets_the_shared_page_nor_leaves_theirs_in_it(app, client, article, student):
    slug, _article_id, _session_id = article
    login(client, "student@example.com", "secret-pass-1")
    own = client.get(f"/articles/{slug}")
    assert "我的报名" in text_of(own) and "ETag" not in own.headers

    anonymous = app.test_client().get(f"/articles/{slug}")
    assert "我的报名" not in text_of(anonymous) and "登录" in text_of(anonymous)


def test_an_edited_session_shows_on_the_home_page_at_once(app, client, article):
    _slug, _article_id, session_id = article
    assert "第12期" not in text_of(client.get("/"))

    with app.app_context():
        catalog.update_session(session_id, label="第12期")
        db.session.remove()

    assert "第12期" in text_of(client.get("/"))


def test_with_redis_every_process_follows_an_edit_of_the_catalogue_at_once(app, article):
    """With REDIS_URL every worker shares the kept pages and the generation that retires them."""
    _slug, _article_id, session_id = article
    settings = {"REDIS_URL": "redis://127.0.0.1:6379/15"}
    workers = [create_app("testing", settings) for _ in range(2)]
    with workers[0].app_context():
        cache.clear()
    readers = [worker.test_client() for worker in workers]
    try:
        for reader in readers:
            assert "第13期" not in text_of(reader.get("/"))
        with workers[0].app_context():
            catalog.update_session(session_id, label="第13期")
            db.session.remove()
        for reader in readers:
            assert "第13期" in text_of(reader.get("/"))
    finally:
        for worker in workers:
            with worker.app_context():
                cache.clear()
                db.engine.dispose()


@pytest.fixture
def silent_redis():
    """The address of a Redis that hangs: it takes connections and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


def worker_with_redis_at(url: str):
    """Another worker on the suite's database, its pages kept in the Redis at `url`."""
    return create_app("testing", {"REDIS_URL": url})


def test_with_redis_down_readers_get_their_pages_and_edits_still_show(app, article, caplog):
    slug, article_id, _session_id = article
    worker = worker_with_redis_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    reader = worker.test_client()
    with app.app_context():
        course_slug = db.session.scalar(select(Course.slug))
    try:
        for path in (f"/articles/{slug}", "/", f"/courses/{course_slug}"):
            assert reader.get(path).status_code == 200, path
        assert "小红书正在加速电商化" in text_of(reader.get(f"/articles/{slug}"))

        with worker.app_context():  # the edit commits although the generation cannot move on
            edited = ArticleInput(title="小红书电商化的三个信号", slug=slug, body="Redis 不在时改的正文。")
            cms.save_article(article_id, edited, editor())
            db.session.remove()
        assert "Redis 不在时改的正文。" in text_of(reader.get(f"/articles/{slug}"))
        assert caplog.text.count("Redis is unreachable") == 1  # once an outage, not once a reader
    finally:
        with worker.app_context():
            buffers_of(worker).local.clear()  # the views it counted while Redis was away
            db.engine.dispose()
        worker.config["REDIS_URL"] = ""  # its flush at exit has nothing to ask the missing Redis for
        worker.extensions.pop("cms_count_buffers")


def test_with_redis_hanging_a_reader_waits_a_moment_once_then_not_at_all(app, article, silent_redis):
    worker = worker_with_redis_at(silent_redis)
    reader = worker.test_client()
    try:
        timings = []
        for _ in range(3):
            started = time.monotonic()
            assert reader.get("/").status_code == 200
            timings.append(time.monotonic() - started)
        assert timings[0] < 2  # Redis is given up on after REDIS_TIMEOUT_SECONDS...
        assert max(timings[1:]) < 0.4  # ...and not asked again for a while
    finally:
        with worker.app_context():
            db.engine.dispose()
