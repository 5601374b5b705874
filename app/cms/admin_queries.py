"""What the admins' CMS pages read: the article list with its filters, revisions, editor choices.

Public reads (and the per-article figures) live in app/cms/queries.py; these see every status.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.models import User
from app.audit.history import HistoryLine, history_line
from app.audit.models import AuditEntry
from app.cms.forms import LIST_PER_PAGE, ListFilters
from app.cms.models import Article, ArticleColumn, ArticleRevision, ArticleStatus
from app.common.time import local_datetime
from app.extensions import db


def _shown_status_clause(status: str, now: datetime):
    """Statuses as the list shows them: a scheduled article whose time has come is published."""
    due = and_(Article.status == ArticleStatus.SCHEDULED, Article.publish_at <= now)
    if status == ArticleStatus.PUBLISHED:
        return or_(Article.status == ArticleStatus.PUBLISHED, due)
    if status == ArticleStatus.SCHEDULED:
        not_yet = or_(Article.publish_at > now, Article.publish_at.is_(None))
        return and_(Article.status == ArticleStatus.SCHEDULED, not_yet)
    return Article.status == ArticleStatus(status)


def _filtered(query, filters: ListFilters, now: datetime, with_status: bool = True):
    if filters.q:
        query = query.where(or_(
            Article.title.icontains(filters.q, autoescape=True),
            Article.summary.icontains(filters.q, autoescape=True),
            Article.body.icontains(filters.q, autoescape=True),
        ))
    if filters.column_id:
        query = query.where(Article.column_id == filters.column_id)
    if filters.author:
        query = query.where(Article.author_name == filters.author)
    if with_status and filters.status:
        query = query.where(_shown_status_clause(filters.status, now))
    return query


def article_page(filters: ListFilters, page: int, now: datetime):
    """A page of articles, the most recently edited first (Flask-SQLAlchemy Pagination)."""
    query = _filtered(select(Article), filters, now).options(
        joinedload(Article.column), selectinload(Article.tags),
    ).order_by(Article.updated_at.desc(), Article.id.desc())
    return db.paginate(query, page=page, per_page=LIST_PER_PAGE, error_out=False)


def status_counts(filters: ListFilters, now: datetime) -> dict[str, int]:
    """How many articles each status chip would show with the other filters kept; one query."""
    due = and_(Article.status == ArticleStatus.SCHEDULED, Article.publish_at <= now)
    rows = db.session.execute(
        _filtered(select(Article.status, due.label("due"), func.count()), filters, now, with_status=False)
        .group_by(Article.status, due)
    ).all()
    counts = dict.fromkeys(["", *[s.value for s in ArticleStatus]], 0)
    for status, is_due, n in rows:
        status = ArticleStatus(status)
        key = ArticleStatus.PUBLISHED if status is ArticleStatus.SCHEDULED and is_due else status
        counts[key.value] += n
        counts[""] += n
    return counts


def columns() -> list[ArticleColumn]:
    return list(db.session.scalars(select(ArticleColumn).order_by(ArticleColumn.position, ArticleColumn.id)))


def author_names() -> list[str]:
    """The bylines in use, for the author filter."""
    return list(db.session.scalars(
        select(Article.author_name).where(Article.author_name != "").distinct().order_by(Article.author_name)
    ))


@dataclass(frozen=True)
class RevisionRow:
    revision: ArticleRevision
    who: str


def revisions(article_id: int) -> list[RevisionRow]:
    """Every saved revision, newest first, with who saved it."""
    rows = db.session.execute(
        select(ArticleRevision, User)
        .outerjoin(User, User.id == ArticleRevision.created_by_id)
        .where(ArticleRevision.article_id == article_id)
        .order_by(ArticleRevision.number.desc())
    ).all()
    return [RevisionRow(revision, user.display_name if user else "") for revision, user in rows]


def article_history(article_id: int) -> list[HistoryLine]:
    """What was done to the article (created, saved, published, scheduled, unpublished, archived,
    a revision restored), newest first, with who did it and the status before and after."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.article_id == article_id)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )
    return [history_line(entry, str(entry.action.label), _status_text(entry.before), _status_text(entry.after))
            for entry in entries]


def _status_text(state: dict | None) -> str:
    """An article's state in an audit entry: its status, and when a scheduled one goes public."""
    if not state:
        return ""
    try:
        status = ArticleStatus(state.get("status"))
    except ValueError:
        return str(state.get("status") or "")
    if status is ArticleStatus.SCHEDULED and state.get("publish_at"):
        try:
            return f"{status.label} {local_datetime(datetime.fromisoformat(state['publish_at']))}"
        except ValueError:
            pass
    return status.label


def revision_or_none(article_id: int, number: int) -> ArticleRevision | None:
    return db.session.scalar(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id, ArticleRevision.number == number)
    )
