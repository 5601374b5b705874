"""Articles, their columns (栏目) and tags, every saved revision, uploaded images and view marks.

Only app/cms/service.py writes these tables.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, String, Table, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    # Published automatically once `publish_at` has passed: the public queries compare it with the
    # clock, so no cron job has to flip it.
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {ArticleStatus.DRAFT: _("草稿"), ArticleStatus.SCHEDULED: _("定时发布"),
                ArticleStatus.PUBLISHED: _("已发布"), ArticleStatus.ARCHIVED: _("已归档")}[self]


# Statuses that readers may see once `publish_at` is in the past.
PUBLIC_STATUSES = (ArticleStatus.SCHEDULED, ArticleStatus.PUBLISHED)


article_tags = Table(
    "article_tags",
    db.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ArticleColumn(db.Model):
    """A 栏目: 深度好文, 客户案例, 品牌资讯, 全域营销 ..."""

    __tablename__ = "article_columns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    position: Mapped[int] = mapped_column(default=0, server_default="0")  # order in the navigation


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)


class Article(db.Model):
    """The current state of an article; every save also writes an ArticleRevision."""

    __tablename__ = "articles"
    __table_args__ = (
        # The public lists: visible articles of a column, newest first.
        Index("ix_articles_status_publish_at", "status", "publish_at"),
        Index("ix_articles_column_publish_at", "column_id", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")  # 导读
    body: Mapped[str] = mapped_column(Text, default="", server_default="")  # Markdown
    author_name: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 玺承集团
    seo_description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    cover_image: Mapped[str | None] = mapped_column(String(64))  # a MediaFile.filename
    column_id: Mapped[int | None] = mapped_column(ForeignKey("article_columns.id", ondelete="SET NULL"))
    status: Mapped[ArticleStatus] = mapped_column(
        Enum(ArticleStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s],
             create_constraint=True, name="article_status"),
        default=ArticleStatus.DRAFT,
        server_default=ArticleStatus.DRAFT.value,
    )
    # When readers may first see it (the publish date shown on the page). Set by publishing or
    # scheduling; None for a draft that was never published.
    publish_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The number of the latest revision: the article page joins it to get the cached HTML.
    revision_number: Mapped[int] = mapped_column(default=0, server_default="0")
    # Funnel figures, changed only by atomic increments (UPDATE ... SET n = n + 1).
    view_count: Mapped[int] = mapped_column(default=0, server_default="0")
    card_clicks: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())

    column: Mapped[ArticleColumn | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, order_by=Tag.name)

    def is_public(self, now: datetime) -> bool:
        return self.status in PUBLIC_STATUSES and self.publish_at is not None and self.publish_at <= now

    def shown_status(self, now: datetime) -> ArticleStatus:
        """A scheduled article whose time has come reads as published."""
        if self.status is ArticleStatus.SCHEDULED and self.publish_at is not None and self.publish_at <= now:
            return ArticleStatus.PUBLISHED
        return self.status


class ArticleRevision(db.Model):
    """A snapshot of an article as saved, with its Markdown rendered to safe HTML once.

    Revisions are never changed after they are written, so the HTML kept here is the cache: the
    article page reads it and renders nothing (the live booking cards are filled in per request).
    """

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_article_revisions_article_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2, 3 ... per article
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    body_html: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The renderer that produced body_html; `flask cms rerender` refreshes older ones.
    renderer_version: Mapped[int] = mapped_column(default=1, server_default="1")
    author_name: Mapped[str] = mapped_column(String(50), default="", server_default="")
    seo_description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    cover_image: Mapped[str | None] = mapped_column(String(64))
    column_id: Mapped[int | None] = mapped_column(ForeignKey("article_columns.id", ondelete="SET NULL"))
    tag_names: Mapped[str] = mapped_column(String(500), default="", server_default="")  # "小红书, 种草"
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")  # e.g. 恢复自第 3 版
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())


class MediaFile(db.Model):
    """An uploaded image, stored on disk under CMS_UPLOAD_FOLDER with a generated name."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(64), unique=True)  # random hex + extension of the real type
    content_type: Mapped[str] = mapped_column(String(40))  # from decoding the image, not from the upload
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())


class ArticleViewMark(db.Model):
    """When a visitor last counted as a view of an article: reloads within the window do not count."""

    __tablename__ = "article_view_marks"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    # A hash of the visitor (account, or anonymous cookie / address and browser); never the raw values.
    visitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
