"""Turn an article copied out of a WeChat official account (plain text or Markdown) into a draft.

Parsing only: no database here. `flask cms import` (app/cms/cli.py) reads each file with
`read_article_file` and saves the result through service.create_article, so a draft and its first
revision are written like any other article; the file's name, the original date and source go
into that revision's note (`editor_note`), which editors see in the revision list and readers never.

Text copied from WeChat is messy: the page chrome (原创 · author · account · date) comes along with
the title, the article often opens with a 点击上方蓝字关注我们 banner, images turn into lines
that only say 图片, blank lines come in ones, twos and fives, lines end in full-width or
non-breaking spaces, and the article closes with 阅读原文 / 点赞 / 在看 / 往期推荐 boilerplate.
The importer removes what is certainly noise, lifts out the author and date, and leaves the
footer in place below a rule so an editor can trim it in one go.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
TITLE_MAX_CHARS = 64  # WeChat's own limit: a longer first line is a paragraph, not a title
TITLE_GUESS_CHARS = 30
AUTHOR_MAX_CHARS = 50  # Article.author_name is String(50)
HEADER_LINES = 12  # the page chrome (author, date, 关注 banner) sits within the first lines
FOOTER_NOTE = "【导入提示】以下为原文末尾的固定内容（关注、点赞、在看、往期推荐等），发布前请删改。"


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
    title: str
    body: str  # Markdown
    author_name: str = ""
    source_name: str = ""  # 来源：...
    original_date: date | None = None
    summary: str = ""
    footer_separated: bool = False

    def editor_note(self, filename: str) -> str:
        """Where the text came from and when it was first published, for editors only: the note
        of the draft's first revision, shown in the admin's revision list."""
        parts = [_("导入自 %(name)s", name=filename)]
        if self.original_date is not None:
            parts.append(_("原文日期 %(date)s", date=self.original_date.isoformat()))
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


def read_article_file(path: str | Path, max_chars: int) -> ImportedArticle:
    """Read, decode and parse one file. Raises ImportFailed with a message for people."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # Up to 4 bytes per character; anything longer cannot be saved anyway.
            data = handle.read(max_chars * 4 + 1)
    except FileNotFoundError as error:
        raise ImportFailed(_("文件不存在")) from error
    except IsADirectoryError as error:
        raise ImportFailed(_("这是一个目录，不是文件")) from error
    except OSError as error:
        raise ImportFailed(_("无法读取文件：%(reason)s", reason=error.strerror or error)) from error
    if len(data) > max_chars * 4:
        raise FileTooLarge(_("文件太大：正文最多 %(limit)s 个字符", limit=max_chars))
    text = decode(data)
    return parse(text, markdown=path.suffix.lower() in MARKDOWN_SUFFIXES or _starts_with_heading(text))


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

_IMAGE_PLACEHOLDER = re.compile(
    r"^[▲△↑]?\s*[\[【（(]?\s*(?:图片|圖片|图源|图|视频)(?:来源|來源|来自)?\s*[:：]?\s*(?:于)?\s*"
    r"(?:网络|互联网)?\s*(?:[,，]?\s*侵删)?\s*[\]】）)]?$"
)
# "点击上方蓝字关注我们", "点击上方“玺承集团”，设为星标": not "点击上方链接报名" nor "重点关注".
_FOLLOW_PROMPT = re.compile(r"(?:点击|戳|点)蓝字|(?:点击|戳).{0,12}(?:关注|星标)|设为星标|^[↑👆\s]*关注我们[!！~～]?$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+|\s+#+\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_THEMATIC_BREAK = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MARKDOWN_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$")
_REFERENCE_DEFINITION = re.compile(r"^\[[^\]]+\]:")

_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*(?:月|[-/.])\s*(?P<d>\d{1,2})\s*日?"
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_CREDIT = re.compile(r"^(?P<label>作者|原创作者|撰文|文字|文|来源|出品)\s*[:：|｜丨/]\s*(?P<value>\S.*)$")
_SUMMARY = re.compile(r"^(?:导读|导语|摘要)\s*[:：|｜丨]\s*(?P<value>\S.*)$")
_LOCATION = re.compile(r"^(?:发表于|IP属地[:：]?)\S*$")
_SENTENCE_PUNCTUATION = re.compile(r"[，。！？；、,!?;:：“”\"]")

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
    return line.lstrip(_TYPOGRAPHIC_SPACES) if markdown else line.strip()


def _is_image_placeholder(line: str) -> bool:
    return bool(_IMAGE_PLACEHOLDER.match(line.strip()))


# --- the header: title, author, date -------------------------------------------------------------

@dataclass
class _Header:
    author: str = ""
    source: str = ""
    original_date: date | None = None
    summary: str = ""


def _name(value: str) -> str:
    # "张三 编辑：李四" -> "张三": stop at the next "label:" credit on the same line.
    value = re.split(r"\s+(?=\S{1,4}\s*[:：|｜丨/])", value.strip())[0]
    return value.strip(" ·|｜丨")[:AUTHOR_MAX_CHARS]


def _parse_date(match: re.Match) -> date | None:
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:  # 2023年13月45日 is not a date
        return None


def _meta_line(line: str, header: _Header) -> bool:
    """WeChat's byline, "原创 玺承集团 玺承集团 2023年09月05日 18:02 浙江", or a bare date."""
    match = _DATE.search(line)
    if match is None or len(line) > 60:
        return False
    rest = _TIME.sub(" ", line[: match.start()] + " " + line[match.end():])
    tokens = [t for t in rest.split() if t != "原创" and not _LOCATION.match(t)]
    if _SENTENCE_PUNCTUATION.search(" ".join(tokens)) or len(tokens) > 4:
        return False  # a sentence that mentions a date, not a byline
    before_date = [t for t in line[: match.start()].split() if t != "原创"]
    if before_date and not header.author:
        header.author = before_date[0][:AUTHOR_MAX_CHARS]  # 原创 <author> <account>: the author comes first
    header.original_date = header.original_date or _parse_date(match)
    return True


def _take_header(lines: list[str], header: _Header) -> list[str]:
    """Drop the byline, credits and 关注 banner from the first lines; return what is left."""
    kept: list[str] = []
    after_original_mark = False  # the byline split over lines: 原创 / 玺承集团 / 玺承集团 / date
    seen = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            kept.append(line)
            continue
        seen += 1
        if seen > HEADER_LINES:
            return kept + lines[index:]
        if stripped == "原创":
            after_original_mark = True
            continue
        if (credit := _CREDIT.match(stripped)) is not None:
            if credit["label"] not in ("来源", "出品"):
                header.author = header.author or _name(credit["value"])
                if _name(credit["value"]) == credit["value"].strip():
                    continue  # the page shows the author; the line would only repeat it
                kept.append(line)  # "作者：张三 编辑：李四": the other credits stay
                continue
            # A reposted article's 来源 is an attribution readers should still see: it stays.
            header.source = header.source or _name(credit["value"])
            kept.append(line)
            continue
        if (summary := _SUMMARY.match(stripped)) is not None and not header.summary:
            header.summary = summary["value"].strip()
            continue
        if _meta_line(stripped, header):
            after_original_mark = False
            continue
        if after_original_mark and len(stripped) <= 20 and not _SENTENCE_PUNCTUATION.search(stripped) \
                and not any(ch.isdigit() for ch in stripped):
            header.author = header.author or stripped[:AUTHOR_MAX_CHARS]
            continue
        after_original_mark = False
        if len(stripped) <= 40 and _FOLLOW_PROMPT.search(stripped):
            continue
        kept.append(line)
        if len(stripped) > 40:
            return kept + lines[index + 1:]  # a real paragraph: the header is over
    return kept


def _title_from(line: str, markdown: bool) -> str:
    title = line.strip()
    if markdown:
        title = _ATX_HEADING.sub("", title).strip()
        for marker in ("**", "__"):
            if title.startswith(marker) and title.endswith(marker) and len(title) > 4:
                title = title[2:-2].strip()
    return title


def _split_title(lines: list[str], markdown: bool) -> tuple[str, list[str]]:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _is_image_placeholder(stripped) or _FOLLOW_PROMPT.search(stripped) and len(stripped) <= 40:
            continue
        if markdown and _MARKDOWN_IMAGE.match(stripped):
            continue  # a cover image above the title stays in the body
        title = _title_from(stripped, markdown)
        if len(title) > TITLE_MAX_CHARS:
            # No title line: the text starts with a paragraph. Its opening becomes a provisional
            # title and the paragraph stays whole in the body, so nothing is lost.
            return title[:TITLE_GUESS_CHARS] + "…", lines
        rest = lines[:index] + lines[index + 1:]
        if markdown and index + 1 < len(lines) and _SETEXT_UNDERLINE.match(lines[index + 1]) \
                and lines[index + 1].strip():
            rest = lines[:index] + lines[index + 2:]  # Title\n===== : the underline goes with it
        return title, rest
    raise FileEmpty()


# --- the body ------------------------------------------------------------------------------------

def _body_lines(lines: list[str], markdown: bool) -> list[str]:
    """Clean lines, dropping 图片 placeholders; code fences in Markdown are left exactly as written."""
    result: list[str] = []
    in_fence = False
    for line in lines:
        if markdown and _FENCE.match(line):
            in_fence = not in_fence
            result.append(line)
            continue
        if in_fence:
            result.append(line)
            continue
        cleaned = _clean_line(line, markdown)
        if _is_image_placeholder(cleaned):
            continue
        if not markdown and _REFERENCE_DEFINITION.match(cleaned):
            cleaned = "\\" + cleaned  # "[注]: 数据来源..." is text, not a Markdown link definition
        result.append(cleaned)
    return result


def _blocks(lines: list[str], markdown: bool) -> list[str]:
    """Plain text: every line is a paragraph. Markdown: the author's blocks, blank runs collapsed."""
    if not markdown:
        return [line for line in lines if line.strip()]
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
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


def parse(text: str, markdown: bool) -> ImportedArticle:
    """Plain text or Markdown as copied from WeChat -> title, Markdown body, author, date."""
    lines = _normalise(text)
    if not any(line.strip() for line in lines):
        raise FileEmpty()
    title, rest = _split_title(lines, markdown)
    header = _Header()
    blocks = _blocks(_body_lines(_take_header(rest, header), markdown), markdown)
    footer_at = _footer_start(blocks)
    if footer_at is not None:
        # The author may have ruled the footer off already; one rule is enough.
        rule = [] if _THEMATIC_BREAK.match(blocks[footer_at - 1]) else ["---"]
        blocks = [*blocks[:footer_at], *rule, FOOTER_NOTE, *blocks[footer_at:]]
    return ImportedArticle(
        title=title,
        body="\n\n".join(blocks) + "\n" if blocks else "",
        author_name=header.author or header.source,
        source_name=header.source,
        original_date=header.original_date,
        summary=header.summary,
        footer_separated=footer_at is not None,
    )
