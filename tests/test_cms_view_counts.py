"""Reading counts (阅读 N) and booking-card clicks: not inflated by reloads, never lost under a rush.

Each counting test runs with the buffer in this process and with the buffer in Redis (`counting`)."""
from __future__ import annotations

import random
from datetime import timedelta

from app.cms import service
from app.cms.models import Article
from app.common.time import utcnow
from app.extensions import db
from tests.helpers import flushed_counts, run_together

WINDOW = timedelta(minutes=30)  # CMS_VIEW_WINDOW_SECONDS


def new_article(app) -> int:
    with app.app_context():
        article = service.create_article(service.ArticleInput(title="小红书运营"), None)
        service.publish_article(article.id, None)
        article_id = article.id
        db.session.remove()
    return article_id


def counted(app, article_id: int, flush: bool = True) -> tuple[int, int]:
    """(views, card clicks) of the article once the buffered events are written."""
    if flush:
        flushed_counts(app)
    with app.app_context():
        article = db.session.get(Article, article_id)
        figures = article.view_count, article.card_clicks
        db.session.remove()
    return figures


def test_a_reload_within_the_window_is_not_a_second_view(app, ctx, counting):
    article_id = new_article(app)
    reader, other = service.visitor_key(None, "a" * 32), service.visitor_key(7, None)
    now = utcnow()
    service.record_view(article_id, reader, now=now)
    service.record_view(article_id, reader, now=now + timedelta(seconds=5))
    service.record_view(article_id, reader, now=now + WINDOW - timedelta(seconds=1))
    assert counted(app, article_id) == (1, 0)
    service.record_view(article_id, other, now=now + timedelta(seconds=6))
    service.record_view(article_id, reader, now=now + WINDOW)  # the window's last moment
    assert counted(app, article_id) == (2, 0)
    # After the window the same reader counts again, and the window starts from that view.
    service.record_view(article_id, reader, now=now + WINDOW + timedelta(microseconds=1))
    service.record_view(article_id, reader, now=now + WINDOW + timedelta(seconds=2))
    assert counted(app, article_id) == (3, 0)


def test_one_flush_counts_as_many_flushes_would(app, ctx, counting):
    """A batch holding a reader's views across several windows counts what view-by-view counting
    does, to the microsecond (the times end in .999999, where rounding would tip a second over)."""
    article_id = new_article(app)
    reader = service.visitor_key(None, "d" * 32)
    start = utcnow().replace(microsecond=999_999)
    offsets = [timedelta(0), timedelta(seconds=1), WINDOW, WINDOW + timedelta(microseconds=1),
               2 * WINDOW, 2 * WINDOW + timedelta(microseconds=1), 2 * WINDOW + timedelta(microseconds=2),
               3 * WINDOW + timedelta(microseconds=2)]
    for offset in offsets:
        service.record_view(article_id, reader, now=start + offset)
    # At 0, WINDOW + 1 µs and 2 WINDOW + 2 µs; 3 WINDOW + 2 µs is the last moment of that window.
    assert counted(app, article_id) == (3, 0)
    service.record_view(article_id, reader, now=start + 3 * WINDOW + timedelta(microseconds=2))  # the same again
    service.record_view(article_id, reader, now=start + 3 * WINDOW + timedelta(microseconds=3))
    assert counted(app, article_id) == (4, 0)


def test_batches_agree_with_counting_one_event_at_a_time(app, ctx, counting):
    """The flusher's batched rule against the rule itself, on random events: a reader counts when
    they have no mark, or one older than the window; a counted event moves the mark."""
    rng = random.Random(16)
    articles = [new_article(app) for _ in range(3)]
    readers = [service.visitor_key(None, f"{n:032x}") for n in range(6)]
    clickers = [service.clicker_key(None, f"{n:032x}") for n in range(3)]
    start = utcnow()
    events = sorted(
        (start + timedelta(seconds=rng.randrange(0, 4 * 1800)), rng.choice(articles), rng.choice(readers + clickers))
        for _ in range(400)
    )
    marks: dict = {}
    expected = {article_id: [0, 0] for article_id in articles}
    for at, article_id, reader in events:
        if marks.get((article_id, reader)) is None or marks[(article_id, reader)] < at - WINDOW:
            marks[(article_id, reader)] = at
            expected[article_id][0 if reader in readers else 1] += 1
    # Flushed at random points, as the flusher meets them.
    for at, article_id, reader in events:
        record = service.record_view if reader in readers else service.record_card_click
        record(article_id, reader, now=at)
        if rng.random() < 0.05:
            flushed_counts(app)
    flushed_counts(app)
    assert {article_id: list(counted(app, article_id, flush=False)) for article_id in articles} == expected
    assert sum(sum(numbers) for numbers in expected.values()) > len(articles) * 4  # the windows mattered


def test_the_window_is_per_article(app, ctx):
    first, second = new_article(app), new_article(app)
    reader = service.visitor_key(3, None)
    service.record_view(first, reader)
    service.record_view(second, reader)
    assert counted(app, first) == (1, 0) and counted(app, second) == (1, 0)


def test_a_view_of_an_article_deleted_meanwhile_is_dropped_and_the_rest_counts(app, ctx, counting):
    article_id = new_article(app)
    service.record_view(4242, service.visitor_key(1, None))
    service.record_view(article_id, service.visitor_key(1, None))
    report = flushed_counts(app)
    assert (report.events, report.views, report.dropped) == (2, 1, 1)
    assert counted(app, article_id, flush=False) == (1, 0)


def test_visitor_keys_tell_readers_apart_without_keeping_who_they_are(app, ctx):
    keys = {
        service.visitor_key(7, None),
        service.visitor_key(8, None),
        service.visitor_key(None, "a" * 32),
        service.visitor_key(None, "b" * 32),
        service.clicker_key(7, None),
        service.clicker_key(None, "a" * 32),
    }
    assert len(keys) == 6  # a reader's view and their card click are marked apart
    assert all(len(key) == 64 and all(c in "0123456789abcdef" for c in key) for key in keys)
    # The account wins over the cookie: one reader, one key on every device.
    assert service.visitor_key(7, "a" * 32) == service.visitor_key(7, "b" * 32)
    # Nobody the site identified (no account, no reader id it issued): no key, so nothing counts.
    assert service.visitor_key(None, None) is None and service.clicker_key(None, "") is None
    # Keyed with SECRET_KEY: a leaked table cannot be matched against a list of accounts.
    before = service.visitor_key(7, None)
    app.config["SECRET_KEY"], secret = "another-secret", app.config["SECRET_KEY"]
    try:
        assert service.visitor_key(7, None) != before
    finally:
        app.config["SECRET_KEY"] = secret


def test_only_reader_ids_the_site_signed_are_accepted(app, ctx):
    reader_id, cookie = service.issue_reader()
    assert service.reader_from_cookie(cookie) == reader_id and len(reader_id) == 32
    assert service.issue_reader()[0] != reader_id  # random, not a counter
    # The signature's first character: its last one may hold padding bits that decoding ignores.
    signature_at = cookie.rindex(".") + 1
    altered = cookie[:signature_at] + ("A" if cookie[signature_at] != "A" else "B") + cookie[signature_at + 1:]
    forged = [
        None, "", reader_id,  # the bare id, unsigned
        altered,  # the signature altered
        "f" * 32 + cookie[32:],  # another id under this signature
        f"{'ab' * 16}.1700000000",  # the old unsigned format
        cookie + "\x00", "𠮷" * 40, cookie * 50,
    ]
    assert [service.reader_from_cookie(value) for value in forged] == [None] * len(forged)
    # Signed with another key (another site, a guessed development key): not ours.
    app.config["SECRET_KEY"], secret = "dev-only-not-secret", app.config["SECRET_KEY"]
    try:
        _, foreign = service.issue_reader()
    finally:
        app.config["SECRET_KEY"] = secret
    assert service.reader_from_cookie(foreign) is None


def test_a_card_click_counts_once_per_reader_and_window(app, ctx, counting):
    article_id = new_article(app)
    now = utcnow()
    reader = service.clicker_key(None, "c" * 32)
    service.record_card_click(article_id, reader, now=now)
    service.record_card_click(article_id, reader, now=now + timedelta(seconds=5))
    service.record_card_click(article_id, service.clicker_key(9, None), now=now)
    assert counted(app, article_id) == (0, 2)
    service.record_card_click(article_id, reader, now=now + WINDOW + timedelta(seconds=1))
    # Clicking is not reading: the same reader's view still counts.
    service.record_view(article_id, service.visitor_key(None, "c" * 32), now=now)
    assert counted(app, article_id) == (1, 3)


def test_concurrent_readers_are_all_counted(app, counting):
    article_id = new_article(app)
    with app.app_context():
        readers = [service.visitor_key(None, f"{n:032x}") for n in range(20)]
    run_together(app, [lambda key=key: service.record_view(article_id, key) for key in readers])
    assert counted(app, article_id) == (20, 0)


def test_one_reader_reloading_at_once_counts_once(app, counting):
    article_id = new_article(app)
    with app.app_context():
        reader = service.visitor_key(5, None)
    run_together(app, [lambda: service.record_view(article_id, reader) for _ in range(15)])
    assert counted(app, article_id) == (1, 0)


def test_concurrent_card_clicks_are_all_counted(app, counting):
    article_id = new_article(app)
    with app.app_context():
        clickers = [service.clicker_key(None, f"{n:032x}") for n in range(25)]
    run_together(app, [lambda key=key: service.record_card_click(article_id, key) for key in clickers])
    assert counted(app, article_id) == (0, 25)
