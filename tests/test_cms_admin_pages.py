"""The admin CMS around the editor: the article list with filters and figures, revisions and their
diffs, restoring, the live preview and image uploads."""
from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.cms import service
from app.cms.models import Article, ArticleStatus, MediaFile
from app.cms.service import ArticleInput
from app.common.time import utcnow
from app.extensions import db
from tests.factories import editor, make_column, make_editor, make_session, make_user, png_bytes, write_article
from tests.helpers import (
    EDITOR_FORM,
    article_count,
    csrf_token_from,
    field_errors_in,
    flushed_counts,
    only_article,
    submit_editor,
    submit_form,
)


def _titles(page: str) -> list[str]:
    return re.findall(r'<td class="[^"]*cms-title-cell">\s*<a href="[^"]+">([^<]+)</a>', page)


def _row(page: str, title: str) -> str:
    rows = [row for row in page.split("<tr>") if f">{title}</a>" in row]
    assert len(rows) == 1, title
    return rows[0]


# --- the list ---------------------------------------------------------------------------------

def test_list_filters_by_status_as_readers_see_it(app, admin_client):
    make_editor(app)
    with app.app_context():
        write_article("草稿一篇", status="draft")
        write_article("已发布一篇", status="published")
        write_article("明天发布", status="scheduled", publish_at=utcnow() + timedelta(days=1))
        write_article("已归档一篇", status="archived")
        due = write_article("定时已到", status="draft")
        an_hour_ago = utcnow() - timedelta(hours=1)
        service.schedule_article(due, an_hour_ago, editor(), now=an_hour_ago - timedelta(minutes=5))

    def titles(status: str) -> set[str]:
        return set(_titles(admin_client.get(f"/admin/articles/?status={status}").get_data(as_text=True)))

    assert titles("published") == {"已发布一篇", "定时已到"}  # its time has come: it is published
    assert titles("scheduled") == {"明天发布"}
    assert titles("draft") == {"草稿一篇"}
    assert titles("archived") == {"已归档一篇"}
    assert len(titles("")) == 5
    page = admin_client.get("/admin/articles/").get_data(as_text=True)
    assert "已发布 2</a>" in page and "定时发布 1</a>" in page and "全部 5</a>" in page
    assert "明天发布" in page and "自动发布" in _row(page, "明天发布")


def test_list_filters_by_column_and_author_and_searches_chinese_substrings(app, admin_client):
    make_editor(app)
    with app.app_context():
        cases = make_column("客户案例", "ke-hu-an-li")
        write_article("某女装品牌的小红书打法", column_id=cases, author="玺承集团", status="draft")
        write_article("抖音直播复盘", body="直播间转化率提升 50%_以上", author="张老师", status="published")
        write_article("品牌资讯", author="张老师", summary="年度大会在杭州举行", status="draft")

    def titles(query: str) -> set[str]:
        return set(_titles(admin_client.get(f"/admin/articles/?{query}").get_data(as_text=True)))

    assert titles(f"column={cases}") == {"某女装品牌的小红书打法"}
    assert titles("author=张老师") == {"抖音直播复盘", "品牌资讯"}
    assert titles("q=小红书") == {"某女装品牌的小红书打法"}  # inside a longer title
    assert titles("q=杭州") == {"品牌资讯"}  # in the 导读
    assert titles("q=50%_") == {"抖音直播复盘"}  # % and _ are literal, not wildcards
    assert titles("q=5%25") == set()
    assert titles("q=直播&author=玺承集团") == set()
    page = admin_client.get("/admin/articles/?q=没有这样的文章").get_data(as_text=True)
    assert "没有符合条件的文章" in page


def test_list_shows_views_card_clicks_bookings_and_conversion(app, admin_client):
    make_editor(app)
    with app.app_context():
        session_id = make_session(capacity=10)
        article_id = write_article("小红书训练营开营", body=f"来上课\n\n[[session:{session_id}]]")
        write_article("没人读的文章", status="draft")
        for visitor in ("a", "b", "c", "d"):
            service.record_view(article_id, service.visitor_key(None, visitor * 32))
        for clicker in ("a", "b", "c"):
            service.record_card_click(article_id, service.clicker_key(None, clicker * 32))
        flushed_counts(app)
    for number in range(2):
        user_id = make_user(app, f"reader{number}@example.com", name="读者", phone=f"1390000000{number}")
        with app.test_request_context():
            booking.book_seat(db.session.get(User, user_id), session_id, source=f"article:{article_id}")
    with app.test_request_context():  # booked from the catalogue: not the article's
        booking.book_seat(db.session.get(User, make_user(app, "web@example.com", phone="13900000009")), session_id)

    page = admin_client.get("/admin/articles/").get_data(as_text=True)

    numbers = re.findall(r'<td class="num"[^>]*>([^<]+)</td>', _row(page, "小红书训练营开营"))
    assert numbers == ["4", "3", "2", "50.0%"]
    assert re.findall(r'<td class="num"[^>]*>([^<]+)</td>', _row(page, "没人读的文章")) == ["0", "0", "0", "0.0%"]
    editor_page = admin_client.get(f"/admin/articles/{article_id}/edit").get_data(as_text=True)
    assert "<dt>带来预约</dt><dd>2</dd>" in editor_page and "<dt>转化率</dt><dd>50.0%</dd>" in editor_page


def test_list_pages_through_many_articles(app, admin_client):
    make_editor(app)
    with app.app_context():
        for number in range(23):
            write_article(f"第{number}篇", status="draft")
    first = admin_client.get("/admin/articles/").get_data(as_text=True)
    second = admin_client.get("/admin/articles/?page=2").get_data(as_text=True)
    assert len(_titles(first)) == 20 and len(_titles(second)) == 3
    assert "第 1 / 2 页" in first and not set(_titles(first)) & set(_titles(second))


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/articles/?page=99999999999999999999&column=abc&status=nope&q=%25&author=" + "长" * 80, 200),
        ("/admin/articles/99999999999999999999/edit", 404),
        ("/admin/articles/1/revisions/99999999999999999999", 404),
    ],
    ids=["wild-filters", "huge-article-id", "huge-revision-number"],
)
def test_odd_addresses_get_a_page_or_a_404_never_an_error(app, admin_client, url, status):
    make_editor(app)
    with app.app_context():
        write_article("唯一的文章", status="draft")
    assert admin_client.get(url).status_code == status


# --- revisions --------------------------------------------------------------------------------

def _article_with_two_revisions(app) -> int:
    make_editor(app)
    with app.app_context():
        article_id = write_article("直播间的五个信号", body="第一段\n旧的第二段\n第三段", tags=("抖音",),
                                   status="draft")
        service.save_article(article_id, ArticleInput(title="直播间的五个信号", body="第一段\n新的第二段\n第三段",
                                                      tag_names=["抖音", "直播"]), editor())
    return article_id


def test_revisions_list_who_saved_each_one_and_when(app, admin_client):
    article_id = _article_with_two_revisions(app)
    page = admin_client.get(f"/admin/articles/{article_id}/revisions").get_data(as_text=True)
    assert page.index("第 2 版") < page.index("第 1 版")  # newest first
    revisions = page[:page.index("操作记录")]  # the table; the history below names them again
    assert revisions.count("王编辑") == 2 and "当前</span>" in page


def test_a_revision_shows_added_lines_green_and_removed_lines_red(app, admin_client):
    article_id = _article_with_two_revisions(app)

    page = admin_client.get(f"/admin/articles/{article_id}/revisions/2").get_data(as_text=True)

    assert re.search(r'cms-diff-removed".*?旧的第二段', page)
    assert re.search(r'cms-diff-added".*?新的第二段', page)
    assert re.search(r'cms-diff-added".*?直播</span></div>', page)  # the tag added
    assert re.search(r'cms-diff-same".*?第一段', page)
    assert "恢复到这个版本" not in page  # it is the current one
    assert admin_client.get(f"/admin/articles/{article_id}/revisions/9").status_code == 404


def test_a_long_article_diff_shows_the_change_with_a_little_context_not_every_line(app, admin_client):
    make_editor(app)
    lines = [f"第{n}段正文" for n in range(1, 41)]
    with app.app_context():
        article_id = write_article("很长的文章", body="\n".join(lines), status="draft")
        changed = [*lines[:19], "第20段改写了", *lines[20:]]
        service.save_article(article_id, ArticleInput(title="很长的文章", body="\n".join(changed)), editor())

    page = admin_client.get(f"/admin/articles/{article_id}/revisions/2").get_data(as_text=True)

    assert re.search(r'cms-diff-removed".*?第20段正文', page) and re.search(r'cms-diff-added".*?第20段改写了', page)
    assert "第18段正文" in page and "第22段正文" in page  # two lines of context either side
    assert "第1段正文" not in page and "第40段正文" not in page
    assert "17 行未改动" in page and "18 行未改动" in page
    assert "<h3 class=\"section-title\">正文</h3>" in page and ">标题</h3>" not in page  # only what changed


def test_restoring_an_old_revision_writes_a_new_one_and_keeps_the_status(app, admin_client):
    article_id = _article_with_two_revisions(app)
    with app.app_context():
        service.publish_article(article_id, editor())
    url = f"/admin/articles/{article_id}/revisions/1"

    response = submit_form(admin_client, f"{url}/restore", {}, form_page=url)

    assert response.status_code == 302 and response.headers["Location"] == f"/admin/articles/{article_id}/edit"
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert article.body == "第一段\n旧的第二段\n第三段" and [tag.name for tag in article.tags] == ["抖音"]
        assert article.revision_number == 3 and article.status is ArticleStatus.PUBLISHED
    editor_page = admin_client.get(f"/admin/articles/{article_id}/edit").get_data(as_text=True)
    assert "已恢复第 1 版的内容，保存为第 3 版" in editor_page
    assert "恢复自第 1 版" in admin_client.get(f"/admin/articles/{article_id}/revisions").get_data(as_text=True)
    assert submit_form(admin_client, f"/admin/articles/{article_id}/revisions/7/restore", {},
                       form_page=url).status_code == 404


# --- the live preview -------------------------------------------------------------------------

def _preview(client, body: str, token: str | None = "page"):
    headers = {}
    if token == "page":
        headers["X-CSRFToken"] = csrf_token_from(client.get("/admin/articles/new").get_data(as_text=True))
    return client.post("/admin/articles/preview", data={"body": body}, headers=headers)


def test_preview_renders_sanitised_markdown_with_live_booking_cards(app, admin_client):
    with app.app_context():
        session_id = make_session(capacity=5)
        hidden_id = make_session(published=False)
    body = (f"# 开营啦\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\n[[session:{session_id}]]\n\n"
            f"[[session:{hidden_id}]]\n\n<a href=\"javascript:alert(3)\">点我</a>")

    response = _preview(admin_client, body)

    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h2>开营啦</h2>" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<a>点我</a>" in html
    assert "《快速玩转小红书成长特训营》" in html and "剩余 5 席" in html and "立即预约" in html
    assert f"/sessions/{session_id}/book" in html  # trying the button in the preview counts no click
    assert f"场次 {hidden_id} 不存在或未公开" in html


def test_preview_of_a_too_long_body_says_so_instead_of_rendering(app, admin_client):
    response = _preview(admin_client, "字" * 200_001)
    assert response.status_code == 200
    assert "正文太长：最多 200,000 个字符，当前 200,001 个字符" in response.get_data(as_text=True)


def test_preview_needs_the_csrf_token(app, admin_client):
    assert _preview(admin_client, "## 标题", token=None).status_code == 400


# --- uploads ----------------------------------------------------------------------------------

@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(tmp_path))
    return tmp_path


def _upload(client, content: bytes, name: str):
    token = csrf_token_from(client.get("/admin/articles/new").get_data(as_text=True))
    return client.post("/admin/articles/images", data={"image": (io.BytesIO(content), name)},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_an_uploaded_image_comes_back_as_markdown_to_insert(app, admin_client, uploads):
    response = _upload(admin_client, png_bytes((40, 30)), "门店[实拍].png")

    assert response.status_code == 200
    answer = response.get_json()
    filename = answer["filename"]
    assert re.fullmatch(r"[0-9a-f]{32}\.png", filename)
    assert answer["url"] == f"/media/{filename}"
    assert answer["markdown"] == f"![门店实拍](/media/{filename})"
    assert (answer["width"], answer["height"]) == (40, 30)
    assert os.path.isfile(uploads / filename)
    assert admin_client.get(answer["url"]).status_code == 200


@pytest.mark.parametrize(
    ("content", "name", "status", "message"),
    [
        (b"GIF89a but not really an image", "photo.gif", 400, "无法识别这张图片"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.png", 400,
         "无法识别这张图片"),
        (png_bytes((800, 600)) + b"\0" * 3000, "big.png", 413, "图片太大：每张最多"),
    ],
    ids=["fake-gif", "svg-named-png", "oversized"],
)
def test_a_fake_or_oversized_image_is_refused_with_a_message(app, admin_client, uploads, monkeypatch,
                                                              content, name, status, message):
    monkeypatch.setitem(app.config, "CMS_MAX_IMAGE_BYTES", 2000)

    response = _upload(admin_client, content, name)

    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert os.listdir(uploads) == []
    with app.app_context():
        assert db.session.query(MediaFile).count() == 0


def test_an_upload_without_a_file_gets_a_message(app, admin_client, uploads):
    token = csrf_token_from(admin_client.get("/admin/articles/new").get_data(as_text=True))
    response = admin_client.post("/admin/articles/images", data={}, headers={"X-CSRFToken": token})
    assert response.status_code == 400 and response.get_json() == {"error": "请选择要上传的图片"}


def test_a_cover_posted_with_the_form_is_stored_and_shown_as_a_thumbnail(app, admin_client, uploads):
    form = {**EDITOR_FORM, "cover_file": (io.BytesIO(png_bytes((64, 36))), "cover.png")}

    response = submit_editor(admin_client, "/admin/articles/new", form)

    assert response.status_code == 302
    with app.app_context():
        cover = only_article().cover_image
        assert db.session.scalar(db.select(MediaFile.content_type).filter_by(filename=cover)) == "image/png"
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<img src="/media/{cover}" alt="封面" id="cover-thumb">' in page


def test_a_fake_cover_is_refused_next_to_the_cover_field_with_the_typing_kept(app, admin_client, uploads):
    form = {**EDITOR_FORM, "body": "认真写的正文", "cover_file": (io.BytesIO(b"not an image"), "cover.jpg")}

    response = submit_editor(admin_client, "/admin/articles/new", form)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors_in(page, "cover_file") == ["无法识别这张图片：只支持 JPEG、PNG、GIF 或 WEBP 格式的图片文件"]
    assert "认真写的正文" in page
    with app.app_context():
        assert article_count() == 0
