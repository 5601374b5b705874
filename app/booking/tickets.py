"""Ticket codes: what a student shows at the door and staff scan or type."""
from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L: a code read aloud or typed from a screenshot is not misread.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 12  # 31^12 ≈ 2^59: unguessable, and collisions stay out of reach at any realistic volume
_NOT_CODE = re.compile(r"[^A-Z0-9]")


def new_ticket_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_ticket_code(typed: str) -> str:
    """What a scanner or a person typed ('k7mq-2xpd 9rtw') as the stored code ('K7MQ2XPD9RTW')."""
    return _NOT_CODE.sub("", (typed or "").upper())


def format_ticket_code(code: str | None) -> str:
    """Grouped by four for reading: K7MQ-2XPD-9RTW."""
    if not code:
        return ""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))
