"""Money is CNY, stored exactly (Numeric(10, 2)) and shown as ¥1,234.00 (pages) or 1234.00 (API)."""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal


def to_fen(amount: Decimal | int) -> Decimal:
    """The amount to the fen, rounding half up (as a shop would)."""
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int | None) -> str:
    if amount is None:
        return ""
    return f"¥{to_fen(amount):,.2f}"


def plain_amount(amount: Decimal | int) -> str:
    """The amount as the API gives it: digits and a point, no sign or separators ("1234.00")."""
    return format(to_fen(amount), "f")


def fen(amount: Decimal) -> int:
    """Yuan to integer fen, the unit the payment providers speak (¥3,980.00 -> 398000). Refuses an
    amount with a part of a fen: money is never rounded silently on its way to a provider."""
    fen_amount = Decimal(amount) * 100
    if fen_amount != fen_amount.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen_amount)


def from_fen(amount: int) -> Decimal:
    """Integer fen to yuan (398000 -> Decimal('3980.00'))."""
    return (Decimal(int(amount)) / 100).quantize(Decimal("0.01"))


# What staff type as an amount: digits with at most two decimals, perhaps with ¥ or 元, thousands
# separators or full-width digits (a Chinese keyboard's). Never an exponent, NaN or Infinity: those
# are not amounts, whatever Decimal() makes of them.
_YUAN_TYPED = re.compile(r"([0-9]+)(?:\.([0-9]*))?")
_YUAN_NOISE = re.compile(r"[\s,，¥￥]|元$")
MAX_YUAN_DIGITS = 8  # Numeric(10, 2): at most 99,999,999.99


class AmountRefused(ValueError):
    """Why a typed amount is not one, in words for the person who typed it."""


def parse_yuan(typed: str) -> Decimal:
    """'3,980' / '￥3980.00' / '３９８０' -> Decimal('3980.00'); AmountRefused (with the reason in
    Chinese) for anything else, or for an amount that is not more than 0."""
    from flask_babel import gettext as _

    text = _YUAN_NOISE.sub("", unicodedata.normalize("NFKC", typed or "").strip())
    if not text:
        raise AmountRefused(_("请填写金额"))
    if text.startswith("-"):
        raise AmountRefused(_("金额必须大于 0"))
    match = _YUAN_TYPED.fullmatch(text)
    if match is None:
        raise AmountRefused(_("请填写金额，例如 3980 或 3980.00"))
    whole, fraction = match.group(1), match.group(2) or ""
    if len(whole.lstrip("0")) > MAX_YUAN_DIGITS:
        raise AmountRefused(_("金额太大"))
    if len(fraction) > 2:
        raise AmountRefused(_("金额最多两位小数（精确到分）"))
    amount = Decimal(f"{whole}.{fraction or '0'}").quantize(Decimal("0.01"))
    if amount <= 0:
        raise AmountRefused(_("金额必须大于 0"))
    return amount
