"""Reading counts (阅读 N) and booking-card clicks: atomic increments, reloads not counted twice.

Only readers the site itself identified count: a logged-in account, or an anonymous reader id the
site issued in a signed cookie (`issue_reader`, `reader_from_cookie`). A made-up cookie, or one
signed with another key, counts nothing, so a script cannot inflate the dashboard's figures by
inventing readers; it can only take ids from the site one page view at a time, each counting at
most once per CMS_VIEW_WINDOW_SECONDS.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, Signer
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.cms.errors import ArticleNotFound
from app.cms.models import Article, ArticleViewMark
from app.common.db import write_transaction
from app.common.time import utcnow
from app.extensions import db


def dialect_insert(table):
    """INSERT with on_conflict_do_nothing / on_conflict_do_update (both dialects spell them alike)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


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


def _mark_once(article_id: int, visitor: str, now: datetime) -> bool:
    """Write this visitor's mark on the article unless a fresh one is there; True when written.

    One conditional upsert decides it: a new mark, or an old mark past the window, is written;
    a fresh mark is left alone and nothing is written."""
    cutoff = now - timedelta(seconds=current_app.config["CMS_VIEW_WINDOW_SECONDS"])
    marks = ArticleViewMark.__table__
    mark = dialect_insert(marks).values(article_id=article_id, visitor=visitor, counted_at=now)
    mark = mark.on_conflict_do_update(
        index_elements=[marks.c.article_id, marks.c.visitor], set_={"counted_at": now},
        where=marks.c.counted_at < cutoff,
    ).returning(marks.c.article_id)  # a row only when the mark was written (rowcount is -1 on psycopg)
    try:
        return db.session.execute(mark).first() is not None
    except IntegrityError as error:  # no such article (foreign key)
        raise ArticleNotFound() from error


@write_transaction
def record_view(article_id: int, visitor: str, now: datetime | None = None) -> bool:
    """Count one view unless this visitor was counted for this article within the window.

    Only a written mark adds a view, and the count goes up by an atomic UPDATE, so concurrent
    readers never lose one. True when counted."""
    return _count_once(article_id, visitor, "view_count", now or utcnow())


@write_transaction
def record_card_click(article_id: int, clicker: str, now: datetime | None = None) -> bool:
    """A reader pressed 立即预约 on one of the article's booking cards: counted once per reader
    (`clicker_key`) and window, like views. True when counted."""
    return _count_once(article_id, clicker, "card_clicks", now or utcnow())


def _count_once(article_id: int, reader: str, counter: str, now: datetime) -> bool:
    """Add one to the article's `counter` column unless this reader was counted within the window."""
    if not _mark_once(article_id, reader, now):
        return False
    column = getattr(Article, counter)
    db.session.execute(
        update(Article).where(Article.id == article_id).values({column: column + 1})
        .execution_options(synchronize_session=False)
    )
    return True
