"""The pages anonymous readers share, from a cache: the article, the home page, a course page.

A reader arriving from a WeChat share is not logged in, and so gets the same page as every other
such reader. That page is rendered once and kept (Flask-Caching: in Redis with REDIS_URL, else in
each process for PAGE_CACHE_SECONDS), under the current content generation: a number moved on after
every commit that changed articles or the catalogue (`content_changed()` in the transaction). Every
process reads it once a request, from Redis or, on the embedded default, from a small file in the
instance folder; so an edit, a publication or an unpublication replaces the kept page at the next
request in every process, and a draft or an unpublished article is never served. A 404 is never
kept: a scheduled article appears when its time comes.

What changes with every booking is not in the kept page: seats are slots (an empty element with the
session's id) filled on every request with the cards as they are (`live_parts`): each process keeps
a card for LIVE_PARTS_SECONDS, so its seats are at most that many seconds behind any booking, and
the booking page, where the reader taps, always reads them. A booking does not make a process read
its cards again: in a rush that would be every reader's request, each a query and a rendering taken
from the bookings' CPU (bench/pages.py, docs/performance.md); and it would refresh only the cards
of the one process that took the booking.

Redis down or hanging (each call gives up after REDIS_TIMEOUT_SECONDS): the pages are rendered on
every request, nothing kept, and Redis is not asked again for REDIS_RETRY_SECONDS, so readers get
their page, a little slower, instead of a 500. An edit committed meanwhile cannot move the shared
generation: pages kept before it are replaced when they expire (PAGE_CACHE_SECONDS).

HTTP: a weak ETag from what the page shows, so a phone that has it gets a 304; `Cache-Control:
no-cache` (shared caches may keep it but must ask) and `Vary: Cookie`, as logged-in readers get
their own page. Responses that set a cookie are private.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import cache, db

try:
    import fcntl
except ImportError:  # Windows: bumps are not serialised (one developer's machine)
    fcntl = None

_CHANGED = "app_content_changed"  # Session.info key: this transaction changed what pages show
_GENERATION_KEY = "content-generation"
REDIS_TIMEOUT_SECONDS = 0.5  # a reader never waits longer than this on a Redis that hangs
REDIS_RETRY_SECONDS = 5  # after a failure, this process renders pages without asking Redis this long

log = logging.getLogger(__name__)


def init_page_cache(app: Flask) -> None:
    redis_url = app.config["REDIS_URL"]
    settings = {"CACHE_DEFAULT_TIMEOUT": app.config["PAGE_CACHE_SECONDS"], "CACHE_KEY_PREFIX": "pages:"}
    if redis_url:
        settings.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url, CACHE_OPTIONS={
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS})
    else:
        settings.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=2000)
    cache.init_app(app, config=settings)
    app.extensions[_REDIS_HEALTH] = _RedisHealth()


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
            # Redis INCR: atomic, shared, never expires. If Redis fails, the edit is committed all
            # the same: it must not turn into an error now.
            _unless_redis_fails(cache.cache.inc, _GENERATION_KEY)
        else:
            _bump_generation_file(_generation_path())
        g.pop("page_generation", None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_change(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_CHANGED, None)


def current_generation() -> int | None:
    """The content generation, read once a request: from Redis, or without it from a small file
    in the instance folder, which every process of this machine reads (its pages are its own).
    None while Redis is away: nothing may be kept or served from the cache then."""
    if "page_generation" not in g:
        if not current_app.config["REDIS_URL"]:
            g.page_generation = _read_generation_file(_generation_path())
        elif time.monotonic() < current_app.extensions[_REDIS_HEALTH].away_until:
            g.page_generation = None
        else:
            try:
                g.page_generation = int(cache.get(_GENERATION_KEY) or 0)
            except redis.RedisError as error:
                _redis_failed(error)
                g.page_generation = None
            else:
                health = current_app.extensions[_REDIS_HEALTH]
                if health.outage_logged:
                    health.outage_logged = False
                    log.warning("Redis answers again: pages are kept again")
    return g.page_generation


_REDIS_HEALTH = "page_cache_redis_health"


@dataclass
class _RedisHealth:
    """This process's view of the page cache's Redis: not asked again before `away_until`
    (time.monotonic()) after a failure; whether the outage was logged (once, not once a reader)."""

    away_until: float = 0.0
    outage_logged: bool = False


def _unless_redis_fails(call: Callable, *args: Any) -> Any:
    """`call(*args)` on the cache, or None when Redis fails."""
    try:
        return call(*args)
    except redis.RedisError as error:
        _redis_failed(error)
        return None


def _redis_failed(error: Exception) -> None:
    health = current_app.extensions[_REDIS_HEALTH]
    health.away_until = time.monotonic() + REDIS_RETRY_SECONDS
    if not health.outage_logged:
        health.outage_logged = True
        log.warning("Redis is unreachable (%s): pages are rendered for every reader, nothing kept", error)


def _generation_path() -> str:
    return os.path.join(current_app.instance_path, "page-generation")


def _read_generation_file(path: str) -> int:
    try:
        with open(path, "rb") as file:
            return int(file.read() or 0)
    except FileNotFoundError:
        return 0


def _bump_generation_file(path: str) -> None:
    """Add one, in turn with other processes (a lock file), and replace the file whole (os.replace):
    a reader sees the old number or the new one, never a half-written file."""
    with open(path + ".lock", "ab") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        value = _read_generation_file(path) + 1
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}"
        with open(temporary, "wb") as file:
            file.write(str(value).encode())
        os.replace(temporary, path)


# --- the shared page ---------------------------------------------------------------------------------

def shared_page(key: str, render: Callable[[], Any]) -> tuple[str, Any]:
    """The cached value for `key` in the current content generation, rendered by `render()` and
    kept on a miss. Returns (the full key, the value): the key says what the page shows, for the ETag."""
    generation = current_generation()
    if generation is None:  # Redis is away: this reader's own rendering, named by what it shows
        value = render()
        return "unkept:" + hashlib.blake2b(repr(value).encode(), digest_size=12).hexdigest(), value
    full_key = f"{generation}:{key}"
    value = _unless_redis_fails(cache.get, full_key)  # None: not kept, or Redis went since the generation
    if value is None:
        value = render()
        _unless_redis_fails(cache.set, full_key, value)
    return full_key, value


def live_parts(kind: str, keys: Iterable[Hashable], render: Callable[[list], dict[Hashable, str]]) -> dict:
    """The parts of a page that show seats (booking cards, session cards), by key: kept in this
    process for LIVE_PARTS_SECONDS at most, and only in the current content generation (an edit of
    the session shows at once); the missing ones rendered together by `render(missing keys)` (one
    query for all of them). So a card is at most that many seconds behind any booking, and a burst
    of readers costs one query per process and interval, whatever the bookings meanwhile."""
    now = clock()
    generation = current_generation()
    found, missing = {}, []
    for key in keys:
        kept = _live.get((kind, key))
        if kept is not None and kept[0] == generation and kept[1] > now:
            found[key] = kept[2]
        else:
            missing.append(key)
    if missing:
        rendered = render(missing)
        expires = now + current_app.config["LIVE_PARTS_SECONDS"]
        if len(_live) > _LIVE_MAX:
            _live.clear()  # a crude bound: only cards of pages being read come back
        for key in missing:
            html = rendered.get(key, "")
            _live[(kind, key)] = (generation, expires, html)
            found[key] = html
    return found


def forget_live_parts() -> None:
    """Drop this process's kept cards (the tests' clean slate: their ids are reused)."""
    _live.clear()


# (kind, key) -> (content generation, expiry on `clock`, html); this process's own.
_live: dict[tuple, tuple[int | None, float, str]] = {}
_LIVE_MAX = 5000
clock = time.monotonic  # the kept cards' clock (the tests move it on)


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
