"""How staff find a person by name: the search key stored with each account, and a typed query
folded the same way.

Staff type a name as they heard it: 王吉 as `wang ji`, `wangji` or `wj`; 司马·光 as 司马光;
阿依古丽·买买提 without the middle dot, or with another of the dots keyboards make. The key holds
three spellings of the name, each folded (no separators, lower case), separated by a space that a
folded query never contains, so a substring match cannot run across two of them:

    王吉      -> "王吉 wangji wj"
    司马·光   -> "司马光 simaguang smg"

It is computed when a name is written (User.name's validator), never per row at query time: a
session's roster is then searched by one indexed-free LIKE over its own rows, whatever its size
(docs/performance.md, "roster search").
"""
from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from pypinyin import lazy_pinyin
from pypinyin.constants import PINYIN_DICT
from pypinyin.contrib.tone_convert import to_normal

# Dropped from names and queries alike: spaces, the middle dots of compound and transliterated
# names (· U+00B7, ・ U+30FB, ･ U+FF65, • U+2022, ‧ U+2027, ∙ U+2219, ⋅ U+22C5), and the hyphens,
# periods and apostrophes of Latin-script names. Brackets such as 《 stay: they are not in names.
_SEPARATORS = re.compile(r"[\s\u00b7\u30fb\uff65\u2022\u2027\u2219\u22c5.\-'\u2019_]+")
# Full-width ASCII (ＷＡＮＧ, typed with a Chinese IME) as its plain form; not NFKC on the whole
# text, which would also rewrite compatibility ideographs that some names are stored with.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}

KEY_LENGTH = 400  # users.search_key: a 50-character name's three spellings fit


def fold(text: str | None) -> str:
    """A name or a query as compared: full-width ASCII narrowed, accents dropped (Müller, typed
    as muller), separators dropped, case folded, NFC."""
    text = unicodedata.normalize("NFD", (text or "").translate(_FULL_WIDTH))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", _SEPARATORS.sub("", text).casefold())


def name_search_key(name: str | None) -> str | None:
    """The stored key for a person's name (None for no name)."""
    compact = fold(name)
    if not compact:
        return None
    syllables = [s.casefold() for s in lazy_pinyin(compact, errors=_readings_of_rare) if s]
    full = "".join(syllables)
    if full == compact:  # nothing to spell in pinyin (Anna Müller): the name alone
        return compact[:KEY_LENGTH]
    initials = "".join(syllable[0] for syllable in syllables)
    return " ".join((compact, full, initials))[:KEY_LENGTH]


def _readings_of_rare(run: str) -> list[str]:
    """pypinyin's own dictionary lacks some characters of the extension blocks (𠮷 U+20BB7): their
    reading comes from pypinyin-dict's zdic data. Anything else that has no reading (Latin
    letters, digits) stays as it is, one item per run."""
    # Latin letters and digits need no dictionary: do not load one for them (Lo: ideographs).
    rare = _rare_readings() if any(unicodedata.category(ch) == "Lo" for ch in run) else {}
    items = []
    for has_reading, chars in itertools.groupby(run, key=lambda ch: ord(ch) in rare):
        if has_reading:
            items.extend(rare[ord(ch)] for ch in chars)
        else:
            items.append("".join(chars))
    return items


@functools.cache
def _rare_readings() -> dict[int, str]:
    """Toneless first readings of the characters pypinyin's dictionary lacks (about 1,700).

    Loaded once per process on the first name that needs it (about 0.1 s): the module holds
    42,000 readings (about 60 MB while it loads), so only what fills pypinyin's gaps is kept."""
    import sys

    from pypinyin_dict.pinyin_data import zdic

    readings = {code: to_normal(value.split(",")[0]) for code, value in zdic.pinyin_dict.items()
                if code not in PINYIN_DICT}
    sys.modules.pop(zdic.__name__, None)
    return readings
