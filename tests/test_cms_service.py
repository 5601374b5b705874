"""Writing articles through app/cms/service.py: the rules an editor relies on, revisions, publishing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.cms import service
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
    RevisionNotFound,
    SlugInvalid,
    SlugTaken,
    TextTooLong,
    TitleRequired,
    TitleTooLong,
    UnknownSessionInCard,
)
from app.cms.models import Article, ArticleRevision, ArticleStatus, Tag
from app.common.time import utcnow
from app.extensions import db
from tests.factories import make_session

TITLE = "小红书运营的10个细节"


@pytest.fixture
def editor(ctx, admin):
    return db.session.get(User, admin)


def draft(editor, **fields) -> Article:
    return service.create_article(service.ArticleInput(**{"title": TITLE, **fields}), editor)


def revisions(article_id: int) -> list[ArticleRevision]:
    return list(db.session.scalars(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id).order_by(ArticleRevision.number)
    ))


def refused_and_nothing_written(article_id: int | None, error_type, call):
    """The call raises `error_type`; the article and its revisions are as they were."""
    before = [(r.number, r.title, r.body) for r in revisions(article_id)] if article_id else None
    count = db.session.scalar(select(func.count()).select_from(Article))
    with pytest.raises(error_type) as caught:
        call()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Article)) == count
    if article_id:
        assert [(r.number, r.title, r.body) for r in revisions(article_id)] == before
    return caught.value


# --- creating and saving ------------------------------------------------------------------------

def test_a_new_article_is_a_draft_with_revision_one_and_its_html_cached(editor):
    article = draft(editor, body="## 第一步\n\n找准定位", summary="导读", author_name="玺承集团",
                    tag_names=["小红书", " 种草 ", "小红书", ""])
    assert article.status is ArticleStatus.DRAFT and article.publish_at is None
    assert article.slug == "xiao-hong-shu-yun-ying-de-10-ge-xi-jie"
    assert article.revision_number == 1 and article.created_by_id == editor.id
    assert [tag.name for tag in article.tags] == ["小红书", "种草"]
    (revision,) = revisions(article.id)
    assert revision.number == 1 and revision.title == TITLE and revision.tag_names == "小红书, 种草"
    assert revision.body_html == "<h2>第一步</h2>\n<p>找准定位</p>\n"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "article.create"))
    assert entry.actor_id == editor.id and entry.after["article_id"] == article.id


def test_generated_slugs_are_pinyin_and_unique(editor):
    first, second, third = draft(editor), draft(editor), draft(editor)
    assert [first.slug, second.slug, third.slug] == [
        "xiao-hong-shu-yun-ying-de-10-ge-xi-jie",
        "xiao-hong-shu-yun-ying-de-10-ge-xi-jie-2",
        "xiao-hong-shu-yun-ying-de-10-ge-xi-jie-3",
    ]
    assert draft(editor, title="WeChat 私域：2025 复盘").slug == "wechat-si-yu-2025-fu-pan"
    assert draft(editor, title="🎉🎉").slug == "article"
    long_slugs = {draft(editor, title="小红书" * 40).slug for _ in range(3)}  # pinyin cut at 80 characters
    assert len(long_slugs) == 3 and all(len(slug) <= 80 for slug in long_slugs)


def test_a_slug_another_article_has_is_refused_on_create_and_on_save(editor):
    taken = draft(editor, slug="xhs-guide")
    other = draft(editor, title="抖音直播")
    refused_and_nothing_written(None, SlugTaken, lambda: draft(editor, slug="xhs-guide"))
    error = refused_and_nothing_written(
        other.id, SlugTaken,
        lambda: service.save_article(other.id, service.ArticleInput(title="抖音直播", slug="xhs-guide"), editor),
    )
    assert error.field == "slug" and "已被其他文章使用" in str(error.message)
    assert db.session.get(Article, taken.id).slug == "xhs-guide"


@pytest.mark.parametrize("slug", ["Has Space", "中文", "a--b", "-a", "a_b", "a" * 121, "a/b"])
def test_a_malformed_slug_is_refused(editor, slug):
    error = refused_and_nothing_written(None, SlugInvalid, lambda: draft(editor, slug=slug))
    assert error.field == "slug"


def test_an_emptied_slug_keeps_the_current_one_and_an_upper_case_one_is_lowered(editor):
    article = draft(editor, slug="xhs-guide")
    article = service.save_article(article.id, service.ArticleInput(title="新标题", slug=""), editor)
    assert article.slug == "xhs-guide"
    article = service.save_article(article.id, service.ArticleInput(title="新标题", slug=" XHS-2025 "), editor)
    assert article.slug == "xhs-2025"


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_an_empty_title_is_refused(editor, title):
    error = refused_and_nothing_written(None, TitleRequired, lambda: draft(editor, title=title))
    assert error.field == "title" and str(error.message) == "请填写标题"


def test_a_title_longer_than_its_column_is_refused(editor):
    error = refused_and_nothing_written(None, TitleTooLong, lambda: draft(editor, title="长" * 201))
    assert error.field == "title" and "200" in str(error.message)


def test_a_one_megabyte_body_is_refused_with_the_limit_in_the_message(editor):
    article = draft(editor, body="原文")
    error = refused_and_nothing_written(
        article.id, BodyTooLong,
        lambda: service.save_article(article.id, service.ArticleInput(title=TITLE, body="字" * 1_000_000), editor),
    )
    assert error.field == "body"
    assert "200,000" in str(error.message) and "1,000,000" in str(error.message)


def test_a_body_at_the_limit_is_accepted(editor):
    article = draft(editor, body="a" * 200_000)
    assert len(article.body) == 200_000


def test_a_booking_card_for_an_unknown_session_is_refused_with_its_ids(editor):
    known = make_session()
    body = f"开营啦\n\n[[session:{known}]]\n\n[[session:{known + 100}]]\n\n[[session:{known + 200}]]"
    error = refused_and_nothing_written(None, UnknownSessionInCard, lambda: draft(editor, body=body))
    assert error.field == "body" and error.session_ids == [known + 100, known + 200]
    assert f"{known + 100}、{known + 200}" in str(error.message)
    article = draft(editor, body=f"开营啦\n\n[[session:{known}]]")
    assert f'data-session-id="{known}"' in revisions(article.id)[0].body_html


def test_an_unknown_column_or_cover_image_is_refused(editor):
    refused_and_nothing_written(None, ColumnNotFound, lambda: draft(editor, column_id=999))
    error = refused_and_nothing_written(None, CoverImageNotFound, lambda: draft(editor, cover_image="nope.png"))
    assert error.message


def test_nul_characters_are_dropped_so_postgresql_accepts_the_text(editor):
    article = draft(editor, title="标\x00题", body="正\x00文", summary="导\x00读")
    assert (article.title, article.body, article.summary) == ("标题", "正文", "导读")


def test_tags_are_created_once_trimmed_and_at_most_ten(editor):
    names = [f"标签{n}" for n in range(12)]
    article = draft(editor, tag_names=["小红书", *names])
    assert len(article.tags) == 10 and "小红书" in {tag.name for tag in article.tags}
    again = draft(editor, tag_names=["小红书", " 小红书 ", "a,b"])
    assert sorted(tag.name for tag in again.tags) == ["a", "b", "小红书"]
    assert db.session.scalar(select(func.count()).select_from(Tag).where(Tag.name == "小红书")) == 1
    slugs = list(db.session.scalars(select(Tag.slug)))
    assert len(slugs) == len(set(slugs)) and "xiao-hong-shu" in slugs


def test_every_save_writes_the_next_revision_with_its_html(editor):
    article = draft(editor, body="第一版")
    for number, body in ((2, "第二版"), (3, "**第三版**")):
        article = service.save_article(article.id, service.ArticleInput(title=TITLE, body=body), editor,
                                       base_revision=number - 1)
        assert article.revision_number == number
    saved = revisions(article.id)
    assert [(r.number, r.body) for r in saved] == [(1, "第一版"), (2, "第二版"), (3, "**第三版**")]
    assert saved[-1].body_html == "<p><strong>第三版</strong></p>\n"
    assert all(r.renderer_version >= 1 for r in saved)


def test_a_save_based_on_an_older_revision_is_refused_and_loses_nothing(editor):
    article = draft(editor, body="原文")
    service.save_article(article.id, service.ArticleInput(title=TITLE, body="甲的修改"), editor, base_revision=1)
    error = refused_and_nothing_written(
        article.id, ArticleChanged,
        lambda: service.save_article(article.id, service.ArticleInput(title=TITLE, body="乙的修改"), editor,
                                     base_revision=1),
    )
    assert error.field is None and "其他人" in str(error.message)
    assert db.session.get(Article, article.id).body == "甲的修改"


def test_saving_an_unknown_article_is_refused(editor):
    with pytest.raises(ArticleNotFound):
        service.save_article(12345, service.ArticleInput(title=TITLE), editor)


# --- publishing ---------------------------------------------------------------------------------

def test_publishing_makes_an_article_public_now_and_republishing_keeps_the_first_date(editor):
    article = draft(editor)
    now = utcnow()
    article = service.publish_article(article.id, editor, now=now)
    assert article.status is ArticleStatus.PUBLISHED and article.publish_at == now and article.is_public(now)
    article = service.unpublish_article(article.id, editor)
    assert article.status is ArticleStatus.DRAFT and not article.is_public(now + timedelta(days=1))
    later = now + timedelta(days=2)
    article = service.publish_article(article.id, editor, now=later)
    assert article.publish_at == now  # the date readers first saw
    actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["article.create", "article.publish", "article.unpublish", "article.publish"]


def test_a_scheduled_article_becomes_public_on_time_with_no_job(editor):
    article = draft(editor)
    now = utcnow()
    at = now + timedelta(hours=3)
    article = service.schedule_article(article.id, at, editor, now=now)
    assert article.status is ArticleStatus.SCHEDULED and article.publish_at == at
    assert not article.is_public(now) and not article.is_public(at - timedelta(seconds=1))
    assert article.is_public(at)


def test_scheduling_in_the_past_or_without_a_time_is_refused(editor):
    article = draft(editor)
    now = utcnow()
    for when in (now, now - timedelta(minutes=1)):
        error = refused_and_nothing_written(
            article.id, PublishAtInPast, lambda when=when: service.schedule_article(article.id, when, editor, now=now)
        )
        assert error.field == "publish_at"
    with pytest.raises(PublishAtRequired):
        service.schedule_article(article.id, None, editor, now=now)
    assert db.session.get(Article, article.id).status is ArticleStatus.DRAFT


def test_archiving_hides_an_article(editor):
    article = service.publish_article(draft(editor).id, editor)
    article = service.archive_article(article.id, editor)
    assert article.status is ArticleStatus.ARCHIVED and not article.is_public(utcnow())


# --- revisions ----------------------------------------------------------------------------------

def test_restoring_writes_a_new_revision_copying_the_old_one(editor):
    article = draft(editor, body="第一版正文", tag_names=["小红书"], summary="旧导读")
    service.publish_article(article.id, editor)
    service.save_article(article.id, service.ArticleInput(title="改过的标题", body="第二版", tag_names=["抖音"]),
                         editor)
    article = service.restore_revision(article.id, 1, editor)
    assert article.revision_number == 3 and article.status is ArticleStatus.PUBLISHED
    assert (article.title, article.body, article.summary) == (TITLE, "第一版正文", "旧导读")
    assert [tag.name for tag in article.tags] == ["小红书"]
    restored = revisions(article.id)[-1]
    assert restored.number == 3 and restored.note == "恢复自第 1 版"
    assert restored.body_html == "<p>第一版正文</p>\n"
    with pytest.raises(RevisionNotFound):
        service.restore_revision(article.id, 9, editor)


def test_the_diff_shows_lines_added_and_removed(editor):
    article = draft(editor, body="第一段\n第二段\n第三段", tag_names=["小红书"])
    service.save_article(article.id, service.ArticleInput(
        title=TITLE, body="第一段\n第二段（改）\n第三段\n第四段", tag_names=["小红书", "种草"]), editor)
    diff = [(line.field, line.kind, line.text) for line in service.revision_diff(article.id, 2)]
    assert diff == [
        ("title", "same", TITLE),
        ("body", "same", "第一段"),
        ("body", "removed", "第二段"),
        ("body", "added", "第二段（改）"),
        ("body", "same", "第三段"),
        ("body", "added", "第四段"),
        ("tags", "same", "小红书"),
        ("tags", "added", "种草"),
    ]
    first = service.revision_diff(article.id, 1)
    assert {line.kind for line in first} == {"added"} and ("body", "第三段") in {(x.field, x.text) for x in first}
    with pytest.raises(RevisionNotFound):
        service.revision_diff(article.id, 3)


def test_the_same_tags_in_another_order_are_not_a_change(editor):
    article = draft(editor, body="正文", tag_names=["种草", "小红书", "抖音"])
    service.save_article(article.id, service.ArticleInput(
        title=TITLE, body="正文", tag_names=["抖音", "小红书", "种草"]), editor)
    first, second = revisions(article.id)
    assert first.tag_names == second.tag_names == ", ".join(sorted(["种草", "小红书", "抖音"]))
    assert {line.kind for line in service.revision_diff(article.id, 2) if line.field == "tags"} == {"same"}
    # A revision saved before tags were stored sorted still compares by its tags, not their order.
    db.session.execute(update(ArticleRevision).where(ArticleRevision.id == first.id)
                       .values(tag_names="种草, 小红书, 抖音"))
    db.session.commit()
    assert {line.kind for line in service.revision_diff(article.id, 2) if line.field == "tags"} == {"same"}


def test_restoring_keeps_the_current_slug_when_another_article_took_the_old_one(editor):
    article = draft(editor, slug="old-name")
    service.save_article(article.id, service.ArticleInput(title=TITLE, slug="new-name"), editor)
    other = draft(editor, title="另一篇", slug="old-name")
    article = service.restore_revision(article.id, 1, editor)
    assert article.slug == "new-name" and db.session.get(Article, other.id).slug == "old-name"


def test_columns_get_pinyin_slugs_and_need_a_unique_name(ctx):
    column = service.create_column("深度好文", position=1)
    assert column.slug == "shen-du-hao-wen" and column.position == 1
    assert service.create_column("客户案例", slug="cases").slug == "cases"
    with pytest.raises(ColumnNameTaken):
        service.create_column(" 深度好文 ")
    with pytest.raises(ColumnNameRequired):
        service.create_column("  ")


def test_author_and_seo_description_longer_than_their_columns_are_refused(editor):
    error = refused_and_nothing_written(None, TextTooLong, lambda: draft(editor, author_name="玺" * 51))
    assert error.field == "author_name" and "50" in str(error.message)
    error = refused_and_nothing_written(None, TextTooLong, lambda: draft(editor, seo_description="描" * 301))
    assert error.field == "seo_description"
