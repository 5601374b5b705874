"""What one line near the top of a copied WeChat article is: a title candidate, a byline, a date,
a credit, a counter, a banner ... (importer_header reads the head with these).

A byline is recognised by its parts, not by its place: a date standing between spaces
(2024-09-02 10:30, 2024年9月2日, 9月2日, 昨天) with nothing around it but names, a time, a place
(上海, 发表于北京, IP属地：浙江), 原创 or a read count. A sentence that mentions a date has other
words around it and stays text.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta

from app.cms.importer_chrome import (
    BARE_COUNT,
    HASHTAG_LINE,
    is_location,
    is_page_chrome,
    normalise_ip_label,
    read_count,
)

TITLE_MAX_CHARS = 64  # WeChat's own limit: a longer line is a paragraph, not a title
AUTHOR_MAX_CHARS = 50  # Article.author_name is String(50)
NAME_MAX_CHARS = 20  # an account or author name; WeChat allows 30 but few use more than 20

_NUMBER_OR_DATE = re.compile(r"[\d\-/.年月日+万]+")
_SENTENCE_PUNCTUATION = re.compile(r"[，。！？；、,!?;:：“”\"《》#]")
# A line that ends like a sentence or a lead-in is the start of the text, never a title.
_NOT_A_TITLE_END = tuple("。，,；;：:")

_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
_CLOCK = r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
# Dates stand alone between spaces in a byline: "2024年9月2日我们开营" is a sentence, not a byline.
_FULL_DATE = re.compile(
    rf"(?<!\S)(?P<y>(?:19|20)\d{{2}})\s*(?:年|[-/.])\s*(?P<m>\d{{1,2}})\s*(?:月|[-/.])\s*(?P<d>\d{{1,2}})\s*日?{_CLOCK}(?!\S)"
)
_MONTH_DAY = re.compile(rf"(?<!\S)(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*日{_CLOCK}(?!\S)")
_RELATIVE_DATE = re.compile(
    rf"(?<!\S)(?:(?P<word>今天|昨天|前天|刚刚)|(?P<n>\d{{1,2}})\s*(?P<unit>分钟|小时|天|周)前){_CLOCK}(?!\S)"
)
_DAYS_BACK = {"今天": 0, "刚刚": 0, "昨天": 1, "前天": 2}

_ORIGINAL_MARK = "原创"
CREDIT = re.compile(r"^(?P<label>作者|原创作者|原创|撰文|文字|文|来源|出品)\s*[:：|｜丨/]\s*(?P<value>\S.*)$")
_OTHER_CREDIT = re.compile(
    r"\s*[|｜丨]\s*|\s+(?=\S{1,4}\s*[:：])|(?=(?:编辑|责编|责任编辑|排版|校对|审核|美编|设计|插图|图片|摄影|策划|监制|主编)\s*[:：])"
)
SUMMARY = re.compile(r"^(?:导读|导语|摘要)(?:\s*[:：|｜丨]\s*(?P<value>.*))?$")
# The repost card: "以下文章来源于玺承电商 ，作者𠮷利" (the original account and its author).
REPOST_CARD = re.compile(r"^以下文章来源于\s*(?P<source>.+?)\s*(?:[,，]\s*作者\s*(?P<author>.+?))?\s*$")
# The account card a browser copies with the account's name: 微信号 / xicheng_group / 功能介绍 / ...
PROFILE = re.compile(r"^(?P<label>微信号|功能介绍)(?:\s*[:：]\s*|\s+|$)(?P<value>.*)$")
# "点击上方蓝字关注我们", "点击上方“玺承集团”，设为星标": not "点击上方链接报名" nor "重点关注".
_FOLLOW_PROMPT = re.compile(r"(?:点击|戳|点)蓝字|(?:点击|戳).{0,12}(?:关注|星标)|设为星标|^[↑👆\s]*关注我们[!！~～]?$")
_FOLLOW_PROMPT_MAX = 40
_IMAGE_PLACEHOLDER = re.compile(
    r"^[▲△↑]?\s*[\[【（(]?\s*(?:图片|圖片|图源|图|视频)(?:来源|來源|来自)?\s*[:：]?\s*(?:于)?\s*"
    r"(?:网络|互联网)?\s*(?:[,，]?\s*侵删)?\s*[\]】）)]?$"
)
_MARKDOWN_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+|\s+#+\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")


class Kind(enum.Enum):
    TEXT = "text"  # a title candidate, a name, or the body
    PICTURE = "picture"  # 图片 placeholder or Markdown image: neither title nor the end of the head
    BANNER = "banner"  # 点击上方蓝字关注我们
    CHROME = "chrome"  # counters with a label, 扫一扫, 收录于合集, 听全文, IP 属地
    COUNT = "count"  # a bare number: the counters above a reposted article's title
    LOCATION = "location"
    HASHTAGS = "hashtags"
    ORIGINAL = "original"  # 原创, alone or with the names after it
    META = "meta"  # a byline with a date, or a date alone
    CREDIT = "credit"
    SUMMARY = "summary"
    REPOST_CARD = "repost_card"
    PROFILE = "profile"


def is_name(text: str) -> bool:
    """An account or author name: short, no sentence punctuation, not a number or a date."""
    text = text.strip()
    return (0 < len(text) <= NAME_MAX_CHARS and any(ch.isalnum() for ch in text)
            and not _SENTENCE_PUNCTUATION.search(text)
            and not _NUMBER_OR_DATE.fullmatch(text) and len(text.split()) <= 2)


def credit_name(value: str) -> str:
    # "张三 编辑：李四 | 排版：王五" -> "张三": stop at the next credit on the same line.
    return _OTHER_CREDIT.split(value.strip(), maxsplit=1)[0].strip(" ·")[:AUTHOR_MAX_CHARS]


def is_image_placeholder(line: str) -> bool:
    return bool(_IMAGE_PLACEHOLDER.match(line.strip()))


def title_from(line: str, markdown: bool) -> str:
    title = line.strip()
    if markdown:
        title = _ATX_HEADING.sub("", title).strip()
        for marker in ("**", "__"):
            if title.startswith(marker) and title.endswith(marker) and len(title) > 4:
                title = title[2:-2].strip()
    return title


def could_be_title(text: str) -> bool:
    return (0 < len(text) <= TITLE_MAX_CHARS and any(ch.isalnum() for ch in text)
            and not text.endswith(_NOT_A_TITLE_END))


# --- dates and bylines ---------------------------------------------------------------------------

def _date_in(line: str, copied_on: date | None) -> tuple[re.Match, date | None, bool] | None:
    """The date in a byline: (where, the date, whether it was inferred). 9月2日 and 昨天 need the
    day of the copy (`copied_on`) to become a date; without it the line is still a date line."""
    if (match := _FULL_DATE.search(line)) is not None:
        return match, _date(int(match["y"]), int(match["m"]), int(match["d"])), False
    if (match := _MONTH_DAY.search(line)) is not None:
        if copied_on is None:
            return match, None, True
        value = _date(copied_on.year, int(match["m"]), int(match["d"]))
        if value is not None and value > copied_on:  # 12月30日 copied in January: last year
            value = _date(copied_on.year - 1, int(match["m"]), int(match["d"]))
        return match, value, True
    if (match := _RELATIVE_DATE.search(line)) is not None:
        if copied_on is None:
            return match, None, True
        if match["word"]:
            days = _DAYS_BACK[match["word"]]
        else:
            days = {"分钟": 0, "小时": 0, "天": 1, "周": 7}[match["unit"]] * int(match["n"])
        return match, copied_on - timedelta(days=days), True
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 2023年13月45日 is not a date
        return None


@dataclass
class Byline:
    names: list[str]
    date: tuple[date | None, bool] | None = None
    read_count: str | None = None


def parse_byline(line: str, copied_on: date | None, need_date: bool = True) -> Byline | None:
    """"原创 张三 玺承集团 2024年09月02日 10:30 上海", "2024-09-02 10:30 发表于北京", "阅读 3562" ...:
    a date with names, a time, a place or a read count around it, and nothing else."""
    line = normalise_ip_label(line.strip())
    found = _date_in(line, copied_on) if len(line) <= 80 else None
    if found is None and need_date:
        return None
    rest = line[: found[0].start()] + " " + line[found[0].end():] if found else line
    byline = Byline(names=[], date=found[1:] if found else None)
    tokens = rest.split()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in ("阅读", "阅读量") and index + 1 < len(tokens) and BARE_COUNT.match(tokens[index + 1]):
            byline.read_count = tokens[index + 1]
            index += 1
        elif (count := read_count(token)) is not None:
            byline.read_count = count
        elif token == _ORIGINAL_MARK or _TIME.match(token) or is_location(token):
            pass
        elif is_name(token):
            byline.names.append(token)
        else:
            return None  # a sentence that mentions a date, not a byline
        index += 1
    if len(byline.names) > 3 or not (byline.names or found):
        return None
    return byline


# --- classifying the first lines -----------------------------------------------------------------

def classify(line: str, copied_on: date | None) -> Kind:
    text = line.strip()
    if is_image_placeholder(text) or _MARKDOWN_IMAGE.match(text):
        return Kind.PICTURE
    if len(text) <= _FOLLOW_PROMPT_MAX and _FOLLOW_PROMPT.search(text):
        return Kind.BANNER
    if is_page_chrome(text):
        return Kind.CHROME
    if BARE_COUNT.match(text):
        return Kind.COUNT
    if is_location(normalise_ip_label(text)):
        return Kind.LOCATION
    if HASHTAG_LINE.match(text):
        return Kind.HASHTAGS
    if parse_byline(text, copied_on) is not None:
        return Kind.META
    tokens = text.split()
    if tokens[0] == _ORIGINAL_MARK and len(tokens) <= 4 and all(is_name(t) for t in tokens[1:]):
        return Kind.ORIGINAL
    if CREDIT.match(text):
        return Kind.CREDIT
    if SUMMARY.match(text):
        return Kind.SUMMARY
    if REPOST_CARD.match(text):
        return Kind.REPOST_CARD
    if PROFILE.match(text):
        return Kind.PROFILE
    return Kind.TEXT
