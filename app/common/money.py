"""Money is CNY, stored exactly (Numeric(10, 2)) and shown as ¥1,234.00."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def format_money(amount: Decimal | int | None) -> str:
    if amount is None:
        return ""
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"¥{value:,.2f}"
