"""Ticket codes: what a student shows at the door and staff scan or type."""
from __future__ import annotations

import io
import re
import secrets

import segno

from app.common.urls import absolute_url

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


def ticket_qr_svg(code: str) -> str:
    """The ticket's QR code as inline SVG; the payload is exactly the stored code, which is what
    the check-in input expects from a scanner.

    `make_qr`, not `make`: for a payload this short segno would pick a Micro QR code, which many
    door scanners and phone cameras cannot read. Uppercase letters and digits fit QR's
    alphanumeric mode, so the code stays small (21×21 modules) and easy to read off a screen.
    No size is written into the SVG: the page's CSS scales it (it stays sharp at any size).
    """
    return segno.make_qr(code, error="m").svg_inline(omitsize=True, dark="#000", light="#fff", border=4)


def ticket_qr_png(code: str) -> bytes:
    """The same QR code as a PNG, attached to confirmation emails (mail apps show images, not SVG)."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def ticket_url(registration_id: int) -> str:
    """The ticket page's full address on SITE_URL, for email (composed by the outbox sender)."""
    return absolute_url("booking.ticket", registration_id=registration_id)
