"""Articles for the public-page tests, written through the same service functions the editor uses."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image
from werkzeug.datastructures import FileStorage

from app.accounts.models import Role, User
from app.cms import service
from app.cms.service import ArticleInput
from app.common.time import utcnow
from app.extensions import db
from tests.factories import make_user


def make_editor(app) -> int:
    return make_user(app, "editor@example.com", Role.ADMIN, "王编辑", "13800000009")


def editor() -> User:
    return db.session.scalar(db.select(User).where(User.email == "editor@example.com"))


def days_ago(days: float) -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(days=days)


def write_article(title: str, *, body: str = "正文内容。", summary: str = "", column_id: int | None = None,
                  tags: tuple[str, ...] = (), slug: str = "", author: str = "玺承集团", cover: str | None = None,
                  seo: str = "", status: str = "published", publish_at: datetime | None = None) -> int:
    """An article in `status`: published at `publish_at` (default an hour ago), scheduled for
    `publish_at`, archived after being published, or a draft. Needs an app context and make_editor."""
    actor = editor()
    article = service.create_article(ArticleInput(
        title=title, slug=slug, summary=summary, body=body, author_name=author, seo_description=seo,
        cover_image=cover, column_id=column_id, tag_names=list(tags),
    ), actor)
    article_id = article.id
    if status in ("published", "archived"):
        when = publish_at or utcnow() - timedelta(hours=1)
        service.publish_article(article_id, actor, now=when)
    if status == "archived":
        service.archive_article(article_id, actor)
    if status == "scheduled":
        service.schedule_article(article_id, publish_at or utcnow() + timedelta(days=1), actor)
    return article_id


def make_column(name: str, slug: str, position: int = 0) -> int:
    return service.create_column(name, slug=slug, description=f"{name}栏目", position=position).id


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (215, 38, 61)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_png(name: str = "封面.png") -> str:
    """An image uploaded the way the editor does; returns its stored file name."""
    upload = FileStorage(stream=io.BytesIO(png_bytes()), filename=name, content_type="image/png")
    return service.save_image(upload, editor()).filename
