"""Article Markdown to safe HTML, booking-card markers, plain-text excerpts.

The pipeline is markdown-it-py (CommonMark with tables and strikethrough, raw HTML allowed so
editors can paste a <figure>) followed by nh3, an allow-list sanitiser: whatever the author typed,
only the tags and attributes below reach a reader. Booking cards are marked with a random token
while rendering and turned into their placeholder only after sanitising, so an author cannot forge
one by typing the placeholder's HTML (nh3 strips it like any other unknown markup).
"""
from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import nh3
from flask import current_app, has_app_context
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markupsafe import Markup

# Raise when the output for the same Markdown changes, so `flask cms rerender` refreshes the
# HTML cached in older revisions.
RENDERER_VERSION = 1

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6",  # h1 is renamed h2 after sanitising: the page title is the h1
    "p", "br", "hr", "ul", "ol", "li", "blockquote", "strong", "em", "del", "s", "code", "pre",
    "a", "img", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
}
# Relative URLs (/media/..., #anchor) are kept; every other scheme (javascript:, data:, vbscript:,
# file: ...) is dropped with its attribute.
URL_SCHEMES = {"http", "https", "mailto"}
EXTERNAL_REL = "noopener nofollow"

_CARD_MARKER = re.compile(r"\[\[session:(\d{1,9})\]\]")
# nh3 (html5ever) writes every attribute as name="value" with " escaped, so a start tag is
# exactly this; values may contain < or >, which is why tags are matched whole.
_START_TAG = re.compile(r'<(a|img|h1)((?:\s+[^\s=>/"]+(?:="[^"]*")?)*)\s*(/?)>')
_END_H1 = re.compile(r"</h1>")
_HREF = re.compile(r'\shref="([^"]*)"')
_SLOT = re.compile(r'<div class="booking-card-slot" data-session-id="(\d+)"></div>')


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str | None) -> str:
    """Text any database and nh3 accept: NUL dropped (PostgreSQL refuses it), lone surrogates (from
    a JSON "\\ud800" or a badly decoded file; UTF-8 cannot encode them) made U+FFFD."""
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text or "")


def _booking_card_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """A block rule: a line that is only `[[session:ID]]` is a booking card.

    As a block rule it never fires inside code blocks, and it interrupts a paragraph, so the
    marker may sit on the line right after some text."""
    if state.is_code_block(start_line):
        return False
    line = state.src[state.bMarks[start_line] + state.tShift[start_line]:state.eMarks[start_line]]
    match = _CARD_MARKER.fullmatch(line.strip())
    if match is None:
        return False
    if silent:
        return True
    token = state.push("booking_card", "", 0)
    token.meta = {"session_id": int(match.group(1))}
    token.map = [start_line, start_line + 1]
    state.line = start_line + 1
    return True


def _render_booking_card(self, tokens, idx, options, env) -> str:
    # A paragraph of an unguessable token: survives sanitising as text, swapped for the slot after.
    return f'<p>{env["card_token"]}{tokens[idx].meta["session_id"]}</p>\n'


def _demote_h1(state) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.block.ruler.before(
        "table", "booking_card", _booking_card_rule,
        {"alt": ["paragraph", "reference", "blockquote", "list"]},
    )
    md.add_render_rule("booking_card", _render_booking_card)
    md.core.ruler.push("demote_h1", _demote_h1)
    return md


_MD = _markdown()
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},  # their text is code, not prose: dropped with the tag
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    link_rel=None,  # rel is set below, on external links only
    set_tag_attribute_values={"img": {"loading": "lazy"}},
    strip_comments=True,
)
_STRIP_ALL = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"}, attributes={})


def _site_host() -> str:
    if not has_app_context():
        return ""
    return (urlsplit(current_app.config.get("SITE_URL") or "").hostname or "").lower()


def _is_external(href: str, site_host: str) -> bool:
    """http(s) or protocol-relative (//host/...) to another host than the site's."""
    href = html.unescape(href).strip()
    try:
        parts = urlsplit(href)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an invalid IPv6 literal: treat as foreign
        return True
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        return False  # mailto:
    return bool(host) and host != site_host


def _finish_tags(clean_html: str) -> str:
    """After sanitising: rel on external links, h1 -> h2 (also in pasted HTML)."""
    site_host = _site_host()

    def rewrite(match: re.Match) -> str:
        name, attrs, slash = match.groups()
        if name == "h1":
            return f"<h2{attrs}>"
        if name == "a":
            href = _HREF.search(attrs)
            if href and _is_external(href.group(1), site_host):
                attrs += f' rel="{EXTERNAL_REL}"'
        return f"<{name}{attrs}{slash}>"

    return _END_H1.sub("</h2>", _START_TAG.sub(rewrite, clean_html))


def render_markdown(body: str) -> str:
    """Safe HTML for an article body. Never raises on any text."""
    card_token = f"cmscard{secrets.token_hex(12)}x"
    raw = _MD.render(storable_text(body), {"card_token": card_token})
    clean = _finish_tags(_CLEANER.clean(raw))
    return re.sub(
        rf"<p>{card_token}(\d+)</p>",
        lambda m: f'<div class="booking-card-slot" data-session-id="{int(m.group(1))}"></div>',
        clean,
    )


def booking_card_ids(body_markdown: str) -> list[int]:
    """The session ids of the body's booking cards, in order, each once."""
    ids: list[int] = []
    for token in _MD.parse(storable_text(body_markdown), {"card_token": ""}):
        if token.type == "booking_card" and token.meta["session_id"] not in ids:
            ids.append(token.meta["session_id"])
    return ids


def card_slot_ids(html_text: str) -> list[int]:
    """The session ids of the booking-card placeholders in rendered HTML (a body, or a whole page
    rendered around one), in order, each once."""
    return list(dict.fromkeys(int(found) for found in _SLOT.findall(html_text)))


def fill_booking_cards(body_html: str, render_card: Callable[[int], str]) -> Markup:
    """The cached HTML with each placeholder replaced by render_card(id) ("" drops the card).

    `body_html` must come from render_markdown (it is trusted as safe); render_card's output is
    inserted as is, so it must be escaped HTML (a rendered template)."""
    return Markup(_SLOT.sub(lambda m: str(render_card(int(m.group(1))) or ""), body_html or ""))


def excerpt(text_or_markdown: str, length: int = 120) -> str:
    """Plain text for meta descriptions and list snippets: markup, markers and extra spaces gone,
    cut at `length` characters with an ellipsis."""
    text = _CARD_MARKER.sub(" ", storable_text(text_or_markdown))
    rendered = _MD.render(text, {"card_token": ""})
    plain = " ".join(html.unescape(_STRIP_ALL.clean(rendered)).split())
    if len(plain) <= length:
        return plain
    return plain[: max(length - 1, 0)].rstrip() + "…"
