"""The public reads of the CMS: who may see what, lists, search, one article's page, feed, figures."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import RegistrationStatus
from app.catalog import service as catalog
from app.cms import queries, service
from app.cms.service import ArticleInput
from app.common.time import utcnow
from app.extensions import db
from tests.factories import (
    days_ago,
    editor,
    make_column,
    make_course,
    make_editor,
    make_session,
    make_user,
    write_article,
)
from tests.helpers import flushed_counts


@pytest.fixture
def cms(app, ctx):
    make_editor(app)


def _titles(articles) -> list[str]:
    return [article.title for article in articles]


def test_only_published_and_due_scheduled_articles_are_public(cms):
    now = utcnow()
    write_article("已发布的文章", slug="published", publish_at=days_ago(1))
    write_article("草稿文章", slug="draft", status="draft")
    write_article("已归档的文章", slug="archived", status="archived")
    write_article("定时文章", slug="scheduled", status="scheduled", publish_at=now + timedelta(hours=2))

    assert _titles(queries.article_list(1, now=now).items) == ["已发布的文章"]
    assert queries.article_page("draft", now) is None
    assert queries.article_page("archived", now) is None
    assert queries.article_page("scheduled", now) is None

    # No job runs: once its time has come the scheduled article simply is public.
    later = now + timedelta(hours=3)
    assert _titles(queries.article_list(1, now=later).items) == ["定时文章", "已发布的文章"]
    scheduled = queries.article_page("scheduled", later).article
    assert scheduled.title == "定时文章"
    assert queries.is_public_article(scheduled.id, later) and not queries.is_public_article(scheduled.id, now)
    assert [e.article.title for e in queries.feed_articles(now=later)] == ["定时文章", "已发布的文章"]


def test_lists_are_newest_first_paginated_and_filter_by_column_and_tag(cms):
    cases = make_column("客户案例", "cases")
    news = make_column("品牌资讯", "news")
    for number in range(12):
        write_article(f"案例 {number:02d}", slug=f"case-{number}", column_id=cases, publish_at=days_ago(20 - number),
                      tags=("小红书",) if number % 3 == 0 else ())
    write_article("品牌新闻", slug="news-1", column_id=news, tags=("小红书",))

    first = queries.article_list(1)
    assert (first.total, first.pages, len(first.items)) == (13, 2, 10)
    assert first.items[0].title == "品牌新闻" and not first.has_prev and first.has_next
    second = queries.article_list(2)
    assert _titles(second.items) == ["案例 02", "案例 01", "案例 00"] and second.has_prev and not second.has_next

    by_column = queries.article_list(1, column_slug="news")
    assert _titles(by_column.items) == ["品牌新闻"]
    assert queries.article_list(2, column_slug="cases").total == 12
    by_tag = queries.article_list(1, tag_slug="xiao-hong-shu")
    assert _titles(by_tag.items) == ["品牌新闻", "案例 09", "案例 06", "案例 03", "案例 00"]
    assert [c.name for c in queries.columns()] == ["客户案例", "品牌资讯"]

    # Silly page numbers neither fail nor run a giant OFFSET.
    assert queries.article_list(-3).page == 1
    assert queries.article_list(10**30).items == []


def test_search_finds_chinese_substrings_in_title_summary_and_body(cms):
    write_article("直播带货复盘", slug="live", body="我们在小红书运营上踩过的坑，都在这里。")
    write_article("抖音投流心得", slug="douyin", summary="适合小红书转型的商家")
    write_article("标题里有小红书", slug="title")
    write_article("京东店铺装修", slug="jd", body="与任何种草平台无关。")
    write_article("小红书草稿", slug="xhs-draft", status="draft", body="小红书")

    found = queries.search("小红书", 1)
    assert sorted(_titles(found.items)) == ["抖音投流心得", "标题里有小红书", "直播带货复盘"]
    assert found.total == 3
    assert _titles(queries.search("  小红书   运营 ", 1).items) == ["直播带货复盘"]  # every word must match
    assert queries.search("", 1).items == [] and queries.search(None, 1).total == 0


def test_search_takes_percent_and_underscore_literally(cms):
    write_article("复购率提升 30%", slug="pct", body="ROI 翻倍")
    write_article("新品 冷启动", slug="underscore", body="变量名 user_id 出现在正文")
    write_article("普通文章", slug="plain", body="没有特殊字符 30 userid")

    assert _titles(queries.search("%", 1).items) == ["复购率提升 30%"]
    assert _titles(queries.search("30%", 1).items) == ["复购率提升 30%"]
    assert _titles(queries.search("_", 1).items) == ["新品 冷启动"]
    assert _titles(queries.search("user_id", 1).items) == ["新品 冷启动"]


def test_article_page_has_latest_html_tags_related_and_neighbours(cms):
    cases = make_column("客户案例", "cases")
    other = make_column("品牌资讯", "news")
    older = write_article("老案例", slug="older", column_id=cases, publish_at=days_ago(5))
    write_article("更老案例", slug="oldest", column_id=cases, publish_at=days_ago(6))
    main = write_article("主文章", slug="main", column_id=cases, tags=("小红书", "种草"), publish_at=days_ago(4),
                         body="# 第一版")
    newer = write_article("新案例", slug="newer", column_id=cases, publish_at=days_ago(3))
    write_article("同标签他栏", slug="tagged", column_id=other, tags=("种草",), publish_at=days_ago(2))
    write_article("无关文章", slug="unrelated", column_id=other, publish_at=days_ago(1))
    write_article("同栏草稿", slug="cases-draft", column_id=cases, status="draft")
    service.save_article(main, ArticleInput(title="主文章", body="## 第二版\n\n**加粗**", column_id=cases,
                                            tag_names=["小红书", "种草"]), editor())

    page = queries.article_page("main")
    assert "第二版" in page.body_html and "<strong>加粗</strong>" in page.body_html and "第一版" not in page.body_html
    assert sorted(tag.name for tag in page.tags) == ["小红书", "种草"]
    assert _titles(page.related) == ["同标签他栏", "新案例", "老案例", "更老案例"]
    assert (page.previous.id, page.next.id) == (older, newer)
    assert page.article.column.name == "客户案例"

    newest = queries.article_page("newer")
    assert newest.previous.id == main and newest.next is None
    assert queries.article_page("oldest").previous is None


def test_related_are_at_most_four_newest_and_an_article_without_column_has_no_neighbours(cms):
    for number in range(6):
        write_article(f"同标签 {number}", slug=f"same-{number}", tags=("私域",), publish_at=days_ago(10 - number))
    lone = write_article("孤立文章", slug="lone", tags=("私域",), publish_at=days_ago(1))
    page = queries.article_page("lone")
    assert page.article.id == lone
    assert _titles(page.related) == ["同标签 5", "同标签 4", "同标签 3", "同标签 2"]
    assert page.previous is None and page.next is None


def test_booking_cards_show_published_sessions_with_their_course(cms):
    course = make_course("快速玩转小红书成长特训营", slug="xhs")
    shown = make_session(course, capacity=60)
    hidden = make_session(course, published=False)
    hidden_course = make_session(make_course("内部课程", published=False, slug="internal"))
    cards = catalog.published_sessions([shown, hidden, hidden_course, 99999])
    assert list(cards) == [shown]
    assert cards[shown].course.title == "快速玩转小红书成长特训营"
    assert catalog.published_sessions([]) == {}


def test_sitemap_lists_public_pages_only(cms):
    make_course("快速玩转小红书成长特训营", slug="xhs")
    make_course("内部课程", published=False, slug="internal")
    make_column("深度好文", "deep")
    write_article("公开文章", slug="public")
    write_article("草稿", slug="secret-draft", status="draft")
    write_article("定时", slug="secret-scheduled", status="scheduled")
    entries = {(e.endpoint, e.values.get("slug")) for e in queries.sitemap_entries()}
    assert {("cms.article", "public"), ("catalog.course", "xhs"), ("cms.column", "deep"), ("main.index", None),
            ("cms.articles", None), ("catalog.courses", None)} <= entries
    slugs = {slug for _, slug in entries}
    assert not slugs & {"secret-draft", "secret-scheduled", "internal"}


def test_figures_count_views_clicks_and_attributed_bookings(app, cms):
    read = write_article("转化文章", slug="converts")
    unread = write_article("无人阅读", slug="unread")
    session_id = make_session()
    for visitor in ("a", "b", "c", "d"):
        service.record_view(read, visitor)
    service.record_card_click(read, "clicker-a")
    service.record_card_click(read, "clicker-b")
    flushed_counts(app)
    readers = [make_user(app, f"reader{n}@example.com", name="读者", phone=f"1390000000{n}") for n in range(7)]
    kept = booking.book_seat(db.session.get(User, readers[0]), session_id, source=f"article:{read}")
    dropped = booking.book_seat(db.session.get(User, readers[1]), session_id, source=f"article:{read}")
    # Any status counts: the article brought them, even if they cancelled later.
    booking.cancel_registration(dropped.registration.id, db.session.get(User, readers[1]))
    booking.book_seat(db.session.get(User, readers[2]), session_id, source=f"article:{read}1")  # a lookalike id
    booking.book_seat(db.session.get(User, readers[3]), session_id, source="web")
    # Sources that merely resemble an article's are not its bookings either.
    for reader, source in zip(readers[4:], ("article", f"articles:{read}", f"ARTICLE:{read}"), strict=True):
        booking.book_seat(db.session.get(User, reader), session_id, source=source)
    assert kept.registration.status is RegistrationStatus.CONFIRMED

    figures = {row.article_id: row for row in queries.article_figures()}
    assert (figures[read].views, figures[read].card_clicks, figures[read].bookings) == (4, 2, 2)
    assert figures[read].conversion == pytest.approx(0.5)
    assert (figures[unread].views, figures[unread].bookings, figures[unread].conversion) == (0, 0, 0)
    assert [row.article_id for row in queries.article_figures([unread])] == [unread]
    assert queries.article_figures([]) == []
