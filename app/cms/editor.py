"""The editor's buttons (保存, 立即发布, 定时发布), each one user action and so one write transaction.

A button may do up to three things: keep the cover image posted with the form (chosen without
the page's script), save what was typed as the next revision, then publish or schedule. They
commit together or not at all: a refusal at any step (a booking card naming an unknown session,
a time already past, another editor's newer save) leaves no image row or file, no revision, no
change of status. The steps are service.py's own functions, run as steps of one transaction
(app/common/db.py: write_transaction).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.cms import service
from app.cms.errors import ArticleNotFound
from app.cms.media import add_media, stored_image
from app.cms.models import Article, MediaFile
from app.cms.service import ArticleInput
from app.common.db import write_transaction
from app.extensions import db


def create_draft(data: ArticleInput, actor: User, cover: FileStorage | None = None) -> Article:
    """保存 on a new article: a draft with its first revision (and its cover, if one was posted)."""
    with stored_image(cover, actor) as media:
        return _create_draft(data, actor, media)


def save_edits(article_id: int, data: ArticleInput, actor: User, *, base_revision: int | None = None,
               cover: FileStorage | None = None) -> bool:
    """保存: what was typed as the next revision, unless it changes nothing (False then)."""
    with stored_image(cover, actor) as media:
        return _save_edits(article_id, data, actor, base_revision, media)


def save_and_publish(article_id: int, data: ArticleInput, actor: User, *, base_revision: int | None = None,
                     cover: FileStorage | None = None, now: datetime | None = None) -> Article:
    """立即发布: what was typed saved first (if it changes anything), then published."""
    with stored_image(cover, actor) as media:
        return _save_and_publish(article_id, data, actor, base_revision, media, now)


def save_and_schedule(article_id: int, data: ArticleInput, publish_at: datetime | None, actor: User, *,
                      base_revision: int | None = None, cover: FileStorage | None = None,
                      now: datetime | None = None) -> Article:
    """定时发布: what was typed saved first (if it changes anything), then public from `publish_at`."""
    with stored_image(cover, actor) as media:
        return _save_and_schedule(article_id, data, publish_at, actor, base_revision, media, now)


@write_transaction
def _create_draft(data: ArticleInput, actor: User, media: MediaFile | None) -> Article:
    return service.create_article(_with_cover(data, media), actor)


@write_transaction
def _save_edits(article_id: int, data: ArticleInput, actor: User, base_revision: int | None,
                media: MediaFile | None) -> bool:
    data = _with_cover(data, media)
    article = db.session.get(Article, article_id, with_for_update=True)  # compared as saving would find it
    if article is None:
        raise ArticleNotFound()
    if not differs_from(article, data):
        return False
    service.save_article(article_id, data, actor, base_revision=base_revision)
    return True


@write_transaction
def _save_and_publish(article_id: int, data: ArticleInput, actor: User, base_revision: int | None,
                      media: MediaFile | None, now: datetime | None) -> Article:
    _save_edits(article_id, data, actor, base_revision, media)
    return service.publish_article(article_id, actor, now)


@write_transaction
def _save_and_schedule(article_id: int, data: ArticleInput, publish_at: datetime | None, actor: User,
                       base_revision: int | None, media: MediaFile | None, now: datetime | None) -> Article:
    _save_edits(article_id, data, actor, base_revision, media)
    return service.schedule_article(article_id, publish_at, actor, now)


def _with_cover(data: ArticleInput, media: MediaFile | None) -> ArticleInput:
    """`data` with the posted cover as its cover image, the image's row added to the transaction."""
    if media is None:
        return data
    add_media(media)
    return replace(data, cover_image=media.filename)


def differs_from(article: Article, data: ArticleInput) -> bool:
    """Whether saving `data` would change the article (publishing an unchanged one writes no revision)."""

    def text(value) -> str:
        return str(value or "").replace("\r\n", "\n")  # browsers post textareas with \r\n

    saved = (article.title, article.slug, article.summary, article.body, article.author_name,
             article.seo_description, article.cover_image, article.column_id)
    typed = (data.title, data.slug or article.slug, data.summary, data.body, data.author_name,
             data.seo_description, data.cover_image, data.column_id)
    return ([text(v) for v in saved] != [text(v) for v in typed]
            or sorted(tag.name for tag in article.tags) != sorted(data.tag_names))
