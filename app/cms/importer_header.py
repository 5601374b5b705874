"""The head of a copied WeChat article: its title, author, original date and read count.

WeChat lays the head out differently in each place it is copied from, and the parts come along in
a different order each time:

    desktop client      title / 原创 张三 玺承集团 2024年09月02日 10:30 上海 / 听全文
    phone               title / 原创 / 张三 / 玺承集团 / 昨天 20:30 / 浙江
    browser             title / 原创 张三 玺承集团 / 玺承集团 / 微信号 ... / 功能介绍 ... / 2024-09-02 10:30 发表于北京
    reposted            reposting account / 0 / 0 / title / title 玺承集团 / 2024-09-02 10:30 / 阅读 3562 / 导读:

So the head is read line by line over the first HEADER_LINES non-empty lines: each line is
classified (title candidate, byline, date, counter, credit, page chrome ...), the title is chosen
from the candidates (a line the page repeats below, else the first line that is not the account's
name), and what the head tells (author, date, source, read count, 导读) is lifted out. The head
ends at the first line that is none of these: the body starts there and is never touched here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.cms.importer_chrome import read_count
from app.cms.importer_lines import (
    AUTHOR_MAX_CHARS,
    CREDIT,
    FENCE,
    PROFILE,
    REPOST_CARD,
    SETEXT_UNDERLINE,
    SUMMARY,
    Byline,
    Kind,
    classify,
    could_be_title,
    credit_name,
    is_name,
    parse_byline,
    title_from,
)

HEADER_LINES = 15  # the head (title, byline, counters, banners) sits within the first lines
TITLE_REPEAT_LINES = 3  # the page repeats its title right below it, if at all
BYLINE_LOOKAHEAD = 4  # a name line belongs to the byline when its date line follows this soon


@dataclass
class Header:
    title: str = ""
    credit_author: str = ""  # 作者：张三
    card_author: str = ""  # 以下文章来源于 X ，作者 张三
    byline_author: str = ""  # 原创 张三 玺承集团 2024-09-02
    headline_author: str = ""  # <title> 玺承集团
    source: str = ""  # 来源：玺承集团, or the account of a repost card
    original_date: date | None = None
    date_inferred: bool = False  # from 昨天 or 9月2日 and the day the file was saved
    read_count: str = ""  # as WeChat prints it: 3562, 1.2万, 10万+
    summary: str = ""
    names: set[str] = field(default_factory=set)  # account and author names the page repeats

    @property
    def author(self) -> str:
        # A credit the author wrote beats the page's byline; a repost's original author beats
        # the account that reposted it.
        name = self.credit_author or self.card_author or self.byline_author or self.headline_author or self.source
        return name[:AUTHOR_MAX_CHARS]

    def take_date(self, found: tuple[date | None, bool]) -> None:
        value, inferred = found
        if self.original_date is None and value is not None:
            self.original_date, self.date_inferred = value, inferred

    def take_read_count(self, count: str | None) -> None:
        self.read_count = self.read_count or (count or "")


_BYLINE_KINDS = (Kind.ORIGINAL, Kind.META, Kind.CREDIT, Kind.REPOST_CARD)


def take_header(lines: list[str], markdown: bool, copied_on: date | None = None) -> tuple[Header, list[str]]:
    """What the head tells, and the lines left once it is gone (the body, from its first line).

    Header.title is "" when no line can be told to be the title: the caller must not guess one.
    `copied_on`, the day the file was saved, turns 昨天 and 9月2日 into dates."""
    return _HeadReader(lines, markdown, copied_on).read()


class _HeadReader:
    def __init__(self, lines: list[str], markdown: bool, copied_on: date | None) -> None:
        self.lines, self.markdown, self.copied_on = lines, markdown, copied_on
        self.window = [i for i, line in enumerate(lines) if line.strip()][:HEADER_LINES]
        self.kinds = {i: classify(lines[i], copied_on) for i in self.window}
        self.header = Header()
        self.kept: list[str] = []  # head lines that stay in the body: images, credits beside the author
        self.after_original = False  # the byline split over lines: 原创 / 张三 / 玺承集团 / date
        self.dated = False  # the byline's date has been read: the head holds one

    def read(self) -> tuple[Header, list[str]]:
        start = 0
        title_at = self._find_title()
        if title_at is not None:
            self.header.title = title_from(self.lines[title_at], self.markdown)
            for index in range(title_at):
                self._before_title(index)
            start = title_at + 1
            if self.markdown and start < len(self.lines) and self.lines[start].strip() \
                    and SETEXT_UNDERLINE.match(self.lines[start]):
                start += 1  # Title\n===== : the underline goes with it
        index = start
        while index < len(self.lines):
            if not self.lines[index].strip():
                self.kept.append(self.lines[index])
                index += 1
                continue
            if index not in self.kinds:
                break  # past the first lines: whatever comes now is the body
            step = self._head_line(index)
            if step is None:
                break  # the first line of the body
            index += step
        return self.header, self.kept + self.lines[index:]

    # --- the title ---

    def _find_title(self) -> int | None:
        candidates: list[int] = []
        for index in self.window:
            kind = self.kinds[index]
            if kind in _BYLINE_KINDS or (self.markdown and FENCE.match(self.lines[index])):
                break  # the title sits above the byline, and never in a code block
            if kind is not Kind.TEXT:
                continue
            if not could_be_title(title_from(self.lines[index], self.markdown)):
                break  # a paragraph: the text has begun, and no line above it was a title
            candidates.append(index)
        # A line the page repeats right below, alone or followed by its author: "<title> 玺承集团".
        for index in candidates:
            below = [other for other in self.window if other > index][:TITLE_REPEAT_LINES]
            if any(self._repeats_title(other, title_from(self.lines[index], self.markdown)) for other in below):
                return index
        # Else the first line that is not the account's name: the name the byline gives, or a
        # name above counters on a page with a byline (without one, "抖音起号 / 1 / ..." is a
        # title and its first numbered section).
        known = self._byline_names()
        has_byline = any(kind in _BYLINE_KINDS for kind in self.kinds.values())
        for index in candidates:
            text = self.lines[index].strip()
            above_counters = has_byline and self._next_kind(index) is Kind.COUNT
            if is_name(text) and (text.rstrip(".。") in known or above_counters):
                continue
            return index
        return None

    def _repeats_title(self, index: int, title: str) -> bool:
        text = self.lines[index].strip()
        if text == title or title_from(text, self.markdown) == title:
            # 玺承集团 / 玺承集团 / 2024-09-02: the author and the account of a byline, not a title.
            return not (is_name(title) and self._date_follows(index))
        return self._headline_byline(text, title) is not None

    def _headline_byline(self, text: str, title: str) -> Byline | None:
        """"<title> 玺承集团" (possibly with the date after the name): the byline after the title."""
        if not title or not text.startswith(title) or not text[len(title):len(title) + 1].isspace():
            return None
        byline = parse_byline(text[len(title):], self.copied_on, need_date=False)
        return byline if byline is not None and byline.names else None

    def _byline_names(self) -> set[str]:
        names: set[str] = set()
        for index in self.window:
            text, kind = self.lines[index].strip(), self.kinds[index]
            if kind is Kind.ORIGINAL:
                names.update(text.split()[1:])
            elif kind is Kind.META and (byline := parse_byline(text, self.copied_on)) is not None:
                names.update(byline.names)
            elif kind is Kind.REPOST_CARD and (card := REPOST_CARD.match(text)) is not None:
                names.update(filter(None, (card["source"], card["author"])))
        return names

    def _next_kind(self, index: int) -> Kind | None:
        later = [other for other in self.window if other > index]
        return self.kinds[later[0]] if later else None

    # --- the lines around it ---

    def _before_title(self, index: int) -> None:
        line = self.lines[index]
        text = line.strip()
        if not text:
            return
        kind = self.kinds.get(index, Kind.TEXT)
        if kind is Kind.PICTURE or (kind is Kind.TEXT and not is_name(text)):
            self.kept.append(line)  # a cover image stays; so does any text that is not a name
        elif kind is Kind.TEXT:
            self.header.names.add(text.rstrip(".。"))  # the reposting account, repeated at the end
        elif kind is not Kind.COUNT:
            self._head_line(index)

    def _head_line(self, index: int) -> int | None:
        """Take in one line of the head: how many lines it used, or None if the body starts here."""
        line, header = self.lines[index], self.header
        text, kind = line.strip(), self.kinds[index]
        after_original, self.after_original = self.after_original, False
        if header.title and (text == header.title or title_from(text, self.markdown) == header.title):
            return 1  # the page repeats the title
        if (headline := self._headline_byline(text, header.title)) is not None:
            header.headline_author = header.headline_author or headline.names[0]
            self._take_byline(headline, author=False)
            return 1
        if kind is Kind.PICTURE:
            self.kept.append(line)
            return 1
        if kind in (Kind.BANNER, Kind.LOCATION, Kind.HASHTAGS):
            return 1
        if kind is Kind.CHROME:
            header.take_read_count(read_count(text))
            return 1
        if kind is Kind.COUNT:
            return None if header.title else 1  # below the title a number is the text's: "1"
        if kind is Kind.ORIGINAL:
            names = text.split()[1:]
            if names:
                self._take_byline(Byline(names=names))
            self.after_original = not names
            return 1
        if kind is Kind.META:
            if self.dated:
                return None  # the byline has its date: a second date ("9月20日") is the text's
            byline = parse_byline(text, self.copied_on)
            assert byline is not None
            self._take_byline(byline)
            return 1
        if kind is Kind.CREDIT:
            self._take_credit(line)
            return 1
        if kind is Kind.SUMMARY:
            return self._take_summary(index)
        if kind is Kind.REPOST_CARD:
            card = REPOST_CARD.match(text)
            assert card is not None
            header.source = header.source or card["source"]
            header.card_author = header.card_author or (card["author"] or "")
            header.names.update(filter(None, (card["source"], card["author"])))
            return 1
        if kind is Kind.PROFILE:
            profile = PROFILE.match(text)
            assert profile is not None
            # The label alone: its value (the WeChat ID, the account's description) is the next line.
            return 1 if profile["value"] else self._and_next_line(index)
        if is_name(text):
            name = text.rstrip(".。")
            if after_original or (not self.dated and self._date_follows(index)):
                self._take_byline(Byline(names=[name]))
                self.after_original = after_original
                return 1
            if name in header.names:
                return 1  # the account's name again (the repost card, the browser's account card)
        return None

    def _take_byline(self, byline: Byline, author: bool = True) -> None:
        header = self.header
        if author and byline.names:
            header.byline_author = header.byline_author or byline.names[0]  # 原创 <author> <account>
        header.names.update(byline.names)
        if byline.date is not None:
            header.take_date(byline.date)
            self.dated = True
        header.take_read_count(byline.read_count)

    def _take_credit(self, line: str) -> None:
        credit = CREDIT.match(line.strip())
        assert credit is not None
        name = credit_name(credit["value"])
        self.header.names.add(name)
        if credit["label"] in ("来源", "出品"):
            # A reposted article's 来源 is an attribution readers should still see: it stays.
            self.header.source = self.header.source or name
            self.kept.append(line)
            return
        self.header.credit_author = self.header.credit_author or name
        if name != credit["value"].strip():
            self.kept.append(line)  # "作者：张三 编辑：李四": the other credits stay

    def _take_summary(self, index: int) -> int:
        summary = SUMMARY.match(self.lines[index].strip())
        assert summary is not None
        if summary["value"]:
            self.header.summary = self.header.summary or summary["value"].strip()
            return 1
        # "导读:" alone: the 导读 is the next paragraph.
        step = self._and_next_line(index)
        if step > 1:
            self.header.summary = self.header.summary or self.lines[index + step - 1].strip()
        return step

    def _and_next_line(self, index: int) -> int:
        """How many lines up to and including the next non-empty one (1 if there is none)."""
        for later in range(index + 1, len(self.lines)):
            if self.lines[later].strip():
                return later - index + 1
        return 1

    def _date_follows(self, index: int) -> bool:
        """A name line belongs to the byline when the byline's date comes within a few lines."""
        later = [other for other in self.window if other > index][:BYLINE_LOOKAHEAD]
        return any(self.kinds[other] is Kind.META for other in later)
