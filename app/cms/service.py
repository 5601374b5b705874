"""Every change to articles: writing, saving revisions, publishing, restoring, columns.

Each public function is one transaction (`@write_transaction`) and records an audit entry when an
admin acts. Saving locks the article's row, so two editors saving at once get consecutive
revision numbers, and a save based on an older revision than the latest is refused
(ArticleChanged) instead of silently overwriting the other editor's work.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.catalog.models import CampSession

# Also part of this module's API (callers use service.record_view, service.save_image ...), but
# each lives with its own idea.
from app.cms.counters import (  # noqa: F401
    clicker_key,
    issue_reader,
    reader_from_cookie,
    record_card_click,
    record_view,
    visitor_key,
)
from app.cms.errors import (
    ArticleChanged,
    ArticleNotFound,
    BodyTooLong,
    ColumnNameRequired,
    ColumnNameTaken,
    ColumnNotFound,
    CoverImageNotFound,
    PublishAtInPast,
    PublishAtRequired,
    SlugInvalid,
    SlugTaken,
    TextTooLong,
    TitleRequired,
    TitleTooLong,
    UnknownSessionInCard,
)
from app.cms.media import save_image  # noqa: F401
from app.cms.models import (
    Article,
    ArticleColumn,
    ArticleRevision,
    ArticleStatus,
    MediaFile,
    Tag,
)
from app.cms.rendering import RENDERER_VERSION, booking_card_ids, render_markdown, storable_text
from app.cms.revisions import DiffLine, find_revision, revision_diff  # noqa: F401
from app.common.db import write_transaction
from app.common.page_cache import content_changed
from app.common.slugs import numbered_slug, pinyin_slug, unused_slug
from app.common.sql import dialect_insert
from app.common.time import utcnow
from app.extensions import db

MAX_TITLE_CHARS = 200
MAX_SLUG_CHARS = 120
MAX_TAGS = 10
MAX_TAG_CHARS = 30
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Column limits of the fields a form also checks; the importer and scripts rely on these.
_TEXT_LIMITS = {"author_name": 50, "seo_description": 300}


@dataclass
class ArticleInput:
    title: str
    slug: str = ""  # "" -> from the title's pinyin on creation; kept as it is on a later save
    summary: str = ""
    body: str = ""
    author_name: str = ""
    seo_description: str = ""
    cover_image: str | None = None  # a MediaFile.filename
    column_id: int | None = None
    tag_names: list[str] = field(default_factory=list)
    publish_at: datetime | None = None  # only schedule_article uses it


def _text(value: str | None) -> str:
    return storable_text(value).strip()


# --- checking an article's input ------------------------------------------------------------

@dataclass
class _Checked:
    title: str
    slug: str  # "" when the caller should keep or generate one
    summary: str
    body: str
    author_name: str
    seo_description: str
    cover_image: str | None
    column_id: int | None
    tag_names: list[str]


def clean_tag_names(names: list[str]) -> list[str]:
    """Trimmed, inner spaces collapsed, each once, at most MAX_TAGS, each at most 30 characters."""
    cleaned: list[str] = []
    # Revisions keep tags as "a, b": a comma inside a name would split it on restore.
    for name in (part for given in names for part in (given or "").split(",")):
        name = " ".join(_text(name).split())[:MAX_TAG_CHARS]
        if name and name not in cleaned:
            cleaned.append(name)
    return cleaned[:MAX_TAGS]


def _check(data: ArticleInput) -> _Checked:
    """The article rules, in the order the editor reads the form; the first broken one is raised."""
    title = " ".join(_text(data.title).split())
    if not title:
        raise TitleRequired()
    if len(title) > MAX_TITLE_CHARS:
        raise TitleTooLong(MAX_TITLE_CHARS)
    slug = _text(data.slug).lower()
    if slug and (len(slug) > MAX_SLUG_CHARS or not SLUG_RE.fullmatch(slug)):
        raise SlugInvalid()
    body = storable_text(data.body)
    limit = current_app.config["CMS_MAX_BODY_CHARS"]
    if len(body) > limit:
        raise BodyTooLong(limit, len(body))
    checked = _Checked(
        title=title, slug=slug, summary=_text(data.summary), body=body,
        author_name=_text(data.author_name), seo_description=_text(data.seo_description),
        cover_image=_text(data.cover_image) or None, column_id=data.column_id or None,
        tag_names=clean_tag_names(data.tag_names),
    )
    for name, limit in _TEXT_LIMITS.items():
        if len(getattr(checked, name)) > limit:
            raise TextTooLong(name, limit)
    _check_references(checked)
    return checked


def _check_references(checked: _Checked) -> None:
    """Booking cards, column and cover image must name rows that exist."""
    card_ids = booking_card_ids(checked.body)
    if card_ids:
        known = set(db.session.scalars(select(CampSession.id).where(CampSession.id.in_(card_ids))))
        unknown = [session_id for session_id in card_ids if session_id not in known]
        if unknown:
            raise UnknownSessionInCard(unknown)
    if checked.column_id is not None and db.session.get(ArticleColumn, checked.column_id) is None:
        raise ColumnNotFound()
    if checked.cover_image is not None and db.session.scalar(
        select(MediaFile.id).where(MediaFile.filename == checked.cover_image)
    ) is None:
        raise CoverImageNotFound()


def _tags(names: list[str]) -> list[Tag]:
    """The Tag rows of these names, creating the missing ones (ON CONFLICT: another editor may be
    creating the same tag at this moment)."""
    if not names:
        return []
    existing = {tag.name: tag for tag in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in existing:
            continue
        base = pinyin_slug(name) or "tag"
        for attempt in range(1, 6):
            slug = base if attempt == 1 else numbered_slug(base, attempt)
            db.session.execute(dialect_insert(Tag.__table__).values(name=name, slug=slug).on_conflict_do_nothing())
            tag = db.session.scalar(select(Tag).where(Tag.name == name))
            if tag is not None:
                existing[name] = tag
                break
        else:  # five different tags already share this pinyin
            db.session.add(tag := Tag(name=name, slug=f"{base[:60]}-{secrets.token_hex(4)}"))
            db.session.flush()
            existing[name] = tag
    return [existing[name] for name in names]


def _lock_article(article_id: int) -> Article:
    article = db.session.get(Article, article_id, with_for_update=True)
    if article is None:
        raise ArticleNotFound()
    return article


def _apply(article: Article, checked: _Checked, tags: list[Tag]) -> None:
    for name in ("title", "summary", "body", "author_name", "seo_description", "cover_image", "column_id"):
        setattr(article, name, getattr(checked, name))
    article.tags = tags
    article.updated_at = utcnow()


def _write_revision(article: Article, actor: User | None, note: str = "") -> ArticleRevision:
    """Revision n+1: a snapshot of the article with its HTML rendered once, here."""
    article.revision_number += 1
    revision = ArticleRevision(
        article_id=article.id, number=article.revision_number, title=article.title, slug=article.slug,
        summary=article.summary, body=article.body, body_html=render_markdown(article.body),
        renderer_version=RENDERER_VERSION, author_name=article.author_name,
        seo_description=article.seo_description, cover_image=article.cover_image, column_id=article.column_id,
        # Sorted: the same tags picked in another order are the same tags, not a change in the diff.
        tag_names=", ".join(sorted(tag.name for tag in article.tags)), note=note[:200],
        created_by_id=actor.id if actor else None,
    )
    db.session.add(revision)
    return revision


def _flush_slug() -> None:
    try:
        db.session.flush()
    except IntegrityError as error:  # two editors took the same slug at once (PostgreSQL)
        raise SlugTaken() from error


def _state(article: Article) -> dict:
    return {
        "article_id": article.id, "status": str(article.status), "revision": article.revision_number,
        "publish_at": article.publish_at.isoformat() if article.publish_at else None,
    }


def _audit(action: AuditAction, article: Article, actor: User | None, before: dict | None = None,
          note: str = "") -> None:
    """The change's audit entry; and cached pages are rendered again once it commits."""
    record(action, actor, article_id=article.id, before=before, after=_state(article), note=note)
    content_changed()


# --- writing ----------------------------------------------------------------------------------

@write_transaction
def create_article(data: ArticleInput, actor: User | None, note: str = "") -> Article:
    """A new draft with its first revision. `note` is shown with that revision in the admin's
    revision list (the importer's 导入自 ... ; 原文日期 ...), never to readers."""
    checked = _check(data)
    if checked.slug:
        if db.session.scalar(select(Article.id).where(Article.slug == checked.slug)) is not None:
            raise SlugTaken()
        slug = checked.slug
    else:
        slug = unused_slug(Article.slug, pinyin_slug(checked.title) or "article")
    article = Article(slug=slug, status=ArticleStatus.DRAFT, revision_number=0,
                      created_by_id=actor.id if actor else None)
    _apply(article, checked, _tags(checked.tag_names))
    db.session.add(article)
    _flush_slug()
    _write_revision(article, actor, note=_text(note))
    db.session.flush()
    _audit(AuditAction.ARTICLE_CREATE, article, actor)
    return article


@write_transaction
def save_article(article_id: int, data: ArticleInput, actor: User | None,
                 base_revision: int | None = None) -> Article:
    """Save the editor's form as the next revision (status unchanged)."""
    article = _lock_article(article_id)
    if base_revision is not None and base_revision < article.revision_number:
        raise ArticleChanged()
    checked = _check(data)
    if checked.slug and checked.slug != article.slug:
        taken = db.session.scalar(select(Article.id).where(Article.slug == checked.slug, Article.id != article.id))
        if taken is not None:
            raise SlugTaken()
        article.slug = checked.slug
    # An emptied slug field keeps the current slug: links already shared keep working.
    before = _state(article)
    _apply(article, checked, _tags(checked.tag_names))
    _flush_slug()
    _write_revision(article, actor)
    _audit(AuditAction.ARTICLE_SAVE, article, actor, before)
    return article


@write_transaction
def publish_article(article_id: int, actor: User | None, now: datetime | None = None) -> Article:
    """Public now. A republished article keeps its first publish date."""
    now = now or utcnow()
    article = _lock_article(article_id)
    before = _state(article)
    article.status = ArticleStatus.PUBLISHED
    if article.publish_at is None or article.publish_at > now:
        article.publish_at = now
    article.updated_at = now
    _audit(AuditAction.ARTICLE_PUBLISH, article, actor, before)
    return article


@write_transaction
def schedule_article(article_id: int, publish_at: datetime | None, actor: User | None,
                     now: datetime | None = None) -> Article:
    """Public from `publish_at` on, with no job to run: the public queries compare it with the clock."""
    now = now or utcnow()
    if publish_at is None:
        raise PublishAtRequired()
    if publish_at.tzinfo is None:
        raise ValueError("schedule_article needs an aware datetime (see app.common.time.from_local_input)")
    if publish_at <= now:
        raise PublishAtInPast()
    article = _lock_article(article_id)
    before = _state(article)
    article.status = ArticleStatus.SCHEDULED
    article.publish_at = publish_at
    article.updated_at = now
    _audit(AuditAction.ARTICLE_SCHEDULE, article, actor, before)
    return article


def _set_status(article_id: int, status: ArticleStatus, action: AuditAction, actor: User | None) -> Article:
    article = _lock_article(article_id)
    before = _state(article)
    article.status = status
    article.updated_at = utcnow()
    _audit(action, article, actor, before)
    return article


@write_transaction
def unpublish_article(article_id: int, actor: User | None) -> Article:
    """Back to draft (its publish date is kept for when it is published again)."""
    return _set_status(article_id, ArticleStatus.DRAFT, AuditAction.ARTICLE_UNPUBLISH, actor)


@write_transaction
def archive_article(article_id: int, actor: User | None) -> Article:
    return _set_status(article_id, ArticleStatus.ARCHIVED, AuditAction.ARTICLE_ARCHIVE, actor)


@write_transaction
def restore_revision(article_id: int, number: int, actor: User | None) -> Article:
    """A new revision with the content of revision `number`; the status does not change."""
    article = _lock_article(article_id)
    old = find_revision(article_id, number)
    before = _state(article)
    for name in ("title", "summary", "body", "author_name", "seo_description"):
        setattr(article, name, getattr(old, name))
    # Rows the old revision named may be gone or taken since: keep the current ones then.
    slug_taken = db.session.scalar(select(Article.id).where(Article.slug == old.slug, Article.id != article.id))
    if slug_taken is None:
        article.slug = old.slug
    if old.cover_image is None or db.session.scalar(
        select(MediaFile.id).where(MediaFile.filename == old.cover_image)
    ) is not None:
        article.cover_image = old.cover_image
    if old.column_id is None or db.session.get(ArticleColumn, old.column_id) is not None:
        article.column_id = old.column_id
    article.tags = _tags(clean_tag_names(old.tag_names.split(",")))
    article.updated_at = utcnow()
    _flush_slug()
    note = _("恢复自第 %(number)s 版", number=number)
    _write_revision(article, actor, note=note)
    _audit(AuditAction.ARTICLE_RESTORE, article, actor, before, note=note)
    return article


@write_transaction
def create_column(name: str, slug: str = "", description: str = "", position: int = 0) -> ArticleColumn:
    """A new 栏目; without a slug, one from the name's pinyin (made unique)."""
    name = " ".join(_text(name).split())[:40]
    if not name:
        raise ColumnNameRequired()
    if db.session.scalar(select(ArticleColumn.id).where(ArticleColumn.name == name)) is not None:
        raise ColumnNameTaken()
    slug = _text(slug).lower()
    if slug and not (len(slug) <= 80 and SLUG_RE.fullmatch(slug)):
        raise SlugInvalid()
    column = ArticleColumn(name=name, slug=slug or unused_slug(ArticleColumn.slug, pinyin_slug(name) or "column"),
                           description=_text(description)[:200], position=position)
    db.session.add(column)
    content_changed()
    try:
        db.session.flush()
    except IntegrityError as error:
        raise SlugTaken() from error
    return column
