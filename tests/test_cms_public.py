"""The public article pages as readers use them: read on a phone, share, search, follow a booking card."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.booking.models import Registration
from app.catalog.models import CampSession
from app.cms import queries, service
from app.cms.models import Article
from app.common.time import utcnow
from app.extensions import db
from tests.factories import make_column, make_course, make_editor, make_session, upload_png, write_article
from tests.helpers import flushed_counts, statements_for, submit_form

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def editor_id(app):
    return make_editor(app)


def _in_app(app, function, *args, **kwargs):
    with app.app_context():
        try:
            return function(*args, **kwargs)
        finally:
            db.session.remove()


def _article(app, *args, **kwargs) -> int:
    return _in_app(app, write_article, *args, **kwargs)


def _views(app, article_id: int) -> int:
    """The article's reading count once the flusher has written the buffered views."""
    flushed_counts(app)
    with app.app_context():
        return db.session.get(Article, article_id).view_count


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_article_page_reads_well_and_is_ready_to_share(app, client, editor_id):
    with app.app_context():
        column = make_column("客户案例", "cases")
        cover = upload_png()
        write_article("更早的案例", slug="earlier", column_id=column, publish_at=datetime(2025, 8, 30, tzinfo=UTC))
        article_id = write_article(
            "从 0 到月销百万：一家女装店的小红书之路", slug="xhs-story", column_id=column, cover=cover,
            summary="三个月，一个团队，一套打法。", seo="女装店做小红书的完整复盘", tags=("小红书", "客户案例"),
            # 2025-09-01 02:30 UTC is 10:30 in Shanghai.
            publish_at=datetime(2025, 9, 1, 2, 30, tzinfo=UTC),
            body="## 背景\n\n第一段。\n\n- 种草\n- 转化\n\n> 引用\n\n| 月份 | 销售额 |\n| --- | --- |\n| 9月 | 100万 |",
        )
        write_article("后来的案例", slug="later", column_id=column, publish_at=datetime(2025, 9, 2, tzinfo=UTC))

    html = _text(client.get("/articles/xhs-story"))
    assert "<title>从 0 到月销百万：一家女装店的小红书之路 · " in html
    assert '<meta name="description" content="女装店做小红书的完整复盘">' in html
    assert '<meta property="og:title" content="从 0 到月销百万：一家女装店的小红书之路">' in html
    assert '<meta property="og:description" content="女装店做小红书的完整复盘">' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:image" content="http://localhost/media/{cover}">' in html
    assert '<link rel="canonical" href="http://localhost/articles/xhs-story">' in html
    assert "玺承集团" in html and "2025年9月1日 10:30" in html
    assert "导读" in html and "三个月，一个团队，一套打法。" in html
    assert f'src="/media/{cover}"' in html
    assert "<h2>背景</h2>" in html and "<li>种草</li>" in html and "<blockquote>" in html and "<table>" in html
    assert "阅读 0" in html  # a first visit counts through its view beacon (the counting tests below)
    assert 'href="/tags/xiao-hong-shu/"' in html and "#客户案例" in html
    assert "上一篇" in html and 'href="/articles/earlier"' in html
    assert "下一篇" in html and 'href="/articles/later"' in html
    assert "相关文章" in html
    assert article_id


def test_article_without_seo_text_is_described_by_its_summary(app, client, editor_id):
    _article(app, "没有 SEO 描述", slug="plain", summary="这是导读。")
    html = _text(client.get("/articles/plain"))
    assert '<meta name="description" content="这是导读。">' in html
    assert 'property="og:image"' not in html  # no cover, no image to share


def test_titles_and_summaries_are_escaped(app, client, editor_id):
    _article(app, "<script>alert(1)</script>标题", slug="xss", summary='"><img src=x onerror=alert(1)>')
    html = _text(client.get("/articles/xss"))
    assert "<script>alert(1)</script>" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in html


def test_hidden_articles_are_404_and_absent_everywhere(app, client, editor_id):
    _article(app, "公开的文章", slug="public", body="小红书公开")
    _article(app, "草稿文章", slug="draft", status="draft", body="小红书草稿")
    _article(app, "归档文章", slug="archived", status="archived", body="小红书归档")
    scheduled = _article(app, "定时文章", slug="scheduled", status="scheduled",
                         publish_at=utcnow() + timedelta(hours=1), body="小红书定时")
    hidden = ("草稿文章", "归档文章", "定时文章")
    for slug in ("draft", "archived", "scheduled"):
        assert client.get(f"/articles/{slug}").status_code == 404
    for url in ("/articles/", "/search?q=小红书", "/feed.xml", "/sitemap.xml", "/"):
        page = _text(client.get(url))
        assert "公开的文章" in page or "/articles/public" in page, url
        assert not any(title in page for title in hidden), url
        assert not any(f"/articles/{slug}" in page for slug in ("draft", "archived", "scheduled")), url
    assert _views(app, scheduled) == 0
    assert client.get(f"/articles/{scheduled}/book/1").headers["Location"].endswith("/sessions/1/book")


def test_lists_by_column_and_tag_are_paginated(app, client, editor_id):
    with app.app_context():
        cases = make_column("客户案例", "cases", position=1)
        make_column("深度好文", "deep", position=0)
        for number in range(12):
            write_article(f"案例{number:02d}", slug=f"case-{number}", column_id=cases, tags=("私域",),
                          publish_at=utcnow() - timedelta(days=20 - number))
    first = _text(client.get("/columns/cases/"))
    assert "<h1>客户案例</h1>" in first and "案例11" in first and "案例02" in first and "案例01" not in first
    assert 'href="/columns/cases/?page=2"' in first and "第 1 / 2 页" in first
    second = _text(client.get("/columns/cases/?page=2"))
    assert "案例01" in second and "案例00" in second and "案例11" not in second
    assert "深度好文" in first and first.index("深度好文") < first.index(">客户案例</a>")  # 栏目 in their order

    tagged = _text(client.get("/tags/si-yu/"))
    assert "#私域" in tagged and "案例11" in tagged and 'href="/tags/si-yu/?page=2"' in tagged
    assert "这里还没有文章" in _text(client.get("/columns/deep/"))
    assert client.get("/columns/nope/").status_code == 404
    assert client.get("/tags/nope/").status_code == 404
    for bad in ("abc", "-4", "0", "99999999999999999999999"):
        assert client.get(f"/articles/?page={bad}").status_code == 200


def test_search_page_matches_chinese_substrings_and_literal_percent(app, client, editor_id):
    _article(app, "小红书运营的十个细节", slug="ten", body="笔记、种草与转化")
    _article(app, "复购率提升 30%", slug="pct", body="私域运营")
    _article(app, "抖音直播", slug="douyin", body="正文提到小红书矩阵号")
    page = _text(client.get("/search?q=小红书"))
    assert "小红书运营的十个细节" in page and "抖音直播" in page and "复购率" not in page
    assert "找到 2 篇" in page and 'value="小红书"' in page
    assert "复购率提升 30%" in _text(client.get("/search?q=%25"))
    nothing = _text(client.get("/search?q=%25%25%25"))
    assert "没有找到" in nothing
    assert "输入关键词" in _text(client.get("/search"))
    long_query = client.get("/search?q=" + "长" * 5000 + "&page=-1")
    assert long_query.status_code == 200


def test_odd_urls_give_404_or_an_empty_result_never_500(app, client, editor_id):
    _article(app, "小红书笔记", slug="notes")
    for url in ("/articles/%00", "/columns/%00/", "/tags/a%00b/", "/articles/" + "x" * 500, "/articles/NOTES",
                "/articles/0/book/abc"):
        assert client.get(url).status_code == 404, url
    # A NUL in the query string is refused with the reason (app/common/routing.py), not searched for.
    refused = client.get("/search?q=%00小红书%00")
    assert refused.status_code == 400 and "含有不可见的控制字符" in _text(refused)


_BEACON_RE = re.compile(r'<img class="view-beacon" src="([^"]+)"')


def _read(client, url: str, **kwargs) -> str:
    """Read an article as a browser does: the page, then the images on it (the view beacon)."""
    html = _text(client.get(url, **kwargs))
    for beacon in _BEACON_RE.findall(html):
        response = client.get(beacon, **kwargs)
        assert response.status_code == 204 and response.headers["Cache-Control"] == "no-store"
    return html


def _genuine_reader_cookie(app) -> str:
    """A reader cookie as the site issues it."""
    with app.app_context():
        return service.issue_reader()[1]


def _foreign_reader_cookies(app) -> list[str]:
    """Reader cookies the site did not issue: made up, altered, or signed with another key."""
    genuine = _genuine_reader_cookie(app)
    app.config["SECRET_KEY"], secret = "dev-only-not-secret", app.config["SECRET_KEY"]
    try:
        with app.app_context():
            other_key = service.issue_reader()[1]
    finally:
        app.config["SECRET_KEY"] = secret
    issued_long_ago = int((utcnow() - timedelta(days=3)).timestamp())
    return [other_key, "not-a-reader-id", f"{'ab' * 16}.{issued_long_ago}", genuine.split(".")[0],
            "0" * 32 + genuine[32:], genuine + "0"]


def test_a_first_visit_counts_once_through_its_beacon_and_reloads_do_not(app, client, editor_id):
    article_id = _article(app, "阅读计数", slug="count")
    first = client.get("/articles/count")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("reader=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=" in cookie  # long-lived, not a session cookie
    assert _BEACON_RE.findall(_text(first)) == [f"/articles/{article_id}/seen"]
    assert _views(app, article_id) == 0  # the page had no cookie to count yet
    assert client.get(f"/articles/{article_id}/seen").status_code == 204  # the browser loads the beacon
    assert _views(app, article_id) == 1
    for _ in range(3):
        html = _read(client, "/articles/count")
        flushed_counts(app)
        assert "view-beacon" not in html  # (the page's 阅读 N is as of when it was rendered)
    client.get(f"/articles/{article_id}/seen")
    assert _views(app, article_id) == 1

    # Someone else (another phone on the network) counts.
    _read(app.test_client(), "/articles/count", headers={"User-Agent": "MicroMessenger/8.0"})
    assert _views(app, article_id) == 2
    # A client that keeps no cookies (a script) never counts, however often it reads the page and
    # its beacon: each request is a stranger the site has not identified.
    for _ in range(5):
        _read(app.test_client(use_cookies=False), "/articles/count", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert _views(app, article_id) == 2
    # Search engines are not readers, with or without the site's cookie.
    crawler = app.test_client()
    for _ in range(2):
        html = _read(crawler, "/articles/count", headers={"User-Agent": "Mozilla/5.0 (compatible; Baiduspider/2.0)"})
        assert "view-beacon" not in html
    assert _views(app, article_id) == 2


def test_a_genuine_reader_cookie_identifies_the_reader_on_any_network(app, client, editor_id):
    article_id = _article(app, "换网络阅读", slug="networks")
    client.set_cookie("reader", _genuine_reader_cookie(app))
    for address in ("10.0.0.1", "172.16.0.9", "192.168.1.20"):  # Wi-Fi, 4G, home: one reader
        response = client.get("/articles/networks", environ_base={"REMOTE_ADDR": address})
        assert "Set-Cookie" not in response.headers  # the reader keeps the cookie they have
    assert _views(app, article_id) == 1
    stranger = app.test_client()
    stranger.set_cookie("reader", _genuine_reader_cookie(app))
    stranger.get("/articles/networks", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert _views(app, article_id) == 2


def test_forged_reader_cookies_count_no_view_and_no_card_click(app, editor_id):
    session_id = _card_session(app)
    article_id = _article(app, "伪造读者", slug="forged", body=f"[[session:{session_id}]]")
    scheduled = _article(app, "定时", slug="later", status="scheduled", publish_at=utcnow() + timedelta(hours=1))
    for value in _foreign_reader_cookies(app):
        script = app.test_client(use_cookies=False)
        headers = {"Cookie": f"reader={value}"}
        response = script.get("/articles/forged", headers=headers)
        assert response.status_code == 200 and response.headers["Set-Cookie"].startswith("reader=")
        assert script.get(f"/articles/{article_id}/seen", headers=headers).status_code == 204
        click = script.get(f"/articles/{article_id}/book/{session_id}", headers=headers)
        assert click.status_code == 302  # the reader still goes on to book; only the figure ignores it
    flushed_counts(app)
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.view_count, article.card_clicks) == (0, 0)

    # A genuine cookie counts once per window: the view, and the click.
    reader = app.test_client()
    reader.set_cookie("reader", _genuine_reader_cookie(app))
    for _ in range(3):
        _read(reader, "/articles/forged")
        reader.get(f"/articles/{article_id}/book/{session_id}")
        reader.get(f"/articles/{scheduled}/seen")  # not public yet: nothing to count
    flushed_counts(app)
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.view_count, article.card_clicks) == (1, 1)
        assert db.session.get(Article, scheduled).view_count == 0


def test_a_card_click_counts_again_after_the_window_and_crawlers_never(app, client, editor_id, monkeypatch):
    session_id = _card_session(app)
    article_id = _article(app, "卡片点击", slug="clicks", body=f"[[session:{session_id}]]")
    _read(client, "/articles/clicks")
    client.get(f"/articles/{article_id}/book/{session_id}")
    flushed_counts(app)
    monkeypatch.setitem(app.config, "CMS_VIEW_WINDOW_SECONDS", 0)
    client.get(f"/articles/{article_id}/book/{session_id}")
    client.get(f"/articles/{article_id}/book/{session_id}", headers={"User-Agent": "Googlebot/2.1"})
    flushed_counts(app)
    with app.app_context():
        assert db.session.get(Article, article_id).card_clicks == 2


def test_a_logged_in_reader_counts_once_on_every_device(app, student_client, editor_id):
    from tests.helpers import login

    article_id = _article(app, "登录读者", slug="member")
    student_client.get("/articles/member")
    other_device = app.test_client()
    login(other_device, "student@example.com", "secret-pass-1")
    other_device.get("/articles/member")
    assert _views(app, article_id) == 1


def test_a_view_counts_again_after_the_window(app, client, editor_id, monkeypatch):
    article_id = _article(app, "窗口", slug="window")
    _read(client, "/articles/window")
    flushed_counts(app)
    monkeypatch.setitem(app.config, "CMS_VIEW_WINDOW_SECONDS", 0)
    _read(client, "/articles/window")
    assert _views(app, article_id) == 2


def _card_session(app, capacity: int = 60, **kwargs) -> int:
    with app.app_context():
        course = make_course("快速玩转小红书成长特训营", slug="xhs")
        return make_session(course, capacity=capacity, city="杭州", venue="玺承集团培训中心",
                            **{"price": "3980.00", **kwargs})


def test_booking_card_shows_live_seats_and_drops_unpublished_sessions(app, client, editor_id):
    open_session = _card_session(app)
    with app.app_context():
        hidden_session = make_session(make_course("内部课", published=False, slug="internal"))
    article_id = _article(app, "带卡片的文章", slug="card", body=f"开头\n\n[[session:{open_session}]]\n\n"
                                                                  f"[[session:{hidden_session}]]\n\n结尾")
    html = _text(client.get("/articles/card"))
    assert html.count('class="booking-card"') == 1
    assert "《快速玩转小红书成长特训营》" in html and "杭州 · 玺承集团培训中心" in html and "¥3,980.00" in html
    assert "剩余 60 席" in html and "仅剩" not in html and "立即预约" in html  # nobody has booked yet
    assert f'href="/articles/{article_id}/book/{open_session}"' in html
    assert "内部课" not in html and "booking-card-slot" not in html


def _card_button(html: str) -> tuple[str, str]:
    """(href, text) of the one button on the article's booking card."""
    card = re.search(r'<aside class="booking-card".*?</aside>', html, re.S).group(0)
    [(href, text)] = re.findall(r'<a class="button[^"]*"[^>]*href="([^"]+)"[^>]*>([^<]*)</a>', card)
    return href, text.strip()


def test_a_full_session_card_offers_the_waitlist(app, client, editor_id):
    from app.booking import service as booking

    session_id = _card_session(app, capacity=1)
    with app.app_context():
        booking.change_capacity(session_id, 0)
    article_id = _article(app, "满员卡片", slug="full", body=f"[[session:{session_id}]]")
    html = _text(client.get("/articles/full"))
    assert "已满 · 可加入候补" in html and "立即预约" not in html
    assert _card_button(html) == (f"/articles/{article_id}/book/{session_id}", "加入候补")


@pytest.mark.parametrize(("session_fields", "reason"), [
    pytest.param({"registration_closes_at": utcnow() - timedelta(hours=1)}, "报名已截止", id="closed"),
    pytest.param({"starts_at": utcnow() - timedelta(hours=2)}, "已开课", id="started"),
    pytest.param({"starts_at": utcnow() - timedelta(days=3), "ends_at": utcnow() - timedelta(days=1)}, "已结束",
                 id="finished"),
    pytest.param({"registration_opens_at": datetime(2031, 3, 2, 1, 0, tzinfo=UTC),
                  "starts_at": datetime(2031, 4, 1, 1, 0, tzinfo=UTC)}, "3月2日 09:00 开放报名", id="not-open-yet"),
])
def test_a_card_for_a_session_not_bookable_now_gives_the_reason_instead_of_a_booking_button(
        app, client, editor_id, session_fields, reason):
    session_id = _card_session(app, **session_fields)
    _article(app, "不能报名的卡片", slug="closed", body=f"[[session:{session_id}]]")
    html = _text(client.get("/articles/closed"))
    assert reason in html
    assert "立即预约" not in html and "加入候补" not in html and "/book/" not in html
    assert _card_button(html) == ("/courses/xhs", "查看课程")


def test_booking_through_the_card_is_attributed_to_the_article(app, student_client, editor_id):
    session_id = _card_session(app)
    article_id = _article(app, "小红书训练营报名", slug="book-me", body=f"[[session:{session_id}]]")
    page = _text(student_client.get("/articles/book-me"))
    button = re.search(r'href="(/articles/\d+/book/\d+)"', page).group(1)

    click = student_client.get(button)
    assert click.status_code == 302
    assert click.headers["Location"] == f"/sessions/{session_id}/book?source=article:{article_id}"
    booking_page = _text(student_client.get(click.headers["Location"]))
    source = re.search(r'name="source" type="hidden" value="([^"]+)"|name="source" value="([^"]+)"', booking_page)
    assert (source.group(1) or source.group(2)) == f"article:{article_id}"
    response = submit_form(student_client, click.headers["Location"], {"source": f"article:{article_id}"})
    assert response.status_code == 302

    flushed_counts(app)
    with app.app_context():
        [registration] = db.session.scalars(select(Registration).where(Registration.session_id == session_id))
        assert registration.source == f"article:{article_id}"
        [figures] = queries.article_figures([article_id])
        assert (figures.views, figures.card_clicks, figures.bookings) == (1, 1, 1)
        assert figures.conversion == 1.0


def test_an_anonymous_card_click_keeps_the_attribution_through_login(app, client, editor_id):
    session_id = _card_session(app)
    article_id = _article(app, "匿名点击", slug="anon")
    booking_url = client.get(f"/articles/{article_id}/book/{session_id}").headers["Location"]
    login_redirect = client.get(booking_url).headers["Location"]
    assert "/account/login?next=" in login_redirect and f"article:{article_id}" in login_redirect.replace("%3A", ":")


def test_feed_is_atom_with_absolute_links_and_public_articles(app, client, editor_id):
    with app.app_context():
        column = make_column("深度好文", "deep")
        cover = upload_png()
    _article(app, "第一篇", slug="first", column_id=column, summary="第一篇导读",
             body=f"![图](/media/{cover})\n\n[课程](/courses/xhs) [外链](https://example.org/x)",
             publish_at=utcnow() - timedelta(days=2))
    _article(app, "第二篇", slug="second", publish_at=utcnow() - timedelta(days=1))
    _article(app, "草稿", slug="draft-feed", status="draft")
    response = client.get("/feed.xml")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["第二篇", "第一篇"]
    first = entries[1]
    assert first.find(f"{ATOM}link").get("href") == "http://localhost/articles/first"
    assert first.find(f"{ATOM}summary").text == "第一篇导读"
    assert first.find(f"{ATOM}category").get("label") == "深度好文"
    content = first.find(f"{ATOM}content").text
    assert f'src="http://localhost/media/{cover}"' in content and 'href="http://localhost/courses/xhs"' in content
    assert 'href="https://example.org/x"' in content
    assert 'type="application/atom+xml"' in _text(client.get("/"))  # pages announce the feed


def test_sitemap_lists_articles_courses_and_pages(app, client, editor_id):
    _card_session(app)
    _article(app, "公开", slug="in-sitemap")
    _article(app, "草稿", slug="not-in-sitemap", status="draft")
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    urls = [loc.text for loc in ET.fromstring(response.data).iter(f"{SITEMAP}loc")]
    assert {"http://localhost/", "http://localhost/articles/", "http://localhost/courses/",
            "http://localhost/courses/xhs", "http://localhost/articles/in-sitemap"} <= set(urls)
    assert not any("not-in-sitemap" in url for url in urls)


def test_media_serves_uploaded_images_and_nothing_else(app, client, editor_id):
    filename = _in_app(app, upload_png)
    response = client.get(f"/media/{filename}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for name in ("0" * 32 + ".png", "../config.py", "..%2F..%2Fconfig.py", "%2e%2e%2fwsgi.py", "..",
                 filename.upper(), filename + "/", "x.png"):
        assert client.get(f"/media/{name}").status_code == 404, name


def test_home_page_shows_latest_articles_and_upcoming_camps(app, client, editor_id):
    _card_session(app)
    with app.app_context():
        column = make_column("品牌资讯", "news")
    _article(app, "玺承新闻", slug="news-1", column_id=column)
    html = _text(client.get("/"))
    assert "最新文章" in html and "玺承新闻" in html and "近期开课" in html and "快速玩转小红书成长特训营" in html
    assert 'href="/columns/news/"' in html
    assert re.search(r'<a href="/courses/">课程</a>\s*<a href="/articles/">文章</a>', html)


def test_article_page_runs_a_fixed_number_of_queries(app, client, editor_id):
    sessions = [_card_session(app)]
    with app.app_context():
        course = db.session.get(CampSession, sessions[0]).course_id
        sessions += [make_session(course, capacity=20 + n) for n in range(2)]
        column = make_column("深度好文", "deep")
        # Related articles from several columns: showing their 栏目 must not cost a query each.
        others = [column, column, make_column("客户案例", "cases"), make_column("品牌资讯", "news"), column]
        write_article("小文章", slug="small", body=f"[[session:{sessions[0]}]]", tags=("一",))
        tags = tuple(f"标签{n}" for n in range(8))
        for number, column_id in enumerate(others):
            write_article(f"相关 {number}", slug=f"related-{number}", column_id=column_id, tags=tags[:1],
                          publish_at=utcnow() - timedelta(days=3 + number))
        write_article("大文章", slug="big", column_id=column, tags=tags,
                      body="\n\n".join(f"段落\n\n[[session:{s}]]" for s in sessions))

    # A returning reader (the site's cookie): the view is counted on the page itself.
    client.set_cookie("reader", _genuine_reader_cookie(app))
    small = statements_for(app, client, "/articles/small")
    big = statements_for(app, client, "/articles/big")
    small_html, big_html = _text(client.get("/articles/small")), _text(client.get("/articles/big"))
    assert small_html.count('class="booking-card"') == 1 and big_html.count('class="booking-card"') == 3
    assert big_html.count("article-item-title") == 4 and "article-item-title" not in small_html
    assert big_html.count('class="chip"') >= 8 and "上一篇" in big_html and ">品牌资讯</p>" in big_html
    assert len(small) == len(big), "\n".join(big)
    assert len(big) <= 8, "\n".join(big)
