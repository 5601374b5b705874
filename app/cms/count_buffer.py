"""Where views and card clicks wait to be counted, and the flusher that writes them in batches.

Reading an article writes nothing to the database: a viral article's readers would otherwise take
the one SQLite writer (or PostgreSQL row locks on the article) from a booking rush. The event goes
to a buffer, and a flusher writes the buffer in batches (`count_writer.write_counts`, one write
transaction a batch) every CMS_COUNT_FLUSH_SECONDS, at process exit, and on `flask cms flush-counts`.

- Without REDIS_URL the buffer is this process's memory: each gunicorn worker flushes its own, and
  one that is killed loses what it had not flushed (a few seconds of counts). It holds at most
  CMS_COUNT_BUFFER_LIMIT events (the oldest go first, with a warning) while the database is away.
- With REDIS_URL the buffer is a Redis list all processes share. A flusher moves a batch atomically
  to a claim list of its own, writes it, then deletes the claim; a flush that fails puts its claim
  back at the head of the list, and the claim of a flusher that died is put back by the next
  flush after CLAIM_TIMEOUT_SECONDS. (A batch written twice counts once: see count_writer.)
  An event Redis refuses is kept in this process's buffer and flushed from there.

The flusher thread starts on the first event a process buffers, so under gunicorn it runs in each
worker (threads do not survive fork), never in the arbiter.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import redis
from flask import Flask, current_app

from app.cms.count_events import CountEvent
from app.cms.count_writer import FlushTotals, write_counts
from app.common.db import in_write_transaction

log = logging.getLogger(__name__)

BATCH_EVENTS = 2000  # events a write transaction: a short hold of the SQLite writer (see bench/)
CLAIM_TIMEOUT_SECONDS = 120  # a claim this old belongs to a flusher that died (a batch takes < 1 s)
REDIS_TIMEOUT_SECONDS = 0.5  # a reader never waits longer than this on a Redis that hangs
_EXTENSION = "cms_count_buffers"


class LocalBuffer:
    """Events in this process's memory, oldest first, at most `limit` of them."""

    def __init__(self, limit: int) -> None:
        self._events: deque[CountEvent] = deque()
        self._lock = threading.Lock()
        self._limit = max(1, limit)

    def add(self, event: CountEvent) -> None:
        with self._lock:
            self._events.append(event)
            self._trim()

    def take(self, count: int) -> list[CountEvent]:
        """Remove and return up to `count` events, oldest first."""
        with self._lock:
            return [self._events.popleft() for _ in range(min(count, len(self._events)))]

    def put_back(self, events: list[CountEvent]) -> None:
        """Events a failed flush took: back in front, for the next flush."""
        with self._lock:
            self._events.extendleft(reversed(events))
            self._trim()

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def __len__(self) -> int:
        return len(self._events)

    def _trim(self) -> None:
        excess = len(self._events) - self._limit
        if excess > 0:
            for _ in range(excess):
                self._events.popleft()
            log.warning("count buffer full (%s events, the database has not taken them): dropped the %s oldest",
                        self._limit, excess)


@dataclass(frozen=True)
class Claim:
    """A batch one flusher took from the shared list; nobody else writes it unless it is abandoned."""

    id: str
    events: list[CountEvent]


# Move up to ARGV[1] events from the head of the list to this flusher's claim list, at once.
_CLAIM = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  for i = 1, #items, 500 do
    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
  end
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
end
return items
"""
# Put claims back at the head of the list, in their order: the claim ARGV[2] (KEYS[3] its list),
# or, without one, every claim taken before the time ARGV[1].
_RELEASE = """
local ids = {}
if ARGV[2] ~= '' then ids = {ARGV[2]} else ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1]) end
local moved = 0
for _, id in ipairs(ids) do
  local claim = ARGV[3] .. id
  local items = redis.call('LRANGE', claim, 0, -1)
  for i = #items, 1, -1 do redis.call('LPUSH', KEYS[1], items[i]) end
  moved = moved + #items
  redis.call('DEL', claim)
  redis.call('ZREM', KEYS[2], id)
end
return moved
"""


class RedisQueue:
    """The events of every process in one Redis list (`key`), claims beside it (`key:claim:<id>`)."""

    def __init__(self, url: str, key: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self.key = key
        self._claims = f"{key}:claims"
        self._claim_prefix = f"{key}:claim:"
        self._claim = self.redis.register_script(_CLAIM)
        self._release = self.redis.register_script(_RELEASE)

    def push(self, event: CountEvent) -> None:
        self.redis.rpush(self.key, event.encode())

    def claim(self, count: int) -> Claim:
        claim_id = uuid.uuid4().hex
        items = self._claim(keys=[self.key, self._claim_prefix + claim_id, self._claims],
                            args=[count, time.time(), claim_id])
        events = []
        for item in items:
            try:
                events.append(CountEvent.decode(item))
            except (ValueError, UnicodeError):
                log.warning("dropped an unreadable count event: %r", item[:80])
        return Claim(claim_id, events) if items else Claim("", [])

    def done(self, claim: Claim) -> None:
        with self.redis.pipeline() as pipe:
            pipe.delete(self._claim_prefix + claim.id).zrem(self._claims, claim.id).execute()

    def release(self, claim: Claim) -> None:
        self._release(keys=[self.key, self._claims], args=[0, claim.id, self._claim_prefix])

    def release_abandoned(self, older_than_seconds: float = CLAIM_TIMEOUT_SECONDS) -> int:
        """Put back the claims of flushers that died before writing them; how many events."""
        return self._release(keys=[self.key, self._claims],
                             args=[time.time() - older_than_seconds, "", self._claim_prefix])

    def pending(self) -> int:
        """Events waiting, claimed or not."""
        claims = [self._claim_prefix + claim_id.decode() for claim_id in self.redis.zrange(self._claims, 0, -1)]
        return self.redis.llen(self.key) + sum(self.redis.llen(claim) for claim in claims)

    def clear(self) -> None:
        claims = [self._claim_prefix + claim_id.decode() for claim_id in self.redis.zrange(self._claims, 0, -1)]
        self.redis.delete(self.key, self._claims, *claims)


class CountBuffers:
    """One process's buffers for one app: its memory, and the shared Redis list when configured."""

    def __init__(self, config: Mapping) -> None:
        self.pid = os.getpid()
        self.local = LocalBuffer(int(config["CMS_COUNT_BUFFER_LIMIT"]))
        url = config.get("REDIS_URL") or ""
        self.shared = RedisQueue(url, config["CMS_COUNT_REDIS_KEY"]) if url else None
        self._redis_failing = False
        self._flusher_lock = threading.Lock()
        self._flusher_started = False
        self._stop = threading.Event()

    def add(self, event: CountEvent) -> None:
        if self.shared is not None:
            try:
                self.shared.push(event)
                if self._redis_failing:
                    self._redis_failing = False
                    log.warning("Redis takes count events again")
                return
            except redis.RedisError as error:
                if not self._redis_failing:  # once per outage, not once per reader
                    self._redis_failing = True
                    log.warning("Redis refused a count event (%s): buffering in this process", error)
        self.local.add(event)

    def start_flusher(self, app: Flask) -> None:
        """Once per process: the thread that flushes every CMS_COUNT_FLUSH_SECONDS (none when 0),
        and a last flush at exit."""
        if self._flusher_started:
            return
        with self._flusher_lock:
            if self._flusher_started:
                return
            self._flusher_started = True
            atexit.register(_flush_at_exit, app)
            interval = float(app.config["CMS_COUNT_FLUSH_SECONDS"])
            if interval > 0:
                threading.Thread(target=_flush_every, args=(app, interval, self._stop), name="cms-count-flusher",
                                 daemon=True).start()

    def stop_flusher(self) -> None:
        """End the flusher thread after its current flush (tests; a process ends it by exiting)."""
        self._stop.set()

    def pending(self) -> int:
        return len(self.local) + (self.shared.pending() if self.shared is not None else 0)

    def clear(self) -> None:
        self.local.clear()
        if self.shared is not None:
            self.shared.clear()


_buffers_lock = threading.Lock()


def buffers_of(app: Flask) -> CountBuffers:
    """This process's buffers for `app`. A process forked from one that had buffers (gunicorn's
    arbiter with --preload) starts its own: the parent's events and flusher are the parent's."""
    buffers = app.extensions.get(_EXTENSION)
    if buffers is None or buffers.pid != os.getpid():
        with _buffers_lock:
            buffers = app.extensions.get(_EXTENSION)
            if buffers is None or buffers.pid != os.getpid():
                buffers = app.extensions[_EXTENSION] = CountBuffers(app.config)
    return buffers


def buffer_event(event: CountEvent) -> None:
    """Keep a view or click for the next flush (no database on the request path)."""
    app = current_app._get_current_object()
    buffers = buffers_of(app)
    buffers.add(event)
    buffers.start_flusher(app)


@dataclass
class FlushReport(FlushTotals):
    """What a flush wrote, and whether it stopped on an error (its batch kept for the next one)."""

    failed: bool = False


def flush_counts() -> FlushReport:
    """Write the buffered events of this app, a batch per transaction, until the buffer is empty.

    A batch the database refuses stays buffered (in front, so the next flush writes it first) and
    the flush stops there, `failed`. Never inside a write transaction: a batch is its own."""
    if in_write_transaction():
        raise RuntimeError("flush_counts() inside a write transaction: each batch commits on its own")
    buffers = buffers_of(current_app._get_current_object())
    report = FlushReport()
    while batch := buffers.local.take(BATCH_EVENTS):
        try:
            report.add(write_counts(batch))
        except Exception:  # the database is away, or refused: keep the batch, whatever the cause
            buffers.local.put_back(batch)
            log.warning("writing %s buffered counts failed; kept for the next flush", len(batch), exc_info=True)
            report.failed = True
            return report
        if len(batch) < BATCH_EVENTS:
            break  # what came in meanwhile waits for the next flush: a flush always ends
    if buffers.shared is not None:
        report.failed = not _flush_shared(buffers.shared, report)
    return report


def _flush_shared(queue: RedisQueue, report: FlushReport) -> bool:
    try:
        queue.release_abandoned()
        while (claim := queue.claim(BATCH_EVENTS)).id:
            try:
                if claim.events:
                    report.add(write_counts(claim.events))
            except Exception:
                log.warning("writing %s buffered counts failed; kept in Redis for the next flush",
                            len(claim.events), exc_info=True)
                queue.release(claim)  # if Redis is away too, release_abandoned brings it back later
                return False
            queue.done(claim)
            if len(claim.events) < BATCH_EVENTS:
                break
    except redis.RedisError:
        log.warning("Redis is unreachable: buffered counts there wait for the next flush", exc_info=True)
        return False
    return True


def pending_counts() -> int:
    """Events buffered for this app and not yet written (this process's, and Redis's)."""
    return buffers_of(current_app._get_current_object()).pending()


def _flush_every(app: Flask, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            with app.app_context():
                flush_counts()
        except Exception:  # the thread must outlive any one flush
            log.exception("flushing buffered counts failed")


def _flush_at_exit(app: Flask) -> None:
    try:
        with app.app_context():
            buffers = buffers_of(app)
            # Not `pending()`: with Redis away it raises, and the events Redis refused, kept in this
            # process's memory, would die with it. flush_counts() writes those, and leaves Redis's.
            if len(buffers.local) or buffers.shared is not None:
                flush_counts()
    except Exception:
        log.exception("flushing buffered counts at exit failed")
