"""The WeChat page around an article, as it comes along when the page is copied as text.

A copy from the desktop client, the phone or a browser carries the page's interface with the
article: read and like counters (阅读 10万+, 在看 36, 赞 58), the 微信扫一扫 / 关注该公众号 popup,
收录于合集 tag lines, the 听全文 button, the "continue to the next article" bar and the buttons
under it. None of it is the author's text. The patterns here match whole lines only, each with a
shape no sentence has (a label followed by a number, a fixed interface phrase), so a paragraph
that mentions 阅读 or 在看 in passing is never taken for chrome. Used by importer_header (the
first lines) and importer (the rest of the body).
"""
from __future__ import annotations

import re

# A count as WeChat prints it: 0, 3562, 1.2万, 10万+, 999+.
_COUNT = r"(?:\d{1,4}(?:\.\d)?万\+?|\d+\+|0|[1-9]\d{0,8})"  # longest forms first: 10万+ is not 10
_COUNTER_LABELS = r"阅读|阅读量|在看|赞|点赞|分享|转发|留言|评论|收藏|听过|喜欢"
# "阅读 10万+", "在看 36", "阅读 3562 在看 36 赞 58" (the bar under the article, on one line).
_LABELLED_COUNTERS = re.compile(rf"^(?:(?:{_COUNTER_LABELS})\s*[:：]?\s*{_COUNT}\s*)+$")
_READ_COUNT = re.compile(rf"(?:阅读|阅读量)\s*[:：]?\s*(?P<count>{_COUNT})")
# A bare count: the reposting account's "0 / 0" above the title. Counters never have a leading
# zero, so a section number such as 01 is not one; importer_header only drops these near the top.
BARE_COUNT = re.compile(rf"^{_COUNT}$")

# Interface phrases that are never part of an article, dropped wherever they are.
_UI_LINES = re.compile(
    r"^(?:预览时标签不可点|微信扫一扫关注该公众号|微信扫一扫可打开此内容，?使用完整服务|微信扫一扫使用小程序"
    r"|继续滑动看下一个|向上滑动看下一个|轻触阅读原文|[,，]?\s*轻点两下取消(?:赞|在看)"
    r"|Scan to Follow|Scan with Weixin to use this Mini Program|Got It"
    r"|您的浏览器不支持\s*video\s*标签|切换到(?:横屏模式|竖屏全屏)|倍速播放中|继续观看|分享视频"
    r"|[,，]?时长\s*\d{1,2}:\d{2}|进度条[,，]?\s*百分之\d{1,3})$",
    re.IGNORECASE,
)
# 收录于合集 #小红书电商 12个 (the tag line; the tags are the account's collections, not the text).
_COLLECTION = re.compile(r"^(?:收录于(?:合集|话题)\S*)(?:\s*#\S+(?:\s*\d+\s*个)?)*$")
# A line of collection tags on their own: "#小红书电商 12个 #电商干货 35个".
HASHTAG_LINE = re.compile(r"^(?:#[^\s#]+(?:\s*\d+\s*个)?\s*)+$")
# The AI read-aloud button and an audio player's clock: 听全文, 听全文 05:32, 00:00 / 05:32.
_AUDIO = re.compile(r"^(?:听全文|收听|点击收听)(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?$"
                    r"|^\d{1,2}:\d{2}(?::\d{2})?\s*/\s*\d{1,2}:\d{2}(?::\d{2})?$")

# The buttons at the very end of a copied page: single words that are chrome only there, in a
# run that closes the file (a paragraph that is just "分享" in the middle of an article stays).
_TRAILING_UI = frozenset({
    "写留言", "留言", "暂无留言", "分享", "收藏", "听过", "在看", "赞", "视频", "小程序", "知道了", "取消",
    "允许", "微信扫一扫", "关注该公众号", "使用小程序", "已关注", "关注", "重播", "关闭", "观看更多", "更多",
    "退出全屏", "全屏", "播放", "继续播放", "喜欢此内容的人还喜欢",
})

# IP 属地 (shown since 2022): a province-level region, or a country for accounts abroad.
LOCATIONS = frozenset({
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
    "中国香港", "中国澳门", "中国台湾",
    "美国", "日本", "韩国", "英国", "新加坡", "加拿大", "澳大利亚", "德国", "法国", "马来西亚",
    "泰国", "越南", "新西兰",
})
_LOCATION = re.compile(r"^(?:发表于|IP属地[:：]?)(?P<place>\S+)$")
_IP_LABEL = re.compile(r"IP\s*属地\s*[:：]?\s*", re.IGNORECASE)


def is_location(token: str) -> bool:
    """上海, 发表于北京, IP属地：浙江 (IP 属地 with its space is joined by `normalise_ip_label`)."""
    return token in LOCATIONS or _LOCATION.match(token) is not None


def normalise_ip_label(line: str) -> str:
    return _IP_LABEL.sub("IP属地", line)


def read_count(line: str) -> str | None:
    """The count of a 阅读 counter line ("阅读 10万+" -> "10万+"), else None."""
    if _LABELLED_COUNTERS.match(line) is None:
        return None
    match = _READ_COUNT.search(line)
    return match["count"] if match else None


def is_page_chrome(line: str) -> bool:
    """A whole line of interface text: counters, 扫一扫 popups, 收录于合集, 听全文, player chrome."""
    line = normalise_ip_label(line.strip())
    return bool(
        _LABELLED_COUNTERS.match(line) or _UI_LINES.match(line) or _COLLECTION.match(line)
        or _AUDIO.match(line) or (line.startswith("IP属地") and is_location(line))
    )


# Closing buttons no article ends its text with: one of these (or a counter, a popup line) shows
# that the words around it at the end of the file are the page's too.
_CERTAIN_TRAILING_UI = frozenset({
    "写留言", "暂无留言", "关注该公众号", "使用小程序", "观看更多", "喜欢此内容的人还喜欢",
})


def is_certain_chrome(line: str) -> bool:
    line = line.strip()
    return line in _CERTAIN_TRAILING_UI or is_page_chrome(line)


def is_trailing_chrome(line: str, names: set[str]) -> bool:
    """A line of the button bar that closes a copied page; `names` are the account's names,
    which the bar repeats (继续滑动看下一个 / 玺承集团 / 向上滑动看下一个)."""
    line = line.strip()
    return line in _TRAILING_UI or line.rstrip(".。") in names or is_page_chrome(line)
