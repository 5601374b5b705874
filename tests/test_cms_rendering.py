"""Article Markdown becomes HTML a reader can safely see: whatever an author types, no script runs.

Every XSS payload is checked by parsing the output and comparing each tag, attribute and URL with
the allow-list, not by looking for one string, so a payload that sneaks through in a form nobody
anticipated still fails the test.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import current_app

from app.cms.rendering import booking_card_ids, excerpt, fill_booking_cards, render_markdown

# What readers may receive, written out here (not imported) so that widening the renderer's
# allow-list by mistake fails these tests.
SAFE_TAGS = {
    "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "blockquote", "strong", "em", "del", "s",
    "code", "pre", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
}
SAFE_ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title", "width", "height", "loading"},
    "ol": {"start"},
}
SLOT_ATTRIBUTES = {"class", "data-session-id"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(fragment: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(fragment)
    parser.close()
    return parser.elements


def assert_safe(fragment: str, slots_allowed: int = 0) -> None:
    """Only allowed tags and attributes; links and images only to http(s), mailto or this site."""
    slots = 0
    for tag, attrs in elements(fragment):
        if tag == "div":
            assert attrs.keys() == SLOT_ATTRIBUTES and attrs["class"] == "booking-card-slot", fragment
            slots += 1
            continue
        assert tag in SAFE_TAGS, f"<{tag}> in {fragment!r}"
        assert set(attrs) <= SAFE_ATTRIBUTES.get(tag, set()), f"{tag} {attrs} in {fragment!r}"
        for name in ("href", "src"):
            if name in attrs:
                url = "".join(attrs[name].split()).lower()  # browsers ignore whitespace in schemes
                scheme = url.split(":", 1)[0] if ":" in url.split("/", 1)[0] else ""
                assert scheme in ("", "http", "https", "mailto"), f"{name}={attrs[name]!r} in {fragment!r}"
    assert slots <= slots_allowed, fragment


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`javascript:alert(1)`>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="JaVaScRiPt&colon;alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="https://ok.example" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<style>body{background:url('javascript:alert(1)')}</style>",
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<form action="https://evil.example"><input name=p><button>go</button></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<body onload="alert(1)">',
    '<details open ontoggle="alert(1)">',
    '<video><source onerror="alert(1)"></video>',
    '<div class="booking-card-slot" data-session-id="1"></div>',
    '<p class="booking-card-slot" data-session-id="1">x</p>',
    '<a href="/x" class="booking-card-slot" data-session-id="1" id="main" target="_top">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![x](javascript:alert(1))",
    '![x](https://ok.example/a.png"onerror="alert(1))',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<https://ok.example/?q=<script>alert(1)</script>>",
    "<mailto:a@example.com?body=<script>>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<a href=\"https://ok.example\" title='\" onmouseover=alert(1) x=\"'>x</a>",
    '<table><tr><td style="x" onclick="alert(1)">c</td></tr></table>',
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_gets_markup_past_the_allow_list(payload):
    rendered = render_markdown(payload)
    assert_safe(rendered)
    # The same payload inside a normal article, in a list and a quote.
    assert_safe(render_markdown(f"## 标题\n\n正文 {payload}\n\n- {payload}\n\n> {payload}\n"))


def test_scripts_and_styles_lose_their_content_and_handlers_are_dropped():
    rendered = render_markdown(
        "<script>alert('x')</script><style>p{color:red}</style>\n\n"
        '<img src="/media/a.png" onerror="alert(1)" style="width:1px">'
    )
    assert "alert" not in rendered and "color:red" not in rendered
    assert '<img src="/media/a.png" loading="lazy">' in rendered


def test_javascript_links_keep_their_text_but_lose_the_url():
    assert render_markdown('<a href="JaVaScRiPt&colon;alert(1)">点我</a>') == "<p><a>点我</a></p>\n"
    rendered = render_markdown("[点我](javascript:alert(1))")
    assert "点我" in rendered and "href" not in rendered.replace("[点我](javascript:alert(1))", "")


def test_code_shows_markup_as_text():
    rendered = render_markdown("```\n<script>alert(1)</script>\n```")
    assert "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_external_links_get_noopener_nofollow_and_internal_ones_do_not(ctx):
    rendered = render_markdown(
        "[外部](https://www.xiaohongshu.com/a) [协议相对](//evil.example/x) "
        f"[本站绝对]({current_app.config['SITE_URL']}/articles/a) [本站](/articles/b) [锚点](#c) "
        "[邮件](mailto:hi@example.com)\n\n"
        '<a href="HTTPS://Other.Example/x">粘贴的链接</a>'
    )
    links = {text: attrs for text, attrs in _links(rendered)}
    assert links["外部"]["rel"] == "noopener nofollow"
    assert links["协议相对"]["rel"] == "noopener nofollow"
    assert links["粘贴的链接"]["rel"] == "noopener nofollow"
    for internal in ("本站绝对", "本站", "锚点", "邮件"):
        assert "rel" not in links[internal], internal
    assert "target" not in rendered


def _links(fragment: str) -> list[tuple[str, dict[str, str]]]:
    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found, self.current = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.current = dict(attrs)

        def handle_data(self, data):
            if self.current is not None:
                self.found.append((data, self.current))
                self.current = None

    parser = Links()
    parser.feed(fragment)
    return parser.found


def test_an_article_renders_headings_lists_quotes_images_tables_and_emphasis():
    body = """# 一级标题变二级

## 小红书运营

### 三个细节

正文段落，**加粗**、*强调*、~~删除~~ 和 `代码`。

- 第一点
- 第二点

1. 步骤一
2. 步骤二

> 引用：内容为王

![封面](/media/0123456789abcdef0123456789abcdef.png "标题")

| 平台 | 学员数 |
| --- | ---: |
| 小红书 | 1200 |

---
"""
    rendered = render_markdown(body)
    assert "<h1" not in rendered
    assert "<h2>一级标题变二级</h2>" in rendered
    assert "<h2>小红书运营</h2>" in rendered and "<h3>三个细节</h3>" in rendered
    assert "<strong>加粗</strong>" in rendered and "<em>强调</em>" in rendered
    assert "<s>删除</s>" in rendered and "<code>代码</code>" in rendered
    assert "<ul>\n<li>第一点</li>" in rendered and "<ol>\n<li>步骤一</li>" in rendered
    assert "<blockquote>\n<p>引用：内容为王</p>\n</blockquote>" in rendered
    assert ('<img src="/media/0123456789abcdef0123456789abcdef.png" alt="封面" title="标题" loading="lazy">'
            in rendered)
    assert "<table>" in rendered and "<th>平台</th>" in rendered and "<td>1200</td>" in rendered
    assert "<hr>" in rendered
    assert_safe(rendered)


def test_pasted_html_figures_and_h1_are_kept_safe():
    rendered = render_markdown(
        '<figure><img src="https://img.example/a.jpg" alt="a" width="300" height="200">'
        "<figcaption>图 1</figcaption></figure>\n\n<h1>大标题</h1>"
    )
    assert '<figure><img src="https://img.example/a.jpg" alt="a" width="300" height="200" loading="lazy">' in rendered
    assert "<figcaption>图 1</figcaption>" in rendered
    assert "<h2>大标题</h2>" in rendered and "<h1" not in rendered


BROKEN_MARKDOWN = [
    "", " ", "\n\n\n", "[未闭合的链接(", "![图片](", "```\n没有结束的代码块", "<div", "<a href='", "</p></p>",
    "| a | b |\n|--", "*" * 5000, "_" * 5000, "> " * 500 + "深", "- " * 500 + "深", "1. " * 500,
    "[" * 3000 + "]" * 3000, "<" * 3000, "&#xFFFFFFFF; &#0; &bogus; &", "\x00\x01\x02\ufffd\u202e", "\ud800",
    "# \n## \n######## 七个井号", "[[session:]] [[session:abc]] [[session:99999999999999]]",
    "全角标点：“引号”，（括号）！😀 图片\n图片\n\n\n\n",
]


@pytest.mark.parametrize("body", BROKEN_MARKDOWN)
def test_broken_markdown_never_raises(body):
    rendered = render_markdown(body)
    assert isinstance(rendered, str)
    assert_safe(rendered)
    assert isinstance(excerpt(body), str)
    assert isinstance(booking_card_ids(body), list)


def test_a_line_that_is_only_a_marker_becomes_a_card_slot_in_order():
    body = "介绍\n[[session:7]]\n\n- 列表里\n\n  [[session:3]]\n\n[[session:7]]\n\n行内 [[session:5]] 不算"
    assert booking_card_ids(body) == [7, 3]
    rendered = render_markdown(body)
    assert rendered.count('<div class="booking-card-slot" data-session-id="7"></div>') == 2
    assert '<div class="booking-card-slot" data-session-id="3"></div>' in rendered
    assert "<p>介绍</p>" in rendered
    assert "行内 [[session:5]] 不算" in rendered
    assert_safe(rendered, slots_allowed=3)


def test_markers_in_code_are_text_and_forged_slots_are_stripped():
    body = (
        "```\n[[session:1]]\n```\n\n    [[session:2]]\n\n"
        '<div class="booking-card-slot" data-session-id="3"></div>\n\n'
        '<p><div class="booking-card-slot" data-session-id="4"></div></p>'
    )
    assert booking_card_ids(body) == []
    rendered = render_markdown(body)
    assert "booking-card-slot" not in rendered
    assert "[[session:1]]" in rendered and "[[session:2]]" in rendered
    assert str(fill_booking_cards(rendered, lambda session_id: "CARD")) == rendered


def test_fill_booking_cards_puts_each_card_in_its_slot():
    rendered = render_markdown("开头\n\n[[session:1]]\n\n中间\n\n[[session:2]]\n")
    filled = fill_booking_cards(rendered, lambda session_id: f"<section>卡片{session_id}</section>" * (session_id == 1))
    assert str(filled) == "<p>开头</p>\n<section>卡片1</section>\n<p>中间</p>\n\n"
    assert hasattr(filled, "__html__")  # Markup: a template shows it as HTML


def test_excerpt_is_plain_text_cut_with_an_ellipsis():
    body = ("# 小红书运营\n\n**玺承集团**的 [课程](https://x.example) 帮你 &amp; 你的团队。\n\n"
            "[[session:3]]\n\n" + "好" * 200)
    text = excerpt(body, 40)
    assert text.startswith("小红书运营 玺承集团的 课程 帮你 & 你的团队。")
    assert len(text) == 40 and text.endswith("…")
    assert "<" not in text and "session" not in text and "**" not in text
    assert excerpt("短文", 120) == "短文"
