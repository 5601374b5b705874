"""Certificate serials: their format, and reading one that a person typed.

A serial is `XC<year>-<session id, 4+ digits>-<number in the session, 4+ digits>`, e.g.
XC2025-0002-0017. People copy it from paper or a phone photo and type it as they can: with spaces,
in lower case, without the dashes, with a Chinese input method's full-width letters and dashes
(ＸＣ２０２５－０００２－００１７, —, ‐). `typed_serial` reduces all of that to the serials it may mean.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PREFIX = "XC"
_GROUP_DIGITS = 4  # the session id and the number are zero-padded to at least this many digits
# After NFKC: characters people type between the groups, or that a copy brings along unseen.
_MINUS_SIGNS = {"\u2212", "\u02d7", "\u2796", "\u30fc", "\uff70"}  # − ˗ ➖ ー ｰ (look like a dash)
_COMPACT = re.compile(rf"{PREFIX}(\d{{4}})(\d{{{2 * _GROUP_DIGITS},}})")


def format_serial(year: int, session_id: int, number: int) -> str:
    return f"{PREFIX}{year}-{session_id:0{_GROUP_DIGITS}d}-{number:0{_GROUP_DIGITS}d}"


@dataclass(frozen=True)
class TypedSerial:
    shown: str  # what to show back to the person: the serial with its dashes where it is one
    candidates: tuple[str, ...]  # the serials it can mean (empty: it cannot be a serial)


def _is_separator(character: str) -> bool:
    category = unicodedata.category(character)
    # Dashes (Pd: - ‐ – — ﹣ ...), spaces (Z*), and controls / invisible format characters (C*:
    # NUL, zero-width space, a BOM pasted along).
    return category == "Pd" or category[0] in "ZC" or character in _MINUS_SIGNS


def typed_serial(text: str) -> TypedSerial:
    """The serials a typed text can mean. Separators go and dashes are put back by the format;
    when the session id or the number has more than 4 digits, the compact text is ambiguous
    (XC2025123450017) and every split is a candidate: a serial exists or it does not."""
    text = unicodedata.normalize("NFKC", text).upper()
    compact = "".join(c for c in text if not _is_separator(c))
    match = _COMPACT.fullmatch(compact)
    if match is None:
        return TypedSerial(compact, ())
    year, digits = match.groups()
    candidates = tuple(f"{PREFIX}{year}-{digits[:split]}-{digits[split:]}"
                       for split in range(_GROUP_DIGITS, len(digits) - _GROUP_DIGITS + 1))
    if len(candidates) == 1:
        return TypedSerial(candidates[0], candidates)
    # Ambiguous: the person's own separators may say which one they meant.
    dashed = "-".join(re.split(r"(?:\W|_)+", "".join("-" if _is_separator(c) else c for c in text).strip("-")))
    return TypedSerial(dashed if dashed in candidates else compact, candidates)
