"""The pages anonymous readers share, from a cache: the article, the home page, a course page.

A reader arriving from a WeChat share is not logged in, and so gets the same page as every other
such reader. That page is rendered once and kept (Flask-Caching: Redis with REDIS_URL, else in
each process for PAGE_CACHE_SECONDS) under a key that says what it shows:
- what the feature puts in the key: an article's revision and time of its last change, which the
  view reads on every request (one indexed row), so an edit, a publication or an unpublication is
  seen by the very next request in every process, and a draft is never served;
- the content generation: moved on after every commit that changed articles or the catalogue
  (`content_changed()` in the transaction), so lists and navigation follow at once in this process
  and, with Redis, everywhere; elsewhere within PAGE_CACHE_SECONDS.
What changes with every booking is not in the cached page: seats are slots (an empty element with
the session's id) that the view fills on every request from one query, so a booking card or a
session card is exact whatever the cache holds. Only the rendering of a card is kept, keyed by the
values it shows.

HTTP: a weak ETag from what the page shows, so a phone that has it gets a 304; `Cache-Control:
no-cache` (shared caches may keep it but must ask) and `Vary: Cookie`, as logged-in readers get
their own page. Responses that set a cookie are private.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import cache, db

_CHANGED = "app_content_changed"  # Session.info key: this transaction changed what pages show
_GENERATION_KEY = "content-generation"


def init_page_cache(app: Flask) -> None:
    redis_url = app.config["REDIS_URL"]
    settings = {"CACHE_DEFAULT_TIMEOUT": app.config["PAGE_CACHE_SECONDS"], "CACHE_KEY_PREFIX": "pages:"}
    if redis_url:
        settings.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
    else:
        settings.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=2000)
    cache.init_app(app, config=settings)


def is_shared_page_request() -> bool:
    """Whether this request gets the page every anonymous reader gets: a GET or HEAD by someone
    not logged in, with no message flashed for them (a flash belongs to one reader)."""
    return (request.method in ("GET", "HEAD") and not current_user.is_authenticated
            and "_flashes" not in session)


# --- what pages show changed --------------------------------------------------------------------

def content_changed() -> None:
    """Call in a transaction that changes what public pages show (an article, a column, a course, a
    session's details): once it commits, cached pages are rendered again."""
    db.session().info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _move_generation_on(session: Session) -> None:
    # After the commit, never before: a page rendered between the two would be kept under the new
    # generation with the old content.
    if session.info.pop(_CHANGED, False):
        if current_app.config["REDIS_URL"]:
            cache.cache.inc(_GENERATION_KEY)  # Redis INCR: atomic, shared, never expires
        else:
            with _local_lock:
                _local_generation[0] += 1


@event.listens_for(Session, "after_soft_rollback")
def _forget_change(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_CHANGED, None)


# Without Redis each process has its own cache, so its own generation: a plain counter (a cache
# entry could expire or be pruned, and an older generation's pages would come back).
_local_generation = [0]
_local_lock = threading.Lock()


def current_generation() -> int:
    if current_app.config["REDIS_URL"]:
        return int(cache.get(_GENERATION_KEY) or 0)
    return _local_generation[0]


# --- the shared page ---------------------------------------------------------------------------------

def shared_page(key: str, render: Callable[[], Any]) -> tuple[str, Any]:
    """The cached value for `key` in the current content generation, rendered by `render()` and
    kept on a miss. Returns (the full key, the value): the key says what the page shows, for the ETag."""
    full_key = f"{current_generation()}:{key}"
    value = cache.get(full_key)
    if value is None:
        value = render()
        cache.set(full_key, value)
    return full_key, value


def kept_fragment(key: str, render: Callable[[], str]) -> str:
    """A small piece of a page (a session card in a given state), rendered once per key."""
    full_key = f"{current_generation()}:fragment:{key}"
    value = cache.get(full_key)
    if value is None:
        value = render()
        cache.set(full_key, value)
    return value


def shared_response(html: str, validators: Iterable[Any], *, private: bool = False) -> Response:
    """The page as a response a phone or a proxy may keep and ask again about (ETag, 304).
    `validators`: everything the page shows that may change (the cache key, the live seats)."""
    digest = hashlib.blake2b("|".join(map(str, validators)).encode(), digest_size=12).hexdigest()
    response = current_app.response_class(html, mimetype="text/html")
    response.set_etag(digest, weak=True)
    response.cache_control.no_cache = True
    if private:  # it sets the reader's cookie: for this reader only
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.vary.add("Cookie")
    return response.make_conditional(request)
