"""税号 as people paste them, and which ones an invoice can carry.

The 税号 of a company is its 统一社会信用代码 (GB 32100-2015): 18 characters of digits and capital
letters without I, O, Z, S and V, the last a check character over the other 17. It has been every
company's tax id since 2015-10 (三证合一), and the tax platform checks it, so a typo here means an
invoice that must be voided and issued again: the check character is verified.

Older 纳税人识别号 of 15, 17 or 20 characters (a 税务登记证号: area code and organisation code;
or a 个体工商户's ID card number plus two digits) are still accepted by the tax platform for the
few taxpayers who never moved to the new code, so they are accepted here too, by their length and
characters only (they have no check character in common); staff see them marked as old-style.

What people paste comes from WeChat (a 开票信息 card, a chat message): full-width letters and
digits, spaces or zero-width characters between groups, lower case, sometimes the label with it
("税号：9133…"). Those are folded before checking; anything else is refused with the reason.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

USCC_LENGTH = 18
LEGACY_LENGTHS = (15, 17, 20)
# The code's alphabet, in the order of the values its check character is computed with.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_FORBIDDEN = "IOZSV"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}
# A label pasted with the code ("税号：", "纳税人识别号:", "统一社会信用代码 "), already NFKC-folded.
_LABEL = re.compile(r"^(?:税号|纳税人识别号|统一社会信用代码|社会信用代码|信用代码)[:：]?")
_DIGITS_AND_LETTERS = re.compile(r"[0-9A-Z]+")


class TaxIdRefused(ValueError):
    """Why a typed 税号 is not one, in words for the person who typed it."""


@dataclass(frozen=True)
class TaxId:
    value: str
    legacy: bool  # an old-style 15/17/20-character id, not a 统一社会信用代码


def normalise(typed: str | None) -> str:
    """'税号：９１３３ ０１００ ｍａ２…' -> '91330100MA2…': NFKC (full-width to ASCII), spaces,
    zero-width and other invisible characters and hyphens removed, a pasted label dropped, capitals."""
    text = unicodedata.normalize("NFKC", typed or "")
    text = "".join(char for char in text if not char.isspace() and unicodedata.category(char) not in ("Cf", "Cc"))
    text = _LABEL.sub("", text)
    return text.replace("-", "").upper()


def uscc_check_character(first_17: str) -> str:
    total = sum(_VALUES[char] * weight for char, weight in zip(first_17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def parse(typed: str | None) -> TaxId:
    """The normalised 税号, or TaxIdRefused with the reason in Chinese."""
    value = normalise(typed)
    if not value:
        raise TaxIdRefused(_l("企业发票请填写税号（统一社会信用代码）"))
    if not _DIGITS_AND_LETTERS.fullmatch(value):
        raise TaxIdRefused(_l("税号只能包含数字和字母，请检查是否多复制了其他文字"))
    if len(value) in LEGACY_LENGTHS:
        return TaxId(value, legacy=True)
    if len(value) != USCC_LENGTH:
        raise TaxIdRefused(_l("税号应为 18 位统一社会信用代码（旧税号为 15、17 或 20 位），您填写的是 %(n)s 位",
                              n=len(value)))
    forbidden = sorted({char for char in value if char in USCC_FORBIDDEN})
    if forbidden:
        raise TaxIdRefused(_l("统一社会信用代码中没有字母 %(letters)s，请检查是否把数字 0、1、2、5 等输成了字母",
                              letters="、".join(forbidden)))
    if uscc_check_character(value[:-1]) != value[-1]:
        raise TaxIdRefused(_l("税号校验位不符，请逐位核对（常见原因：抄错一位，或相邻两位颠倒）"))
    return TaxId(value, legacy=False)


def is_legacy(value: str) -> bool:
    return len(value) in LEGACY_LENGTHS
