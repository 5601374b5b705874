"""`flask cms import`: articles copied from WeChat become drafts an editor can finish and publish.

The fixtures in tests/fixtures/wechat/ are the kinds of text editors actually paste: a WeChat page
copied as plain text (UTF-8 with BOM, CRLF, emoji, 图片 lines, a footer), a Markdown export, a
GB18030 file from an older Windows editor, and a file with nothing but whitespace; and one copy
per layout WeChat gives (desktop client, phone, 原创 with the browser's account card, a 作者/编辑
line, a 来源 line, an article reposted by another account), each with the page's interface
around it and the odd bytes real copies carry (BOM, CRLF, GB18030, U+00A0, U+200B, U+FEFF,
U+3000 indentation, trailing spaces).
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
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

def test_a_text_without_a_title_line_gets_no_guessed_title_and_keeps_its_first_paragraph():
    paragraph = "很多商家问我们，小红书到底还能不能做？" * 5
    article = importer.parse(f"{paragraph}\n第二段。\n", markdown=False)

    assert article.title == ""
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


# --- WeChat copies as they really come -------------------------------------------------------------

COPIED_AT = datetime(2024, 9, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # the day after publication


@dataclass
class Copy:
    file: str
    title: str
    author: str
    note: str  # the first revision's note: provenance, original date, read count, 来源
    first: str  # the body's first and last paragraphs, exact
    last: str
    chrome: list[str]  # lines of the copied page that must not reach the body
    kept: list[str] = field(default_factory=list)  # short or number-only paragraphs that must stay
    summary: str = ""
    footer: bool = False


COPIES = [
    Copy(
        "desktop_client_copy.txt",  # UTF-8 with BOM, CRLF, U+3000 indents, U+00A0, U+200B, U+FEFF
        title="小红书电商正当时：买手时代，商家的三张新船票", author="玺承集团",
        note="导入自 desktop_client_copy.txt；原文日期 2024-09-02；原文阅读 10万+",
        first="今年 8 月底，小红书在 link 电商伙伴周上再次强调“买手时代”。对还在观望的商家来说，现在入场，正是时候。📈",
        last="玺承集团",  # the signature above the footer is the author's
        chrome=["原创 玺承集团 玺承集团 2024年09月02日 10:30 上海", "听全文",
                "收录于合集 #小红书电商 12个 #电商干货 35个", "点击上方蓝字关注我们", "图片", "预览时标签不可点",
                "微信扫一扫", "关注该公众号", "继续滑动看下一个", "向上滑动看下一个",
                "阅读 10万+", "在看 36", "赞 58", "写留言"],
        kept=["01 笔记即货架", "阅读量不是目标，成交才是。",
              "找到和品牌调性相符的买手，比砸钱投放更容易建立信任。小红书的买手不只是主播，更像懂行的朋友。"],
        footer=True,
    ),
    Copy(
        "phone_copy.txt",  # the byline one part per line, dated 昨天
        title="抖音电商新号冷启动：7天跑通直播间的5个动作", author="𠮷祥",
        note="导入自 phone_copy.txt；原文日期 2024-09-02（按文件保存日期推算）；原文阅读 1.2万",
        first=("很多商家问我们：抖音新号到底怎么起？投了钱没量，不投钱更没量。🚀 "
               "今天把我们陪跑过的上百个账号总结成几个关键动作。"),
        last="起号没有捷径，但有方法。按这几步走，大部分新号在一个月内都能跑出稳定的自然流量。",
        chrome=["原创", "𠮷祥", "玺承集团", "昨天 20:30", "浙江", "听全文", "阅读 1.2万", "赞 58", "在看 36", "写留言",
                "，轻点两下取消赞", "，轻点两下取消在看"],
        kept=["1", "2", "3", "小额测试千川"],
    ),
    Copy(
        "original_mark_gb18030.txt",  # GB18030, CRLF; 原创 with the browser's account card
        title="小红书电商｜从种草到拔草，店铺如何做好交易闭环", author="𠮷庆",
        note="导入自 original_mark_gb18030.txt；原文日期 2024-09-02",
        first="过去一年，小红书电商的动销商家数同比增长 8 倍。用户不再只是“看看笔记”，而是越来越习惯直接下单。",
        last="在《快速玩转小红书成长特训营》里，我们会带着大家把这两步各跑一遍。",
        chrome=["原创 𠮷庆 玺承集团", "玺承集团", "微信号", "xicheng_group", "功能介绍",
                "玺承集团官方公众号，二十年专注电商企业培训。",
                "2024-09-02 10:30 发表于北京", "收录于合集", "#小红书电商 12个"],
        kept=["第一步：把笔记写成货架"],
    ),
    Copy(
        "credits_line.txt",  # 作者：张三 编辑：李四 | 排版：王五, dated 9月2日
        title="9月开营｜《快速玩转小红书成长特训营》第8期招生", author="张三",
        note="导入自 credits_line.txt；原文日期 2024-09-02（按文件保存日期推算）",
        # The editor's and designer's credits are the author's text: they stay, the author is lifted out.
        first="作者：张三 编辑：李四 | 排版：王五",
        last="报名请联系课程顾问 𠮷老师，名额有限。",
        chrome=["玺承集团 9月2日 10:30 上海"],
        kept=["上课时间", "9月20日—9月24日", "杭州 · 玺承集团培训中心"],
    ),
    Copy(
        "source_line.txt",  # 来源 | 玺承电商, no name in the byline
        title="抖音电商：直播间转化率翻倍的3个细节", author="玺承电商",
        note="导入自 source_line.txt；原文日期 2024-09-02；来源：玺承电商",
        first="来源 | 玺承电商",  # a repost's attribution stays where readers see it
        last="把这三件事做好，转化率翻倍并不难。",
        chrome=["2024年9月2日 发表于上海"],
        kept=["细节一：开场 30 秒讲清楚今天卖什么"],
    ),
    Copy(
        "reposted_by_another_account.txt",  # the reposting account and its 0 / 0 above the title
        title="小红书电商正当时：商家如何抓住买手时代", author="玺承集团",
        note="导入自 reposted_by_another_account.txt；原文日期 2024-09-02；原文阅读 3562",
        summary="买手时代来了，商家要换一种方式做小红书。",
        first="8 月底的 link 电商伙伴周上，小红书把“买手”放在了舞台中央。",
        last="玺承集团《快速玩转小红书成长特训营》9 月开营，欢迎报名。",
        chrome=["电商人成长营", "小红书电商正当时：商家如何抓住买手时代 玺承集团", "2024-09-02 10:30", "阅读 3562",
                "导读:", "买手时代来了，商家要换一种方式做小红书。", "预览时标签不可点", "写留言"],
        kept=["0", "这不是笔误：不少店铺去年在小红书的成交是 0，今年却成了增长最快的渠道。",
              "阅读这篇文章的你，也许正站在同样的起点。"],
    ),
]


def copied(tmp_path: Path, name: str) -> Path:
    """The fixture as saved on the day of the copy: 昨天 and 9月2日 are read against that day."""
    path = tmp_path / name
    shutil.copyfile(FIXTURES / name, path)
    os.utime(path, (COPIED_AT.timestamp(), COPIED_AT.timestamp()))
    return path


@pytest.mark.parametrize("copy", COPIES, ids=[copy.file.split(".")[0] for copy in COPIES])
def test_each_wechat_layout_gives_title_author_date_and_a_clean_body(app, tmp_path, copy):
    result = run(app, "import", str(copied(tmp_path, copy.file)))

    assert result.exit_code == 0, result.output
    assert "未识别" not in result.output
    [(article, revision)] = articles(app)
    assert (article.title, article.author_name, article.summary) == (copy.title, copy.author, copy.summary)
    assert revision.note == copy.note
    article_part = article.body.split(NOTE_LINE)[0]
    assert (NOTE_LINE in article.body) == copy.footer
    paragraphs = article_part.strip("\n").split("\n\n")
    assert (paragraphs[0], paragraphs[-1]) == (copy.first, copy.last)
    lines = article.body.split("\n")
    for chrome in [*copy.chrome, copy.title]:
        assert chrome not in lines
    for kept in copy.kept:
        assert kept in paragraphs
    # The odd bytes of real copies are gone: no CR, no invisible or indenting spaces, nothing trailing.
    assert not re.search("[\r\u00a0\u200b\ufeff\u3000]", article.body)
    assert all(line == line.strip() for line in lines)


def test_a_file_without_a_findable_title_is_imported_with_a_placeholder_and_a_warning(app, admin_client, tmp_path):
    headless = tmp_path / "小红书复盘.txt"  # the copy began below the title
    paragraph = "这次复盘我们只看三个数：点击率、停留时长和转化率。每个数背后都有一个动作可以改，下面一个一个说。"
    headless.write_text(f"原创 玺承集团 玺承集团 2024-09-02 10:30 上海\n\n{paragraph}\n点击率\n", encoding="utf-8")

    result = run(app, "import", str(headless), str(PLAIN))

    assert result.exit_code == 0, result.output
    assert f"{headless}：注意：没有识别出标题，草稿暂以「（未识别标题）小红书复盘」为题" in result.output
    assert "共导入 2 篇草稿，0 个文件失败" in result.output
    assert "其中 1 篇没有识别出标题" in result.output
    (article, revision), _other = articles(app)
    assert article.title == "（未识别标题）小红书复盘"
    assert article.slug == "xiao-hong-shu-fu-pan"  # named after the file, not the placeholder
    assert (article.author_name, article.body) == ("玺承集团", f"{paragraph}\n\n点击率\n")
    assert revision.note == "未识别出标题，请补写；导入自 小红书复盘.txt；原文日期 2024-09-02"
    # The editor's list shows it, and a search for the marker finds every such draft.
    page = admin_client.get("/admin/articles/?q=未识别标题").get_data(as_text=True)
    assert "（未识别标题）小红书复盘" in page and "小红书全力发力电商" not in page


def test_a_file_of_page_chrome_only_is_refused_as_empty(app, tmp_path):
    chrome = tmp_path / "chrome.txt"
    chrome.write_text("预览时标签不可点\n微信扫一扫关注该公众号\n阅读 10万+\n在看 36\n", encoding="utf-8")

    result = run(app, "import", str(chrome))

    assert result.exit_code == 1
    assert f"{chrome}：导入失败：文件是空的" in result.output
    assert articles(app) == []


def test_a_repost_card_names_the_original_account_and_author():
    text = ("直播间话术的三个误区\n电商人成长营 2024-09-02 10:30\n以下文章来源于玺承电商 ，作者𠮷利\n玺承电商.\n\n"
            "误区一：一上来就报价。\n")
    article = importer.parse(text, markdown=False)

    assert (article.title, article.author_name, article.source_name) == ("直播间话术的三个误区", "𠮷利", "玺承电商")
    assert article.body == "误区一：一上来就报价。\n"


def test_a_source_line_with_a_colon_is_the_author_when_no_one_else_is_named():
    article = importer.parse("私域复购的五个抓手\n2024-09-02\n来源：玺承集团\n正文第一段。\n", markdown=False)

    assert (article.author_name, article.source_name) == ("玺承集团", "玺承集团")
    assert article.body == "来源：玺承集团\n\n正文第一段。\n"


def test_dates_without_a_year_or_relative_to_today_are_read_against_the_day_of_the_copy():
    def dated(byline: str, copied_on: date | None) -> importer.ImportedArticle:
        return importer.parse(f"标题\n玺承集团 {byline}\n正文。\n", markdown=False, copied_on=copied_on)

    assert dated("12月30日 10:30", date(2025, 1, 5)).original_date == date(2024, 12, 30)  # last year
    assert dated("前天", date(2024, 9, 4)).original_date == date(2024, 9, 2)
    assert dated("3天前", date(2024, 9, 5)).date_inferred
    undated = dated("昨天 20:30", None)  # no day of the copy: the line still goes, no date is made up
    assert (undated.original_date, undated.body, undated.author_name) == (None, "正文。\n", "玺承集团")


def test_dates_and_numbers_inside_the_text_are_not_taken_for_the_byline():
    text = ("开营通知\n2024年9月2日我们在杭州开营，来了 200 位老板。\n"
            "这是一段足够长的正文内容，说明开营当天的安排和每个环节的负责人，方便大家提前准备。\n9月2日\n上海\n0\n")
    article = importer.parse(text, markdown=False)

    assert article.original_date is None
    assert article.body.split("\n\n") == [
        "2024年9月2日我们在杭州开营，来了 200 位老板。",
        "这是一段足够长的正文内容，说明开营当天的安排和每个环节的负责人，方便大家提前准备。", "9月2日", "上海", "0\n",
    ]


def test_a_signature_above_the_closing_buttons_stays():
    text = "标题\n原创 玺承集团 玺承集团 2024-09-02\n正文第一段。\n玺承集团\n写留言\n分享\n"
    assert importer.parse(text, markdown=False).body == "正文第一段。\n\n玺承集团\n"


def test_the_title_is_the_line_the_page_repeats_with_its_author_even_below_another_name():
    text = ("电商人成长营\n小红书店播怎么做\n小红书店播怎么做 玺承集团 2024-09-02\n"
            "店播的流量门槛低，新店也能拿到第一批精准用户。\n")
    article = importer.parse(text, markdown=False)

    assert (article.title, article.author_name) == ("小红书店播怎么做", "玺承集团")
    assert article.original_date == date(2024, 9, 2)
    assert article.body == "店播的流量门槛低，新店也能拿到第一批精准用户。\n"


def test_an_author_named_like_the_account_is_not_taken_for_a_repeated_title():
    text = "小红书店播怎么做\n玺承集团\n玺承集团\n2024-09-02 10:30\n店播的流量门槛低，新店也能拿到第一批精准用户。\n"
    article = importer.parse(text, markdown=False)

    assert (article.title, article.author_name) == ("小红书店播怎么做", "玺承集团")
    assert article.body == "店播的流量门槛低，新店也能拿到第一批精准用户。\n"


def test_a_schedule_right_below_the_byline_stays_in_the_body():
    text = "第8期开营通知\n玺承集团 2024-09-02 10:30\n上课时间\n9月20日\n上课地点\n杭州\n"
    article = importer.parse(text, markdown=False)

    assert (article.author_name, article.original_date) == ("玺承集团", date(2024, 9, 2))
    assert article.body == "上课时间\n\n9月20日\n\n上课地点\n\n杭州\n"


def test_odd_spaces_inside_a_title_become_plain_spaces():
    article = importer.parse("\u3000小红书\u00a0电商\u200b　买手时代\u3000\n正文。\n", markdown=False)

    assert article.title == "小红书 电商 买手时代"


def test_a_short_original_byline_keeps_its_date():
    article = importer.parse("标题\n原创 𠮷利 2024-09-02\n正文。\n", markdown=False)

    assert (article.author_name, article.original_date, article.body) == ("𠮷利", date(2024, 9, 2), "正文。\n")


def test_a_short_title_above_a_numbered_section_is_not_taken_for_an_account_name():
    article = importer.parse("抖音起号\n1\n先定人设，再定货盘\n", markdown=False)

    assert (article.title, article.body) == ("抖音起号", "1\n\n先定人设，再定货盘\n")


def test_an_article_that_closes_on_a_plain_word_keeps_it():
    text = "标题\n正文第一段。\n下期我们聊聊直播间的选品\n收藏\n"
    assert importer.parse(text, markdown=False).body == "正文第一段。\n\n下期我们聊聊直播间的选品\n\n收藏\n"
