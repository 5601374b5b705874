"""Reading counts (阅读 N) and booking-card clicks: not inflated by reloads, never lost under a rush."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.cms import service
from app.cms.errors import ArticleNotFound
from app.cms.models import Article
from app.common.time import utcnow
from app.extensions import db
from tests.helpers import run_together

WINDOW = timedelta(minutes=30)  # CMS_VIEW_WINDOW_SECONDS


def new_article(app) -> int:
    with app.app_context():
        article = service.create_article(service.ArticleInput(title="小红书运营"), None)
        service.publish_article(article.id, None)
        article_id = article.id
        db.session.remove()
    return article_id


def figures(article_id: int) -> tuple[int, int]:
    db.session.expire_all()
    article = db.session.get(Article, article_id)
    return article.view_count, article.card_clicks


def test_a_reload_within_the_window_is_not_a_second_view(app, ctx):
    article_id = new_article(app)
    reader, other = service.visitor_key(None, "a" * 32), service.visitor_key(7, None)
    now = utcnow()
    assert service.record_view(article_id, reader, now=now) is True
    assert service.record_view(article_id, reader, now=now + timedelta(seconds=5)) is False
    assert service.record_view(article_id, reader, now=now + WINDOW - timedelta(seconds=1)) is False
    assert figures(article_id) == (1, 0)
    assert service.record_view(article_id, other, now=now + timedelta(seconds=6)) is True
    assert figures(article_id) == (2, 0)
    # After the window the same reader counts again, and the window starts from that view.
    assert service.record_view(article_id, reader, now=now + WINDOW + timedelta(seconds=1)) is True
    assert service.record_view(article_id, reader, now=now + WINDOW + timedelta(seconds=2)) is False
    assert figures(article_id) == (3, 0)


def test_the_window_is_per_article(app, ctx):
    first, second = new_article(app), new_article(app)
    reader = service.visitor_key(3, None)
    assert service.record_view(first, reader) and service.record_view(second, reader)
    assert figures(first) == (1, 0) and figures(second) == (1, 0)


def test_a_view_of_an_unknown_article_is_refused(ctx):
    with pytest.raises(ArticleNotFound):
        service.record_view(4242, "someone")


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


def test_a_card_click_counts_once_per_reader_and_window(app, ctx):
    article_id = new_article(app)
    now = utcnow()
    reader = service.clicker_key(None, "c" * 32)
    assert service.record_card_click(article_id, reader, now=now) is True
    assert service.record_card_click(article_id, reader, now=now + timedelta(seconds=5)) is False
    assert service.record_card_click(article_id, service.clicker_key(9, None), now=now) is True
    assert service.record_card_click(article_id, reader, now=now + WINDOW + timedelta(seconds=1)) is True
    # Clicking is not reading: the same reader's view still counts.
    assert service.record_view(article_id, service.visitor_key(None, "c" * 32), now=now) is True
    assert figures(article_id) == (1, 3)


def test_concurrent_readers_are_all_counted(app):
    article_id = new_article(app)
    with app.app_context():
        readers = [service.visitor_key(None, f"{n:032x}") for n in range(20)]
    results, _ = run_together(app, [lambda key=key: service.record_view(article_id, key) for key in readers])
    assert results == [True] * 20
    with app.app_context():
        assert figures(article_id) == (20, 0)
        db.session.remove()


def test_one_reader_reloading_at_once_counts_once(app):
    article_id = new_article(app)
    with app.app_context():
        reader = service.visitor_key(5, None)
    results, _ = run_together(app, [lambda: service.record_view(article_id, reader) for _ in range(15)])
    assert sorted(results) == [False] * 14 + [True]
    with app.app_context():
        assert figures(article_id) == (1, 0)
        db.session.remove()


def test_concurrent_card_clicks_are_all_counted(app):
    article_id = new_article(app)
    with app.app_context():
        clickers = [service.clicker_key(None, f"{n:032x}") for n in range(25)]
    run_together(app, [lambda key=key: service.record_card_click(article_id, key) for key in clickers])
    with app.app_context():
        assert figures(article_id) == (0, 25)
        db.session.remove()
