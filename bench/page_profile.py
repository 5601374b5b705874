"""Where one page request's time goes, in-process (Flask test client, production settings).

Two passes over the same page, after a few warm-up requests:
  1. timed by part, without the profiler (whose overhead would tilt the split towards Python-heavy
     code): each request's wall time is split, exclusively, into SQL statements (SQLAlchemy cursor
     events: count and time), Jinja rendering, Markdown and booking cards (app/cms/rendering.py and
     the view's card filling), view counting (app/cms/counters.py, with its commit), the Python of
     the page queries around their SQL (ORM), the before/after_request hooks (host check, security
     headers, CSRF, ...), and the rest (routing, Flask, Werkzeug, the test client, view code);
  2. under cProfile: the functions with the most own time, and the app's functions by cumulative time.
Used by bench/pages.py --profile PAGE.
"""
from __future__ import annotations

import cProfile
import functools
import inspect
import io
import pstats
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from common import ROOT  # noqa: E402  (bench/common.py)

SQL = "SQL statements (driver and database)"
JINJA = "Jinja templates"
MARKDOWN = "Markdown and cards (cms/rendering.py, the views' card filling)"
COUNTING = "view counting (cms/counters.py, count_buffer.py)"
CACHE = "kept pages (common/page_cache.py: generation, cache get, ETag)"
QUERIES = "page queries' Python around their SQL (ORM)"
HOOKS = "before/after_request hooks (host check, security headers, CSRF ...)"
OTHER = "other (routing, Flask/Werkzeug, view code, test client)"
# Modules whose functions are timed as one part; functions of theirs bound elsewhere (service.py
# re-exports the counters) are found by identity and timed there too.
MODULE_PARTS = {
    "app.cms.rendering": MARKDOWN,
    "app.cms.counters": COUNTING,
    "app.cms.count_buffer": COUNTING,
    "app.common.page_cache": CACHE,
    "app.cms.queries": QUERIES,
    "app.catalog.service": QUERIES,
    "app.catalog.availability": QUERIES,
}
VIEW_PARTS = {("app.cms.views", "filled_cards"): MARKDOWN, ("app.catalog.cards", "fill_session_cards"): MARKDOWN}


@dataclass
class Split:
    """Exclusive wall time per part: time spent in a nested part counts for that part only."""
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    statements: int = 0
    _stack: list[str] = field(default_factory=list)
    _mark: float = 0.0

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        if self._stack:
            self.seconds[self._stack[-1]] += now - self._mark
        self._stack.append(part)
        self._mark = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.seconds[self._stack.pop()] += now - self._mark
        self._mark = now


def _timed(function, part: str, split: Split):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        split.enter(part)
        try:
            return function(*args, **kwargs)
        finally:
            split.leave()
    return timed


class _Patches:
    """Wraps functions in place, listens to SQLAlchemy events, and undoes it all."""

    def __init__(self):
        self._undo: list = []

    def replace(self, owner, name, value) -> None:
        """owner.name = value, or owner[name] = value for a dict or a list."""
        if isinstance(owner, dict | list):
            original = owner[name]
            owner[name] = value
            self._undo.append(lambda: owner.__setitem__(name, original))
        else:
            original = getattr(owner, name)
            setattr(owner, name, value)
            self._undo.append(lambda: setattr(owner, name, original))

    def listen(self, target, name: str, listener) -> None:
        from sqlalchemy import event

        event.listen(target, name, listener)
        self._undo.append(lambda: event.remove(target, name, listener))

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()
        self._undo.clear()


def _install(app, split: Split) -> _Patches:
    import flask.templating

    from app.extensions import db

    patches = _Patches()
    wrapped = {}
    for module_name, part in MODULE_PARTS.items():
        module = sys.modules[module_name]
        for function in vars(module).values():
            if inspect.isfunction(function) and function.__module__ == module_name:
                wrapped[id(function)] = _timed(function, part, split)
    for (module_name, name), part in VIEW_PARTS.items():
        function = getattr(sys.modules[module_name], name)
        wrapped[id(function)] = _timed(function, part, split)
    for module in [m for name, m in sys.modules.items() if name == "app" or name.startswith("app.")]:
        for name, value in list(vars(module).items()):
            if id(value) in wrapped:
                patches.replace(module, name, wrapped[id(value)])
    for registry in (app.jinja_env.filters, app.jinja_env.globals):
        for name, value in list(registry.items()):
            if id(value) in wrapped:
                patches.replace(registry, name, wrapped[id(value)])
    patches.replace(flask.templating, "_render", _timed(flask.templating._render, JINJA, split))
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        for functions in hooks.values():
            for n, function in enumerate(list(functions)):
                patches.replace(functions, n, _timed(function, HOOKS, split))

    def before_statement(*_args):
        split.statements += 1
        split.enter(SQL)

    def after_statement(*_args):
        split.leave()

    def failed_statement(*_args):
        split.leave()

    with app.app_context():
        engine = db.engine
    patches.listen(engine, "before_cursor_execute", before_statement)
    patches.listen(engine, "after_cursor_execute", after_statement)
    patches.listen(engine, "handle_error", failed_statement)
    return patches


def _get(client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")


def profile_page(app, path: str, requests: int, top: int = 18) -> str:
    """The report: the split by part, then cProfile's view of the same page."""
    client = app.test_client()  # keeps cookies, as a phone does: the article's reader cookie comes back
    for _ in range(5):
        _get(client, path)
    split = Split()
    patches = _install(app, split)
    try:
        began = time.perf_counter()
        for _ in range(requests):
            split.enter(OTHER)
            _get(client, path)
            split.leave()
        total = time.perf_counter() - began
    finally:
        patches.undo()
    lines = [f"GET {path}: {requests} requests in-process, {total * 1000 / requests:.2f} ms a request "
             f"(wall time, no profiler), {split.statements / requests:.1f} SQL statements a request"]
    for part, seconds in sorted(split.seconds.items(), key=lambda item: -item[1]):
        lines.append(f"  {seconds * 1000 / requests:7.2f} ms  {seconds / total:5.1%}  {part}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        _get(client, path)
    profiler.disable()
    lines.append(f"\ncProfile, {requests} requests (times under the profiler, per request; a template's "
                 "generator counts a call per resume):")
    lines += _top(profiler, requests, top, "tottime", "own time", lambda name: True)
    lines += _top(profiler, requests, top, "cumtime", "cumulative time, the app's functions and templates",
                  lambda name: name.startswith(("app/", "templates/")))
    return "\n".join(lines)


def _short(filename: str) -> str:
    for prefix in ("site-packages/", str(ROOT) + "/"):
        if prefix in filename:
            return filename.split(prefix, 1)[1]
    return filename


def _top(profiler: cProfile.Profile, requests: int, top: int, key: str, title: str, keep) -> list[str]:
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in stats.stats.items():
        name = _short(filename)
        if keep(name):
            rows.append((own if key == "tottime" else cumulative, calls, name, line, function))
    rows.sort(reverse=True)
    lines = [f"  by {title}:"]
    for seconds, calls, name, line, function in rows[:top]:
        lines.append(f"    {seconds * 1000 / requests:7.3f} ms  {calls / requests:7.1f} calls  {function}  "
                     f"({name}:{line})")
    return lines
