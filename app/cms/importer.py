"""Turn an article copied out of a WeChat official account (plain text or Markdown) into a draft.

Parsing only: no database here. `flask cms import` (app/cms/cli.py) reads each file with
`read_article_file` and saves the result through service.create_article, so a draft and its first
revision are written like any other article; the file's name, the original date and source go
into that revision's note (`editor_note`), which editors see in the revision list and readers never.

Text copied from WeChat is messy: the page's head (account name, counters, 原创 · author ·
account · date, 听全文, 收录于合集 ...) comes along with the title, the article often opens with a
点击上方蓝字关注我们 banner, images turn into lines that only say 图片, blank lines come in ones,
twos and fives, lines end in full-width or non-breaking spaces, and the page closes with its
counters and buttons (阅读 10万+, 在看, 写留言). The head is read by importer_header (title, author,
date, read count) and the interface lines are recognised by importer_chrome; this module reads
the file, cleans the body, and leaves the author's own closing boilerplate (阅读原文, 往期推荐 ...)
in place below a rule so an editor can trim it in one go.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cms.importer_chrome import is_certain_chrome, is_page_chrome, is_trailing_chrome, read_count
from app.cms.importer_header import Header, take_header
from app.cms.importer_lines import FENCE, is_image_placeholder
from app.common.errors import DomainError

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
FOOTER_NOTE = "【导入提示】以下为原文末尾的固定内容（关注、点赞、在看、往期推荐等），发布前请删改。"
# The draft of a file whose title was not found: the editor list shows this, and a search for
# 未识别标题 finds every such draft. (A title is required, and a wrong one would be worse.)
UNTITLED_PREFIX = "（未识别标题）"
_UNTITLED_NAME_CHARS = 100  # Article.title holds 200


class ImportFailed(DomainError):
    code = "import_failed"
    message = _l("文件无法导入")


class FileEmpty(ImportFailed):
    code = "import_empty"
    message = _l("文件是空的：没有可以导入的文字")


class FileUnreadable(ImportFailed):
    code = "import_unreadable"
    message = _l("无法识别文件内容：请保存为 UTF-8 或 GB18030 编码的纯文本或 Markdown 文件")


class FileTooLarge(ImportFailed):
    code = "import_too_large"


@dataclass
class ImportedArticle:
    title: str  # "" when no title was found; read_article_file then gives a placeholder
    body: str  # Markdown
    author_name: str = ""
    source_name: str = ""  # 来源：...
    original_date: date | None = None
    date_inferred: bool = False  # 昨天 / 9月2日 dated by the day the file was saved
    read_count: str = ""  # 阅读 as the page showed it: 3562, 10万+
    summary: str = ""
    footer_separated: bool = False
    title_missing: bool = False

    def editor_note(self, filename: str) -> str:
        """Where the text came from and when it was first published, for editors only: the note
        of the draft's first revision, shown in the admin's revision list. A missing title comes
        first, so a cut at the column's 200 characters never loses it."""
        parts = [_("未识别出标题，请补写")] if self.title_missing else []
        parts.append(_("导入自 %(name)s", name=filename))
        if self.original_date is not None:
            day = self.original_date.isoformat()
            parts.append(_("原文日期 %(date)s（按文件保存日期推算）", date=day) if self.date_inferred
                         else _("原文日期 %(date)s", date=day))
        if self.read_count:
            parts.append(_("原文阅读 %(count)s", count=self.read_count))
        if self.source_name:
            parts.append(_("来源：%(name)s", name=self.source_name))
        return "；".join(parts)


# --- reading bytes ---------------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Windows Notepad's "Unicode"), else GB18030."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ["utf-16"] if utf16 else ["utf-8-sig", "gb18030"]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return _CONTROL.sub("", text)
    raise FileUnreadable()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _looks_like_text(text: str) -> bool:
    # GB18030 decodes most byte soups, so a PNG or a .docx renamed to .txt would "decode":
    # NULs and control characters give such files away. A stray one in real text is tolerated.
    return "\x00" not in text and len(_CONTROL.findall(text)) <= len(text) // 100 + 2


def read_article_file(path: str | Path, max_chars: int, zone: tzinfo | None = None) -> ImportedArticle:
    """Read, decode and parse one file. Raises ImportFailed with a message for people.

    `zone` (the site's) gives the day the file was saved, which dates a byline's 昨天 or 9月2日."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # Up to 4 bytes per character; anything longer cannot be saved anyway.
            data = handle.read(max_chars * 4 + 1)
            saved_at = datetime.fromtimestamp(path.stat().st_mtime, zone or ZoneInfo("Asia/Shanghai"))
    except FileNotFoundError as error:
        raise ImportFailed(_("文件不存在")) from error
    except IsADirectoryError as error:
        raise ImportFailed(_("这是一个目录，不是文件")) from error
    except OSError as error:
        raise ImportFailed(_("无法读取文件：%(reason)s", reason=error.strerror or error)) from error
    if len(data) > max_chars * 4:
        raise FileTooLarge(_("文件太大：正文最多 %(limit)s 个字符", limit=max_chars))
    text = decode(data)
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES or _starts_with_heading(text)
    article = parse(text, markdown=markdown, copied_on=saved_at.date())
    if not article.title:
        article.title = UNTITLED_PREFIX + path.stem[:_UNTITLED_NAME_CHARS]
        article.title_missing = True
    return article


def _starts_with_heading(text: str) -> bool:
    """Markdown saved as .txt: its first line is a "# " heading."""
    first = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip()), "")
    return bool(re.match(r"#{1,6}\s", first))


# --- cleaning lines --------------------------------------------------------------------------------

# Characters that only get in the way: zero-width space, word joiner, stray BOMs. (Not U+200D, the
# zero-width joiner, which holds emoji sequences such as 👨‍👩‍👧 together.)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029|\x85")
# Full-width and non-breaking spaces WeChat uses to indent paragraphs (never Markdown syntax).
_TYPOGRAPHIC_SPACES = "\u3000\u00a0\u2002\u2003\u202f"
# Inside a line, WeChat's non-breaking spaces are ordinary word spaces ("小红书\u00a0电商").
_NO_BREAK_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f"), " ")

_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_REFERENCE_DEFINITION = re.compile(r"^\[[^\]]+\]:")

# Footer boilerplate, looked for only in short lines in the second half of the article, where a
# word like 分享 is a call to share rather than part of the text.
_FOOTER = re.compile(
    r"阅读原文|点赞|在看|扫码|扫一扫|二维码|长按识别|往期(?:推荐|回顾|精选|精彩)|推荐阅读|精彩推荐|相关阅读"
    r"|关注我们|关注公众号|分享|转发|星标"
    r"|^[-—–=_~·•/\s]*(?:END|THE END|全文完|完)[-—–=_~·•/\s]*$",
    re.IGNORECASE,
)
_FOOTER_LINE_MAX = 30
_LONG_PARAGRAPH = 80


def _normalise(text: str) -> list[str]:
    text = _LINE_BREAKS.sub("\n", text.translate(_INVISIBLE))
    return [line.rstrip() for line in text.split("\n")]


def _clean_line(line: str, markdown: bool) -> str:
    # ASCII indentation is Markdown syntax (nested lists, code) and stays in Markdown files; in
    # plain text it would turn a paragraph into a code block, so it goes.
    line = line.lstrip(_TYPOGRAPHIC_SPACES) if markdown else line.strip()
    return line.translate(_NO_BREAK_SPACES)


# --- the body ------------------------------------------------------------------------------------

def _body_lines(lines: list[str], markdown: bool, header: Header) -> list[str]:
    """Clean lines, dropping 图片 placeholders and the page's interface lines (counters, 扫一扫,
    收录于合集 ...); code fences in Markdown are left exactly as written."""
    result: list[str] = []
    in_fence = False
    for line in _without_closing_chrome(lines, header):
        if markdown and FENCE.match(line):
            in_fence = not in_fence
            result.append(line)
            continue
        if in_fence:
            result.append(line)
            continue
        cleaned = _clean_line(line, markdown)
        if is_image_placeholder(cleaned):
            continue
        if is_page_chrome(cleaned):
            header.take_read_count(read_count(cleaned))  # the bar under the article: 阅读 10万+
            continue
        if not markdown and _REFERENCE_DEFINITION.match(cleaned):
            cleaned = "\\" + cleaned  # "[注]: 数据来源..." is text, not a Markdown link definition
        result.append(cleaned)
    return result


def _without_closing_chrome(lines: list[str], header: Header) -> list[str]:
    """Drop the buttons that close a copied page (写留言, 分享, 在看, 继续滑动看下一个 / 玺承集团 ...).

    Only a run that reaches the end of the file and holds a line no article has (写留言, 阅读 3562,
    预览时标签不可点 ...), so an article that closes on a plain 分享 keeps it; and only from its first
    interface line on: a signature such as 玺承集团 just above the buttons is the author's and stays."""
    end = len(lines)
    start = end
    while start > 0 and (not lines[start - 1].strip() or is_trailing_chrome(lines[start - 1], header.names)):
        start -= 1
    while start < end and (not lines[start].strip() or lines[start].strip().rstrip(".。") in header.names):
        start += 1
    if not any(is_certain_chrome(line) for line in lines[start:]):
        return lines
    for line in lines[start:]:
        header.take_read_count(read_count(line.strip()))  # the bar under the article: 阅读 10万+
    return lines[:start]


def _blocks(lines: list[str], markdown: bool) -> list[str]:
    """Plain text: every line is a paragraph. Markdown: the author's blocks, blank runs collapsed."""
    if not markdown:
        return [line for line in lines if line.strip()]
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in lines:
        if FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _footer_start(blocks: list[str]) -> int | None:
    """Index of the first block of footer boilerplate, if any.

    Footer lines are short and come after the bulk of the text: a candidate must lie past the
    middle of the article counted in characters (a long 往期推荐 list has many lines but few
    characters), and at most two long paragraphs (an "about us" blurb) may follow it.
    """
    total = sum(len(block) for block in blocks)
    long_after = sum(len(block) > _LONG_PARAGRAPH for block in blocks)  # long paragraphs after index
    seen = 0
    for index, block in enumerate(blocks):
        long_after -= len(block) > _LONG_PARAGRAPH
        seen += len(block)
        line = block.strip()
        if index == 0 or seen - len(block) < total / 2 or "\n" in line or len(line) > _FOOTER_LINE_MAX:
            continue
        if long_after <= 2 and _FOOTER.search(line):
            return index
    return None


def parse(text: str, markdown: bool, copied_on: date | None = None) -> ImportedArticle:
    """Plain text or Markdown as copied from WeChat -> title, Markdown body, author, date.

    The title is "" when the head has none (see importer_header); the body then keeps every line.
    `copied_on` is the day of the copy, for bylines that say 昨天 or 9月2日."""
    lines = _normalise(text)
    if not any(line.strip() for line in lines):
        raise FileEmpty()
    header, rest = take_header(lines, markdown, copied_on)
    blocks = _blocks(_body_lines(rest, markdown, header), markdown)
    if not blocks and not header.title:
        raise FileEmpty()  # nothing but page chrome
    footer_at = _footer_start(blocks)
    if footer_at is not None:
        # The author may have ruled the footer off already; one rule is enough.
        rule = [] if _THEMATIC_BREAK.match(blocks[footer_at - 1]) else ["---"]
        blocks = [*blocks[:footer_at], *rule, FOOTER_NOTE, *blocks[footer_at:]]
    return ImportedArticle(
        title=" ".join(header.title.split()),  # WeChat's U+00A0 and U+3000 inside a title: plain spaces
        body="\n\n".join(blocks) + "\n" if blocks else "",
        author_name=header.author,
        source_name=header.source,
        original_date=header.original_date,
        date_inferred=header.date_inferred,
        read_count=header.read_count,
        summary=header.summary,
        footer_separated=footer_at is not None,
    )
