"""Readable URL slugs from Chinese titles: 1688运营10天 -> 1688-yun-ying-10-tian.

Courses, articles, columns and tags all get their generated slugs here, so every page name is
made by the same rules.
"""
from __future__ import annotations

import re
import unicodedata

from pypinyin import lazy_pinyin
from sqlalchemy import select

from app.extensions import db

MAX_GENERATED_SLUG_CHARS = 80  # the shortest slug column (courses, columns, tags) holds 80
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def _ascii(word: str) -> str:
    # Accents go, the letters stay: "Café" -> "cafe" rather than "caf".
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode("ascii")


def pinyin_slug(text: str, max_chars: int = MAX_GENERATED_SLUG_CHARS) -> str:
    """Lower-case pinyin syllables and ASCII words joined by hyphens, cut between words to at
    most `max_chars`.

    Runs of ASCII letters and digits stay whole ("10" never becomes "1-0"); characters without
    a pinyin reading (rare ones such as 𠮷, punctuation, emoji) are dropped. Returns "" when
    nothing is left: each caller has its own fallback name.
    """
    # Full-width "１０" and "ＷｅＣｈａｔ", common in Chinese text, become ASCII first.
    text = unicodedata.normalize("NFKC", text or "")
    # errors=...: runs pypinyin cannot read (ASCII words, numbers, symbols) come back whole.
    words = lazy_pinyin(text, errors=lambda chars: [chars])
    slug = "-".join(part for word in words for part in _NOT_SLUG.split(_ascii(word).lower()) if part)
    if len(slug) <= max_chars:
        return slug
    head = slug[: max_chars + 1]  # one more, to see whether the cut falls on a hyphen
    # Cut at the last hyphen so no syllable is left half; a single overlong word is cut hard.
    return head.rsplit("-", 1)[0] if "-" in head else slug[:max_chars]


def numbered_slug(base: str, number: int) -> str:
    """`base-N`: the base cut to 70 characters, without a dangling hyphen, so it still fits the column."""
    return f"{base[:70].rstrip('-')}-{number}"


def unused_slug(slug_column, base: str) -> str:
    """`base`, or `base-2`, `base-3` ... whichever no row has yet in `slug_column` (e.g. Course.slug)."""
    query = select(slug_column).where(slug_column.startswith(base[:70].rstrip("-"), autoescape=True))
    taken = set(db.session.scalars(query))
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = numbered_slug(base, number)
    return slug
