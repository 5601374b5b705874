"""Reading counts (阅读 N) and booking-card clicks: atomic increments, reloads not counted twice."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app
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


def visitor_key(user_id: int | None, anon_id: str | None, remote_addr: str, user_agent: str) -> str:
    """Who is reading, as a keyed hash: the account, else the anonymous cookie, else address and
    browser. Keyed with SECRET_KEY so the stored marks cannot be matched to a list of addresses."""
    if user_id is not None:
        return _digest(f"u:{user_id}")
    if anon_id:
        return _digest(f"a:{anon_id}")
    return _digest(f"ip:{remote_addr or ''}|{user_agent or ''}")


@write_transaction
def record_view(article_id: int, visitor: str, now: datetime | None = None) -> bool:
    """Count one view unless this visitor was counted for this article within the window.

    One conditional upsert decides it: a new mark, or an old mark past the window, is written;
    a fresh mark is left alone and nothing is written. Only a written mark adds a view, and the
    count goes up by an atomic UPDATE, so concurrent readers never lose one. True when counted."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["CMS_VIEW_WINDOW_SECONDS"])
    marks = ArticleViewMark.__table__
    mark = dialect_insert(marks).values(article_id=article_id, visitor=visitor, counted_at=now)
    mark = mark.on_conflict_do_update(
        index_elements=[marks.c.article_id, marks.c.visitor], set_={"counted_at": now},
        where=marks.c.counted_at < cutoff,
    ).returning(marks.c.article_id)  # a row only when the mark was written (rowcount is -1 on psycopg)
    try:
        written = db.session.execute(mark).first() is not None
    except IntegrityError as error:  # no such article (foreign key)
        raise ArticleNotFound() from error
    if not written:
        return False
    db.session.execute(
        update(Article).where(Article.id == article_id).values(view_count=Article.view_count + 1)
        .execution_options(synchronize_session=False)
    )
    return True


@write_transaction
def record_card_click(article_id: int) -> None:
    """A reader pressed 立即预约 on one of the article's booking cards."""
    db.session.execute(
        update(Article).where(Article.id == article_id).values(card_clicks=Article.card_clicks + 1)
        .execution_options(synchronize_session=False)
    )
