"""Reading counts (阅读 N) and booking-card clicks: who counts, and the events a flusher counts.

Only readers the site itself identified count: a logged-in account, or an anonymous reader id the
site issued in a signed cookie (`issue_reader`, `reader_from_cookie`). A made-up cookie, or one
signed with another key, counts nothing, so a script cannot inflate the dashboard's figures by
inventing readers; it can only take ids from the site one page view at a time, each counting at
most once per CMS_VIEW_WINDOW_SECONDS. The events are buffered and written in batches
(count_buffer.py, count_writer.py), so reading an article costs no write transaction.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, Signer

from app.cms.count_buffer import buffer_event
from app.cms.count_events import CLICK, VIEW, CountEvent
from app.common.time import utcnow


def _digest(text: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


_READER_SALT = "cms-reader"
READER_ID_BYTES = 16


def _reader_signer() -> Signer:
    # Its own salt: no other signed value of the app (session, reset link) passes as a reader id.
    return Signer(current_app.config["SECRET_KEY"], salt=_READER_SALT)


def issue_reader() -> tuple[str, str]:
    """A new anonymous reader: (their id, the signed cookie value that carries it)."""
    reader_id = secrets.token_hex(READER_ID_BYTES)
    return reader_id, _reader_signer().sign(reader_id).decode("ascii")


def reader_from_cookie(value: str | None) -> str | None:
    """The reader id in a cookie this site issued; None for a missing, made-up or altered one."""
    if not value or len(value) > 200:
        return None
    try:
        reader_id = _reader_signer().unsign(value).decode("ascii")
    except (BadSignature, UnicodeError):
        return None
    return reader_id if len(reader_id) == 2 * READER_ID_BYTES else None


def _identity(user_id: int | None, reader_id: str | None) -> str | None:
    if user_id is not None:
        return f"u:{user_id}"
    if reader_id:
        return f"a:{reader_id}"
    return None  # nobody the site identified: not counted


def visitor_key(user_id: int | None, reader_id: str | None) -> str | None:
    """Who is reading, as a keyed hash: the account, else the site-issued reader id; None for
    anyone else. Keyed with SECRET_KEY so the stored marks cannot be matched to accounts."""
    identity = _identity(user_id, reader_id)
    return _digest(identity) if identity else None


def clicker_key(user_id: int | None, reader_id: str | None) -> str | None:
    """The same reader pressing a booking card (kept apart from their view of the article)."""
    identity = _identity(user_id, reader_id)
    return _digest(f"click|{identity}") if identity else None


def record_view(article_id: int, visitor: str, now: datetime | None = None) -> None:
    """Count one view unless this visitor was counted for this article within the window.

    Only buffered here (no database write on the request path): the flusher decides whether it
    counts and adds it (app/cms/count_buffer.py), within CMS_COUNT_FLUSH_SECONDS."""
    buffer_event(CountEvent(VIEW, article_id, visitor, now or utcnow()))


def record_card_click(article_id: int, clicker: str, now: datetime | None = None) -> None:
    """A reader pressed 立即预约 on one of the article's booking cards: counted once per reader
    (`clicker_key`) and window, like views, and buffered like them."""
    buffer_event(CountEvent(CLICK, article_id, clicker, now or utcnow()))
