"""`flask cms import`: articles copied from WeChat become drafts an editor can finish and publish.

The fixtures in tests/fixtures/wechat/ are the kinds of text editors actually paste: a WeChat page
copied as plain text (UTF-8 with BOM, CRLF, emoji, 图片 lines, a footer), a Markdown export, a
GB18030 file from an older Windows editor, and a file with nothing but whitespace.
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from app.cms import importer, rendering, service
from app.cms.models import Article, ArticleRevision, ArticleStatus
from app.extensions import db

FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
PLAIN = FIXTURES / "xiaohongshu_wechat.txt"
MARKDOWN = FIXTURES / "private_domain_case.md"
GB18030 = FIXTURES / "douyin_gb18030.txt"
BLANK = FIXTURES / "only_whitespace.txt"
NOTE_LINE = "\n\n---\n\n【导入提示】"


def run(app, *args: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["cms", *args])


def articles(app) -> list[tuple[Article, ArticleRevision]]:
    """Every article with its latest revision, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(Article, ArticleRevision)
            .join(ArticleRevision, (ArticleRevision.article_id == Article.id)
                  & (ArticleRevision.number == Article.revision_number))
            .order_by(Article.id)
        ).all()
        db.session.expunge_all()
    return [tuple(row) for row in rows]


def test_a_wechat_page_copied_as_text_becomes_a_clean_draft(app):
    result = run(app, "import", str(PLAIN))

    assert result.exit_code == 0, result.output
    [(article, revision)] = articles(app)
    assert article.title == "小红书全力发力电商，商家该如何抓住这波红利？🔥"
    assert article.author_name == "玺承集团"
    assert (article.status, article.publish_at) == (ArticleStatus.DRAFT, None)
    assert article.slug.startswith("xiao-hong-shu-quan-li-fa-li-dian-shang")
    assert f"{article.id}  {article.slug}  {article.title}" in result.output
    # The original date is where editors see it, in the revision's note; the body does not carry it.
    assert revision.number == 1 and revision.note == "导入自 xiaohongshu_wechat.txt；原文日期 2023-09-05"
    body = article.body
    assert body.startswith("8月底，小红书在 link 电商伙伴周上") and "导入自" not in body
    assert "原文日期" not in revision.body_html
    lines = body.split("\n")
    byline = "原创 玺承集团 玺承集团 2023年09月05日 18:02 浙江"
    for noise in ("图片", "[图片]", "图片来源网络", "点击上方蓝字关注我们", byline):
        assert noise not in lines
    assert article.title not in body
    assert "\n\n\n" not in body and "\r" not in body
    assert all(line == line.strip() for line in lines)  # no full-width, non-breaking or indenting spaces left
    # Each paragraph of the original is its own paragraph, one blank line apart, emoji intact.
    assert ("坐不住了。📈\n\n从“种草”到“拔草”，小红书正在补上交易闭环的最后一环。对商家来说，这意味着什么？\n\n"
            "01 平台在变\n\n过去一年") in body
    assert "早一点入局，就多一分胜算。💪🏻" in body
    # The footer is still there for the editor to trim, ruled off below the article.
    article_part, footer = body.split(NOTE_LINE)
    assert article_part.endswith("💪🏻")
    for boilerplate in ("- END -", "往期推荐", "扫码关注我们", "长按识别二维码，获取更多电商干货", "阅读原文"):
        assert boilerplate in footer and boilerplate not in article_part
    assert "<hr" in revision.body_html


def test_a_markdown_export_keeps_headings_lists_tables_and_images(app):
    result = run(app, "import", str(MARKDOWN))

    assert result.exit_code == 0, result.output
    [(article, revision)] = articles(app)
    assert article.title == "客户案例｜杭州一家女装店，如何用私域把复购率做到 45%"
    assert article.author_name == "陈晓燕"
    assert article.summary == "流量越来越贵，老客才是最稳的生意。"
    assert revision.note == "导入自 private_domain_case.md；原文日期 2023-08-28"
    body = article.body
    assert not body.startswith("#") and "图片\n" not in body and "导入自" not in body
    for kept in ("## 一、起点：流量越来越贵", "1. **企业微信承接**", "- 新客：7 天内推送穿搭建议，不推销\n  - 第 3 天",
                 "| 复购率 | 18% | 45% |", "> 私域不是建群发广告",
                 "![](https://mmbiz.qpic.cn/mmbiz_jpg/demo/cover/640?wx_fmt=jpeg)"):
        assert kept in body
    # The other credit on the author's line stays; only the repeated author name goes.
    assert "编辑：李助教" in body
    # The author had ruled the footer off: the note goes under that rule, not under a second one.
    assert body.split("\n").count("---") == 1
    assert "\n\n---\n\n【导入提示】" in body and body.index("【导入提示】") < body.index("**往期推荐**")
    html = revision.body_html
    for tag in ("<h2>", "<ol>", "<table>", "<blockquote>", "<img"):
        assert tag in html


def test_a_gb18030_file_imports_with_its_emoji_and_split_byline(app):
    result = run(app, "import", str(GB18030))

    assert result.exit_code == 0, result.output
    [(article, revision)] = articles(app)
    assert article.title == "抖音电商从0到1：新号冷启动的5个关键动作"
    assert article.author_name == "李明"  # 原创 / 李明 / 玺承集团 / date, one per line
    assert revision.note == "导入自 douyin_gb18030.txt；原文日期 2023-08-18；来源：玺承集团电商研究院"
    body = article.body
    assert body.startswith("来源：玺承集团电商研究院\n\n很多商家问我们")  # a repost's credit stays visible
    assert "不投钱更没量。🚀" in body
    assert "<p>来源：玺承集团电商研究院</p>" in revision.body_html
    assert "点击蓝字" not in article.body


def test_editors_see_where_an_imported_draft_came_from_in_its_revision_list(app, admin_client):
    assert run(app, "import", str(PLAIN)).exit_code == 0
    [(article, _revision)] = articles(app)
    note = "导入自 xiaohongshu_wechat.txt；原文日期 2023-09-05"

    assert note in admin_client.get(f"/admin/articles/{article.id}/revisions").get_data(as_text=True)
    assert note in admin_client.get(f"/admin/articles/{article.id}/edit").get_data(as_text=True)
    # Readers never see it, once published either.
    with app.app_context():
        service.publish_article(article.id, None)
    assert "导入自" not in app.test_client().get(f"/articles/{article.slug}").get_data(as_text=True)


def test_markdown_saved_as_txt_is_read_as_markdown(app, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("# 直播间复盘清单\n\n## 每场必看\n\n- 停留时长\n- 转化率\n", encoding="utf-8")

    assert run(app, "import", str(notes)).exit_code == 0

    [(article, revision)] = articles(app)
    assert article.title == "直播间复盘清单"
    assert article.body == "## 每场必看\n\n- 停留时长\n- 转化率\n"
    assert revision.note == "导入自 notes.txt"  # no date in the text: only the file's name
    assert "<li>停留时长</li>" in revision.body_html


def test_an_empty_file_is_reported_and_the_others_still_import(app):
    result = run(app, "import", str(BLANK), str(PLAIN), str(GB18030))

    assert result.exit_code == 1
    assert f"{BLANK}：导入失败：文件是空的" in result.output
    assert "共导入 2 篇草稿，1 个文件失败" in result.output
    assert [article.title[:6] for article, _revision in articles(app)] == ["小红书全力发", "抖音电商从0"]


def test_unreadable_files_are_reported_one_by_one(app, tmp_path):
    picture = tmp_path / "cover.txt"  # an image saved under a text name
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)))
    missing = tmp_path / "missing.txt"
    folder = tmp_path / "drafts"
    folder.mkdir()

    result = run(app, "import", str(picture), str(missing), str(folder), str(PLAIN))

    assert result.exit_code == 1
    assert f"{picture}：导入失败：无法识别文件内容" in result.output
    assert f"{missing}：导入失败：文件不存在" in result.output
    assert f"{folder}：导入失败：这是一个目录" in result.output
    assert "共导入 1 篇草稿，3 个文件失败" in result.output
    assert len(articles(app)) == 1


def test_column_and_fallback_author_options(app, tmp_path):
    with app.app_context():
        service.create_column("深度好文", slug="shen-du-hao-wen")
    unsigned = tmp_path / "unsigned.txt"
    unsigned.write_text("私域运营的三个误区\n\n第一，把私域当成广告群。\n", encoding="utf-8")

    result = run(app, "import", str(unsigned), str(PLAIN), "--column", "shen-du-hao-wen", "--author", "玺承研究院")

    assert result.exit_code == 0, result.output
    (first, _r1), (second, _r2) = articles(app)
    assert (first.title, first.author_name) == ("私域运营的三个误区", "玺承研究院")
    assert first.body == "第一，把私域当成广告群。\n"
    assert second.author_name == "玺承集团"  # the text names its author: that wins over the fallback
    assert first.column_id == second.column_id is not None


def test_an_unknown_column_imports_nothing(app):
    result = run(app, "import", str(PLAIN), "--column", "no-such-column")

    assert result.exit_code != 0
    assert "没有这个栏目：no-such-column" in result.output
    assert articles(app) == []


def test_a_body_over_the_limit_is_refused_with_the_limit_named(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_MAX_BODY_CHARS", 1000)
    long_text = tmp_path / "long.txt"
    long_text.write_text("很长的文章\n" + "正文" * 600, encoding="utf-8")  # 1,200 characters of body
    huge = tmp_path / "huge.txt"
    huge.write_text("巨大的文件\n" + "正文" * 5000, encoding="utf-8")  # not even read in full

    result = run(app, "import", str(long_text), str(huge), str(GB18030))

    assert result.exit_code == 1
    assert re.search(rf"{long_text}：导入失败：正文太长：最多 1,?000 个字符", result.output)
    assert f"{huge}：导入失败：文件太大：正文最多 1000 个字符" in result.output
    assert len(articles(app)) == 1


def test_importing_the_same_file_twice_gives_two_drafts_with_their_own_slugs(app):
    assert run(app, "import", str(PLAIN)).exit_code == 0
    assert run(app, "import", str(PLAIN)).exit_code == 0

    (first, _r1), (second, _r2) = articles(app)
    assert second.slug != first.slug and second.slug.endswith("-2")


def test_rerender_refreshes_only_revisions_of_an_older_renderer(app):
    assert run(app, "import", str(MARKDOWN), str(GB18030)).exit_code == 0
    (stale, _r1), (current, current_revision) = articles(app)
    with app.app_context():
        db.session.execute(update(ArticleRevision).where(ArticleRevision.article_id == stale.id)
                           .values(body_html="<p>旧的缓存</p>", renderer_version=rendering.RENDERER_VERSION - 1))
        db.session.commit()

    result = run(app, "rerender")

    assert result.exit_code == 0, result.output
    assert f"已重新渲染 1 个版本（渲染器版本 {rendering.RENDERER_VERSION}）" in result.output
    (_a, refreshed), (_b, untouched) = articles(app)
    assert refreshed.renderer_version == rendering.RENDERER_VERSION
    assert refreshed.body_html == rendering.render_markdown(refreshed.body) and "<table>" in refreshed.body_html
    assert untouched.body_html == current_revision.body_html
    assert "已重新渲染 0 个版本" in run(app, "rerender").output


# --- the parser on its own: what messy text turns into ------------------------------------------

def test_a_text_without_a_title_line_keeps_its_first_paragraph_whole():
    paragraph = "很多商家问我们，小红书到底还能不能做？" * 5
    article = importer.parse(f"{paragraph}\n第二段。\n", markdown=False)

    assert article.title == paragraph[:30] + "…"
    assert article.body == f"{paragraph}\n\n第二段。\n"


def test_share_and_like_words_inside_the_article_are_not_taken_for_the_footer():
    paragraph = "这是一段足够长的正文内容，用来撑起文章的主体部分，不是尾部的模板文字。"
    text = "标题\n今天分享三个方法\n" + "\n".join(f"第{n}段：{paragraph}" for n in range(6))
    article = importer.parse(text, markdown=False)

    assert not article.footer_separated and "【导入提示】" not in article.body
    assert article.body.startswith("今天分享三个方法\n\n第0段")


def test_markdown_code_blocks_are_left_exactly_as_written():
    text = "# 标题\n\n```\n图片\n\n\n    缩进保留\n```\n\n正文\n"
    article = importer.parse(text, markdown=True)

    assert article.body == "```\n图片\n\n\n    缩进保留\n```\n\n正文\n"


def test_utf16_files_from_windows_notepad_decode():
    assert importer.decode("标题\r\n正文 🚀".encode("utf-16")) == "标题\r\n正文 🚀"
