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
# A ticket link as the QR code holds it (SITE_URL + /t/<code>), on any host and under any path
# prefix: a link printed before the site moved still names its code. Query and fragment ignored.
_TICKET_LINK = re.compile(r"^https?://[^/?#\s]+(?:/[^?#\s]*)?/t/([A-Za-z0-9-]{1,32})/?(?:[?#]\S*)?$", re.IGNORECASE)
_ANY_LINK = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def new_ticket_code() -> str:
    """LENGTH letters of ALPHABET, each uniform and independent: the digits of one uniform number
    below 31^12 (one draw from the system's random source, where a letter each made twelve)."""
    number = secrets.randbelow(len(ALPHABET) ** LENGTH)
    letters = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[digit])
    return "".join(letters)


def normalise_ticket_code(typed: str) -> str:
    """What a scanner or a person typed ('k7mq-2xpd 9rtw') as the stored code ('K7MQ2XPD9RTW')."""
    return _NOT_CODE.sub("", (typed or "").upper())


def ticket_code_from_scan(scanned: str) -> str:
    """The stored code in what the door received: a ticket link read off the QR code
    ('https://xue.example.com/t/K7MQ2XPD9RTW'), or a code typed or scanned from an older ticket
    ('k7mq-2xpd 9rtw'). Any other link yields '' (no ticket), not the letters of its address."""
    text = (scanned or "").strip()
    link = _TICKET_LINK.match(text)
    if link:
        return normalise_ticket_code(link.group(1))
    if _ANY_LINK.match(text):
        return ""
    return normalise_ticket_code(text)


def format_ticket_code(code: str | None) -> str:
    """Grouped by four for reading: K7MQ-2XPD-9RTW."""
    if not code:
        return ""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def ticket_qr(code: str) -> segno.QRCode:
    """The ticket's QR code. Its payload is the ticket link, not the bare code: WeChat's own
    scanner (or any phone camera) then opens the ticket page, and the door's check-in page takes
    the code out of the link (`ticket_code_from_scan`).

    `make_qr`, not `make`: segno would pick a Micro QR code for a short payload, which many
    phone cameras cannot read. Level M survives a scratched screen; a typical link (about 40
    characters) stays at version 3 (29×29 modules), easy to read off a phone.
    """
    return segno.make_qr(ticket_link(code), error="m")


def ticket_qr_svg(code: str) -> str:
    """The QR code as inline SVG for the ticket page. No size is written into the SVG: the page's
    CSS scales it (it stays sharp at any size)."""
    return ticket_qr(code).svg_inline(omitsize=True, dark="#000", light="#fff", border=4)


def ticket_qr_png(code: str) -> bytes:
    """The same QR code as a PNG, attached to confirmation emails (mail apps show images, not SVG)."""
    buffer = io.BytesIO()
    ticket_qr(code).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def ticket_url(registration_id: int) -> str:
    """The ticket page's full address on SITE_URL (the holder's, behind login), for email."""
    return absolute_url("booking.ticket", registration_id=registration_id)


def ticket_link(code: str) -> str:
    """The ticket's short public link, which its QR code holds: SITE_URL + /t/<code>. The route
    (roster.ticket_link_views) shows the holder their ticket, staff the check-in action, anyone
    else next to nothing: the code is a bearer secret."""
    return absolute_url("ticket_link.show", code=code)
