"""`flask --app wsgi cms ...`: import articles copied from WeChat, re-render cached HTML, flush counts;
`flask --app wsgi media migrate`: copy uploaded images to the S3 bucket."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.cms import count_buffer, importer, rendering, service, storage
from app.cms.models import Article, ArticleColumn, ArticleRevision, MediaFile
from app.common.db import write_transaction
from app.common.errors import DomainError
from app.common.page_cache import content_changed
from app.common.slugs import pinyin_slug, unused_slug
from app.common.time import site_zone
from app.common.validators import remove_unstorable
from app.extensions import db

cms_cli = AppGroup("cms", help="文章管理：导入、重新渲染、写入阅读计数")
media_cli = AppGroup("media", help="上传的图片：迁移到对象存储")

RERENDER_BATCH = 200
MIGRATE_BATCH = 500


@cms_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--column", "column_key", metavar="SLUG", help="放入这个栏目（链接名或名称，例如 shen-du-hao-wen）")
@click.option("--author", "default_author", metavar="NAME", help="文中没有写明作者时使用的作者署名")
def import_command(files: tuple[Path, ...], column_key: str | None, default_author: str | None) -> None:
    """Import plain-text or Markdown files copied from a WeChat official account as drafts.

    Prints one line per file (id, slug, title); a file that cannot be imported is reported with
    the reason and the others still import. Exits with status 1 if any file failed. A file whose
    title cannot be found is imported, with a warning, as 「（未识别标题）<file name>」: the editor
    list shows the marker and a search for it finds every such draft (no schema change needed).
    """
    column_id = _column_id(column_key) if column_key else None
    max_chars = current_app.config["CMS_MAX_BODY_CHARS"]
    failed = untitled = 0
    for path in files:
        try:
            imported = importer.read_article_file(path, max_chars, site_zone())
            article = service.create_article(
                service.ArticleInput(
                    title=imported.title, summary=imported.summary, body=imported.body,
                    author_name=imported.author_name or remove_unstorable(default_author or "").strip(),
                    column_id=column_id,
                    # A placeholder title would give a slug that outlives it: name the page after the file.
                    slug=_file_slug(path) if imported.title_missing else "",
                ),
                actor=None,
                # Where the text came from, for editors: in the revision list, not in the body. A
                # file name may hold control characters, or lone surrogates (undecodable bytes).
                note=imported.editor_note(remove_unstorable(path.name)),
            )
        except DomainError as error:
            failed += 1
            click.echo(_("%(path)s：导入失败：%(reason)s", path=path, reason=error.message), err=True)
            continue
        click.echo(f"{article.id}  {article.slug}  {article.title}")
        if imported.title_missing:
            untitled += 1
            click.echo(_("%(path)s：注意：没有识别出标题，草稿暂以「%(title)s」为题，请在发布前补写标题",
                         path=path, title=article.title), err=True)
    imported_count = len(files) - failed
    click.echo(_("共导入 %(ok)s 篇草稿，%(failed)s 个文件失败", ok=imported_count, failed=failed))
    if untitled:
        click.echo(_("其中 %(n)s 篇没有识别出标题：在文章管理中搜索“%(prefix)s”可找到它们",
                     n=untitled, prefix=importer.UNTITLED_PREFIX.strip("（）")))
    if failed:
        click.get_current_context().exit(1)


def _file_slug(path: Path) -> str:
    return unused_slug(Article.slug, pinyin_slug(path.stem) or "article")


def _column_id(key: str) -> int:
    column = db.session.scalar(select(ArticleColumn).where(or_(ArticleColumn.slug == key, ArticleColumn.name == key)))
    if column is None:
        known = db.session.scalars(select(ArticleColumn.slug).order_by(ArticleColumn.position, ArticleColumn.id))
        raise click.ClickException(
            _("没有这个栏目：%(key)s（现有栏目：%(known)s）", key=key, known="、".join(known) or _("无"))
        )
    return column.id


@cms_cli.command("rerender")
def rerender_command() -> None:
    """Re-render the cached HTML of every revision written by an older renderer."""
    total, after_id = 0, 0
    while True:
        count, after_id = _rerender_batch(after_id)
        if count == 0:
            break
        total += count
    click.echo(_("已重新渲染 %(n)s 个版本（渲染器版本 %(version)s）", n=total, version=rendering.RENDERER_VERSION))


@write_transaction
def _rerender_batch(after_id: int) -> tuple[int, int]:
    """One short transaction per batch, so the site keeps saving articles while this runs.

    Only body_html and renderer_version change: the revision's content stays as it was written."""
    revisions = db.session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.renderer_version < rendering.RENDERER_VERSION, ArticleRevision.id > after_id)
        .order_by(ArticleRevision.id)
        .limit(RERENDER_BATCH)
    ).all()
    for revision in revisions:
        revision.body_html = rendering.render_markdown(revision.body)
        revision.renderer_version = rendering.RENDERER_VERSION
    if revisions:
        content_changed()
    return len(revisions), (revisions[-1].id if revisions else after_id)


@cms_cli.command("flush-counts")
def flush_counts_command() -> None:
    """Write the buffered article views and booking-card clicks now.

    With REDIS_URL set this writes what every process buffered; without it, a process flushes only
    its own memory, so this command has nothing to write (the workers flush every
    CMS_COUNT_FLUSH_SECONDS and at exit). Exits with status 1 if the database refused a batch (it
    stays buffered)."""
    report = count_buffer.flush_counts()
    click.echo(_("已写入 %(events)s 条记录：阅读 +%(views)s，卡片点击 +%(clicks)s", events=report.events,
                 views=report.views, clicks=report.clicks))
    if report.failed:
        click.echo(_("写入中断：数据库暂不可用，未写入的记录留待下次写入"), err=True)
        raise SystemExit(1)


@media_cli.command("migrate")
def migrate_media_command() -> None:
    """Copy every uploaded image (each MediaFile row) from CMS_UPLOAD_FOLDER to the S3 bucket.

    An image the bucket has already (same size and MD5) is skipped, so the command may be run
    again after an interruption, and again after switching MEDIA_STORAGE to s3 for the images
    uploaded in between. Nothing is deleted locally. Exits with status 1 if any image is missing
    from the folder, or if the bucket stopped answering (what was copied stays copied)."""
    config = current_app.config
    if not config.get("S3_BUCKET"):
        raise click.ClickException(
            _("请先设置 S3_BUCKET（以及 S3_ENDPOINT_URL、S3_ACCESS_KEY_ID、S3_SECRET_ACCESS_KEY）"))
    source = storage.LocalFolder(config["CMS_UPLOAD_FOLDER"])
    bucket = storage.s3_bucket(storage.S3Settings.from_config(config))
    counts: Counter[str] = Counter()
    try:
        for name, content_type in _media_files():
            outcome = storage.copy_object(source, bucket, name, content_type)
            counts[outcome] += 1
            if outcome == storage.MISSING:
                click.echo(_("%(name)s：本地文件不存在（%(folder)s）", name=name, folder=source.folder), err=True)
    except storage.StorageUnavailable as error:
        click.echo(_migrate_summary(counts))
        raise click.ClickException(_("对象存储没有响应，迁移中断：%(reason)s。已复制的图片保留，再次运行会继续",
                                     reason=error)) from error
    click.echo(_migrate_summary(counts))
    if config["MEDIA_STORAGE"] != "s3":
        click.echo(_("注意：MEDIA_STORAGE 仍是 %(storage)s，网站仍从本地文件夹提供图片。改为 s3 并重启后，"
                     "请再运行一次本命令，补上期间新上传的图片", storage=config["MEDIA_STORAGE"]))
    if counts[storage.MISSING]:
        raise SystemExit(1)


def _migrate_summary(counts: Counter[str]) -> str:
    return _("已复制 %(copied)s 张图片，存储中已有（跳过）%(skipped)s 张，本地缺失 %(missing)s 张",
             copied=counts[storage.COPIED], skipped=counts[storage.SKIPPED], missing=counts[storage.MISSING])


def _media_files():
    """(filename, content_type) of every MediaFile, in batches: no long read transaction."""
    after_id = 0
    while True:
        rows = db.session.execute(
            select(MediaFile.id, MediaFile.filename, MediaFile.content_type)
            .where(MediaFile.id > after_id).order_by(MediaFile.id).limit(MIGRATE_BATCH)
        ).all()
        db.session.rollback()  # ends the read before the batch's uploads
        if not rows:
            return
        for row in rows:
            yield row.filename, row.content_type
        after_id = rows[-1].id
