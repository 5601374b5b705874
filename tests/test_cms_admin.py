"""The article editor: writing, saving revisions, refusals that keep the typed text, publishing."""
from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.cms import editor, service
from app.cms.errors import PublishAtInPast
from app.cms.models import Article, ArticleRevision, ArticleStatus, MediaFile
from app.cms.service import ArticleInput
from app.common.time import utcnow
from app.extensions import db
from tests.factories import editor as editor_user
from tests.factories import make_column, make_editor, make_session, png_bytes, write_article
from tests.helpers import (
    EDITOR_FORM,
    article_count,
    editor_values,
    field_errors_in,
    only_article,
    submit_editor,
    submit_form,
    text_of,
)


def _edit_url(article_id: int) -> str:
    return f"/admin/articles/{article_id}/edit"


def _post_editor(client, article_id: int, action: str = "edit", **changes):
    """Open the editor, change some fields and press a button (保存 / 立即发布 / 定时发布)."""
    page = client.get(_edit_url(article_id)).get_data(as_text=True)
    url = _edit_url(article_id) if action == "edit" else f"/admin/articles/{article_id}/{action}"
    return submit_editor(client, url, {**editor_values(page), **changes}, form_page=_edit_url(article_id))


def _draft(app, **fields) -> int:
    make_editor(app)
    with app.app_context():
        return write_article(fields.pop("title", "抖音直播间的五个信号"), status="draft", **fields)


# --- writing and saving -----------------------------------------------------------------------

def test_admin_writes_a_draft_with_a_pinyin_slug_and_tags(app, admin_client):
    response = submit_editor(admin_client, "/admin/articles/new", EDITOR_FORM)

    assert response.status_code == 302
    with app.app_context():
        article = only_article()
        assert response.headers["Location"] == _edit_url(article.id)
        assert article.slug == "xiao-hong-shu-zhong-cao-de-san-ge-xi-jie"
        assert article.status is ArticleStatus.DRAFT and article.revision_number == 1
        assert {tag.name for tag in article.tags} == {"小红书", "种草", "运营"}
        assert article.author_name == "玺承集团"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "草稿已保存（第 1 版）" in page
    assert "<h2>先定人群</h2>" in page  # the preview shows the saved body rendered


def test_new_editor_offers_the_default_byline_columns_and_upcoming_sessions(app, admin_client):
    with app.app_context():
        make_column("深度好文", "shen-du-hao-wen")
        session_id = make_session()
    page = admin_client.get("/admin/articles/new").get_data(as_text=True)
    assert 'name="author_name" type="text" value="玺承集团"' in page
    assert '<option value="1">深度好文</option>' in page
    assert f'<option value="{session_id}">《快速玩转小红书成长特训营》' in page


def test_saving_writes_the_next_revision_with_who_saved_it(app, admin_client):
    article_id = _draft(app)

    response = _post_editor(admin_client, article_id, body="## 新的开头\n\n改过的正文", tags="抖音, 直播")

    assert response.status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.revision_number == 2 and article.body == "## 新的开头\n\n改过的正文"
        assert {tag.name for tag in article.tags} == {"抖音", "直播"}
        revision = db.session.scalar(db.select(ArticleRevision).filter_by(article_id=article_id, number=2))
        assert db.session.get(User, revision.created_by_id).email == "admin@example.com"
        assert "<h2>新的开头</h2>" in revision.body_html


def test_saving_without_changes_writes_no_empty_revision(app, admin_client):
    article_id = _draft(app)
    response = _post_editor(admin_client, article_id)
    assert response.status_code == 302
    assert "内容没有改动" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Article, article_id).revision_number == 1


# --- bad input: a message next to the field, and everything typed is still there ---------------

MEGABYTE_BODY = "这是一篇很长的文章。" * 105_000  # over 1 MB of UTF-8, far over the 200,000 characters allowed


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "   "}, "title", "请填写标题"),
        ({"slug": "Xiao Hong Shu!"}, "slug", "链接名只能使用小写字母、数字和连字符（-），最多 120 个字符"),
        ({"body": MEGABYTE_BODY}, "body", "正文太长：最多 200,000 个字符，当前 1,050,000 个字符"),
        ({"body": "开头\n\n[[session:987654]]\n\n[[session:123456]]"}, "body",
         "预约卡片中的场次不存在：987654、123456"),
        ({"tags": "、".join(f"标签{n}" for n in range(11))}, "tags", "最多 10 个标签"),
        ({"tags": "小红书、" + "长" * 31}, "tags", "每个标签最多 30 个字：" + "长" * 31),
        ({"author_name": "署" * 51}, "author_name", "最多 50 个字"),
        ({"column_id": "999"}, "column_id", "找不到这个栏目，请重新选择"),
    ],
    ids=["empty-title", "bad-slug", "1mb-body", "unknown-session", "11-tags", "long-tag", "long-byline", "no-column"],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_typed_is_lost(app, admin_client, changes, field, message):
    typed = {**EDITOR_FORM, "summary": "编辑辛苦写下的导读", **changes}

    response = submit_editor(admin_client, "/admin/articles/new", typed)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors_in(page, field) == [message]
    shown = editor_values(page)
    for name in ("title", "slug", "summary", "body", "tags", "author_name"):
        assert shown[name].replace("\r\n", "\n") == typed[name].replace("\r\n", "\n"), name
    with app.app_context():
        assert article_count() == 0


def test_a_taken_slug_is_refused_on_the_edit_page_with_the_typed_body_kept(app, admin_client):
    article_id = _draft(app)
    with app.app_context():
        write_article("另一篇", slug="taken", status="draft")

    response = _post_editor(admin_client, article_id, slug="taken", body="编辑新写的一段正文")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors_in(page, "slug") == ["这个链接名已被其他文章使用，请换一个"]
    assert "编辑新写的一段正文" in page
    with app.app_context():
        assert db.session.get(Article, article_id).revision_number == 1


def test_broken_markdown_is_saved_and_previewed_without_an_error(app, admin_client):
    broken = "## 未闭合的 **粗体\n\n[链接](http://\n\n<div><table><tr><td>半张表\n\n```\n没有结束的代码块"

    response = submit_editor(admin_client, "/admin/articles/new", {**EDITOR_FORM, "body": broken})

    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "没有结束的代码块" in page.get_data(as_text=True)
    with app.app_context():
        assert only_article().body == broken


def test_a_stale_save_is_refused_with_the_typed_text_kept_and_a_second_save_overwrites(app, admin_client):
    article_id = _draft(app)
    page = admin_client.get(_edit_url(article_id)).get_data(as_text=True)
    mine = {**editor_values(page), "body": "我在编辑器里写的版本"}
    assert mine["base_revision"] == "1"
    with app.app_context():  # meanwhile another admin saves revision 2
        other = db.session.scalar(db.select(User).filter_by(email="editor@example.com"))
        service.save_article(article_id, ArticleInput(title="抖音直播间的五个信号", body="同事保存的版本"), other,
                             base_revision=1)

    response = submit_editor(admin_client, _edit_url(article_id), mine, form_page=_edit_url(article_id))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "其他人已保存了更新的版本" in page
    assert "我在编辑器里写的版本" in page
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.body, article.revision_number) == ("同事保存的版本", 2)
    # The page now carries the latest revision: saving again is a deliberate overwrite.
    again = editor_values(page)
    assert again["base_revision"] == "2"
    assert submit_editor(admin_client, _edit_url(article_id), again, form_page=_edit_url(article_id)).status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.body, article.revision_number) == ("我在编辑器里写的版本", 3)


# --- publishing -------------------------------------------------------------------------------

def test_publish_now_saves_what_was_typed_then_publishes(app, admin_client):
    article_id = _draft(app)
    before = utcnow()

    response = _post_editor(admin_client, article_id, "publish", body="发布前最后改的一句")

    assert response.status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.status is ArticleStatus.PUBLISHED and article.body == "发布前最后改的一句"
        assert article.revision_number == 2 and article.publish_at >= before.replace(microsecond=0)
    assert "已发布" in admin_client.get(_edit_url(article_id)).get_data(as_text=True)


def test_publishing_an_unchanged_draft_writes_no_revision(app, admin_client):
    article_id = _draft(app)
    assert _post_editor(admin_client, article_id, "publish").status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.status is ArticleStatus.PUBLISHED and article.revision_number == 1


def test_schedule_reads_the_time_as_beijing_time(app, admin_client):
    article_id = _draft(app)

    response = _post_editor(admin_client, article_id, "schedule", publish_at="2099-09-17T09:00")

    assert response.status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.status is ArticleStatus.SCHEDULED
        assert article.publish_at == datetime(2099, 9, 17, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
        assert not article.is_public(utcnow())
    page = admin_client.get(_edit_url(article_id)).get_data(as_text=True)
    assert "2099-09-17 09:00 自动发布" in page
    assert 'name="publish_at" type="datetime-local" value="2099-09-17T09:00"' in page


def test_the_revisions_page_lists_who_published_scheduled_and_unpublished_the_article(app, admin_client):
    article_id = _draft(app)
    _post_editor(admin_client, article_id, "schedule", publish_at="2099-09-17T09:00")
    _post_editor(admin_client, article_id, "publish")
    submit_form(admin_client, f"/admin/articles/{article_id}/unpublish", {}, form_page=_edit_url(article_id))

    page = text_of(admin_client.get(f"/admin/articles/{article_id}/revisions"))

    history = page[page.index("操作记录"):]
    # Newest first, each with its status before and after.
    assert history.index("撤回文章") < history.index("发布文章") < history.index("定时发布文章")
    assert "已发布 → 草稿" in history
    assert "草稿 → 定时发布 2099-09-17 09:00" in history
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.article_id == article_id)).all()
        assert {entry.action for entry in entries} >= {"article.schedule", "article.publish", "article.unpublish"}
        assert all(entry.actor.email == "admin@example.com" for entry in entries if entry.action != "article.create")


@pytest.mark.parametrize(
    ("publish_at", "message"),
    [
        ("", "请填写定时发布时间"),
        ("2020-01-01T09:00", "定时发布时间必须晚于现在"),
        ("明天上午", "不是有效的日期与时间值"),
        ("0001-01-01T00:00", "请选择 2000 至 2100 年之间的时间"),
    ],
    ids=["empty", "past", "not-a-time", "year-1"],
)
def test_a_bad_schedule_time_saves_nothing_and_keeps_the_typing(app, admin_client, publish_at, message):
    article_id = _draft(app)

    response = _post_editor(admin_client, article_id, "schedule", publish_at=publish_at, body="准备定时发布的正文")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in " ".join(field_errors_in(page, "publish_at"))
    assert "准备定时发布的正文" in page
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.status, article.revision_number) == (ArticleStatus.DRAFT, 1)


# --- one button, one transaction: the cover, the edits and the publishing together ----------------

@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(tmp_path))
    return tmp_path


def _cover_file(name: str = "封面 𠮷.png") -> tuple:
    return io.BytesIO(png_bytes((64, 36))), name


def _media_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(MediaFile))


def _article_state(app, article_id: int) -> tuple:
    with app.app_context():
        article = db.session.get(Article, article_id)
        revisions = db.session.scalar(db.select(db.func.count()).select_from(ArticleRevision)
                                      .where(ArticleRevision.article_id == article_id))
        return article.status, article.revision_number, revisions, article.body, article.cover_image


def test_a_publish_refused_for_an_unknown_session_keeps_nothing_not_even_the_cover(app, admin_client, uploads):
    article_id = _draft(app)
    before = _article_state(app, article_id)

    response = _post_editor(admin_client, article_id, "publish", body="报名入口：\n\n[[session:987654]]",
                            cover_file=_cover_file())

    assert response.status_code == 200
    assert field_errors_in(response.get_data(as_text=True), "body") == ["预约卡片中的场次不存在：987654"]
    assert _article_state(app, article_id) == before  # still a draft, one revision, the old body, no cover
    assert _media_count(app) == 0 and os.listdir(uploads) == []


def test_a_new_article_refused_keeps_no_cover(app, admin_client, uploads):
    typed = {**EDITOR_FORM, "body": "[[session:987654]]", "cover_file": _cover_file()}

    response = submit_editor(admin_client, "/admin/articles/new", typed)

    assert response.status_code == 200
    with app.app_context():
        assert article_count() == 0
    assert _media_count(app) == 0 and os.listdir(uploads) == []


def test_a_stale_save_with_a_cover_keeps_no_cover(app, admin_client, uploads):
    article_id = _draft(app)
    page = admin_client.get(_edit_url(article_id)).get_data(as_text=True)
    with app.app_context():  # another admin saves revision 2 meanwhile
        other = db.session.scalar(db.select(User).filter_by(email="editor@example.com"))
        service.save_article(article_id, ArticleInput(title="抖音直播间的五个信号", body="同事保存的版本"), other)

    response = submit_editor(admin_client, _edit_url(article_id), {**editor_values(page), "cover_file": _cover_file()},
                             form_page=_edit_url(article_id))

    assert "其他人已保存了更新的版本" in response.get_data(as_text=True)
    assert _article_state(app, article_id)[1:4] == (2, 2, "同事保存的版本")
    assert _media_count(app) == 0 and os.listdir(uploads) == []


def test_a_schedule_refused_after_the_edits_were_written_undoes_them_and_the_cover(app, uploads):
    """The edits are valid and written first; scheduling in the past is refused after them: the
    revision, the cover's row and its file all go with it."""
    article_id = _draft(app)
    before = _article_state(app, article_id)
    cover = FileStorage(stream=_cover_file()[0], filename="封面.png", content_type="image/png")
    with app.test_request_context(), pytest.raises(PublishAtInPast):
        editor.save_and_schedule(article_id, ArticleInput(title="抖音直播间的五个信号", body="改过的正文 䶮"),
                                 utcnow() - timedelta(minutes=1), editor_user(), cover=cover)

    assert _article_state(app, article_id) == before
    assert _media_count(app) == 0 and os.listdir(uploads) == []


def test_publishing_with_a_cover_keeps_the_cover_the_edits_and_the_status_together(app, admin_client, uploads):
    article_id = _draft(app)

    response = _post_editor(admin_client, article_id, "publish", body="发布前改的一句", cover_file=_cover_file())

    assert response.status_code == 302
    status, number, revisions, body, cover = _article_state(app, article_id)
    assert (status, number, revisions, body) == (ArticleStatus.PUBLISHED, 2, 2, "发布前改的一句")
    assert os.listdir(uploads) == [cover] and _media_count(app) == 1


def test_unpublish_and_archive_take_an_article_off_the_site(app, admin_client):
    make_editor(app)
    with app.app_context():
        article_id = write_article("已经发布的文章", status="published")
    edit = _edit_url(article_id)

    assert submit_form(admin_client, f"/admin/articles/{article_id}/unpublish", {}, form_page=edit).status_code == 302
    with app.app_context():
        assert db.session.get(Article, article_id).status is ArticleStatus.DRAFT
    assert "已撤回为草稿" in admin_client.get(edit).get_data(as_text=True)

    assert submit_form(admin_client, f"/admin/articles/{article_id}/archive", {}, form_page=edit).status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.status is ArticleStatus.ARCHIVED and not article.is_public(utcnow() + timedelta(days=1))


def test_a_published_article_is_updated_in_place(app, admin_client):
    make_editor(app)
    with app.app_context():
        article_id = write_article("已经发布的文章", status="published")
    page = admin_client.get(_edit_url(article_id)).get_data(as_text=True)
    assert "保存并更新" in page and "立即发布" not in page

    assert _post_editor(admin_client, article_id, body="更正了一个错别字").status_code == 302
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.status is ArticleStatus.PUBLISHED and article.body == "更正了一个错别字"


def test_unknown_article_is_404(admin_client):
    assert admin_client.get("/admin/articles/999/edit").status_code == 404
