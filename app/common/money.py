"""Money is CNY, stored exactly (Numeric(10, 2)) and shown as ¥1,234.00 (pages) or 1234.00 (API)."""
from __future__ import annotations

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
