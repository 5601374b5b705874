"""Shared pieces of the admin CMS tests: the editor's form as a browser posts it, reading the page back."""
from __future__ import annotations

import re

from app.cms.models import Article
from app.extensions import db
from tests.helpers import submit_form

EDITOR_FORM = {
    "title": "小红书种草的三个细节",
    "slug": "",
    "summary": "品牌做小红书，先想清楚这三件事。",
    "body": "## 先定人群\n\n笔记写给谁看，比写什么更重要。\n\n- 人群\n- 场景",
    "cover_image": "",
    "column_id": "0",
    "tags": "小红书、种草，运营",
    "seo_description": "",
    "author_name": "玺承集团",
    "publish_at": "",
}

def submit_editor(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """Post the editor as a browser does: multipart/form-data (the form carries the cover file)."""
    return submit_form(client, url, data, form_page=form_page, content_type="multipart/form-data", **kwargs)


_FIELD_BLOCK = re.compile(r'<div class="field(?: field-invalid)?">')


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown inside the form field named `name` (not elsewhere on the page)."""
    for block in _FIELD_BLOCK.split(html)[1:]:
        if f'name="{name}"' in block:
            return re.findall(r'<p class="field-error" role="alert">([^<]*)</p>', block)
    raise AssertionError(f"no field {name} on the page")


def editor_values(html: str) -> dict:
    """The editor's fields as the page shows them, as a browser would post them back."""
    values = dict(EDITOR_FORM)
    for name in ("title", "slug", "author_name", "tags", "cover_image", "base_revision", "publish_at"):
        match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
        value = re.search(r'value="([^"]*)"', match.group(0)) if match else None
        values[name] = _unescape(value.group(1)) if value else ""
    for name in ("summary", "body", "seo_description"):
        match = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
        values[name] = _unescape(match.group(1)) if match else ""
    selected = re.search(r'<select[^>]*name="column_id"[^>]*>.*?<option selected value="(\d+)"', html, re.S)
    values["column_id"] = selected.group(1) if selected else "0"
    return values


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'")
            .replace("&quot;", '"').replace("&amp;", "&"))


def only_article() -> Article:
    articles = db.session.scalars(db.select(Article)).all()
    assert len(articles) == 1, articles
    return articles[0]


def article_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Article))
