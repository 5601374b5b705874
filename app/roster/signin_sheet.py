"""The printed sign-in sheet of a session (PDF, A4 landscape): every confirmed person with an
empty box to sign for each day of the camp.

Chinese is drawn with the embedded fonts of app/common/fonts.py, so the sheet prints the same
everywhere and its text can be searched; characters the main font lacks are drawn with a fallback,
and a name with a character no font has is marked on its row rather than silently misprinted.
"""
from __future__ import annotations

import io
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from pypinyin import lazy_pinyin
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from sqlalchemy import select

from app.accounts.models import User
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession
from app.common.fonts import PdfFonts, pdf_fonts
from app.common.time import site_zone, utcnow
from app.extensions import db
from app.roster.exports import day_heading
from app.roster.service import session_days

PAGE = landscape(A4)
MARGIN = 12 * mm
# 序号, 姓名, 手机号; the rest of the width is shared by the signature columns.
FIXED_WIDTHS = (14 * mm, 48 * mm, 34 * mm)
NAME_SIZE = 11
NOTE_SIZE = 7  # the note under a name that has a character no font has
CELL_PADDING = 6


def confirmed_attendees(session_id: int) -> list[tuple[str, str]]:
    """(name, phone) of every confirmed person, by the pinyin of the name (how a list of Chinese
    names is searched by eye at the door), then phone."""
    people = db.session.execute(
        select(User.name, User.phone, User.email)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.CONFIRMED)
    ).all()
    named = [(name or (email or "").split("@", 1)[0], phone or "") for name, phone, email in people]
    return sorted(named, key=lambda person: (lazy_pinyin(person[0]), person[0], person[1]))


def signin_sheet_pdf(camp: CampSession) -> bytes:
    fonts = pdf_fonts()
    days = session_days(camp)
    people = confirmed_attendees(camp.id)
    styles = _styles(fonts)
    buffer = io.BytesIO()
    title = _("《%(course)s》签到表", course=camp.course.title)
    document = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
        title=title, author=current_app.config["SITE_NAME"], subject=_session_line(camp, days),
        initialFontName=fonts.main,  # reportlab's default, Helvetica, would be referenced, not embedded
    )
    story = [
        Paragraph(fonts.markup(title + (f" {camp.label}" if camp.label else "")), styles["title"]),
        Paragraph(fonts.markup(_session_line(camp, days)), styles["subtitle"]),
        Paragraph(fonts.markup(_("已确认 %(count)d 人，按姓名拼音排序", count=len(people))), styles["subtitle"]),
        Spacer(1, 3 * mm),
        _attendee_table(people, days, fonts, styles),
    ]
    printed_at = utcnow().astimezone(site_zone()).strftime("%Y-%m-%d %H:%M")

    def footer(canvas, doc) -> None:
        canvas.saveState()
        fonts.draw_string(canvas, MARGIN, MARGIN / 2, _("导出于 %(time)s", time=printed_at), 8)
        fonts.draw_string(canvas, PAGE[0] - MARGIN, MARGIN / 2, _("第 %(page)d 页", page=doc.page), 8, anchor="end")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _session_line(camp: CampSession, days: list[date]) -> str:
    """2026年9月17日—9月19日（3天） · 杭州 玺承集团培训中心 · 地址"""
    first, last = days[0], days[-1]
    if first == last:
        dates = _("%(year)d年%(month)d月%(day)d日", year=first.year, month=first.month, day=first.day)
    elif first.year == last.year:
        dates = _("%(year)d年%(month)d月%(day)d日—%(month2)d月%(day2)d日（%(count)d天）", year=first.year,
                  month=first.month, day=first.day, month2=last.month, day2=last.day, count=len(days))
    else:
        dates = _("%(year)d年%(month)d月%(day)d日—%(year2)d年%(month2)d月%(day2)d日（%(count)d天）",
                  year=first.year, month=first.month, day=first.day, year2=last.year, month2=last.month,
                  day2=last.day, count=len(days))
    place = " ".join(part for part in (camp.city, camp.venue) if part)
    return " · ".join(part for part in (dates, place, camp.address) if part)


def _styles(fonts: PdfFonts) -> dict[str, ParagraphStyle]:
    base = dict(fontName=fonts.main, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", fontSize=18, leading=24, alignment=TA_CENTER, **base),
        "subtitle": ParagraphStyle("subtitle", fontSize=10, leading=15, alignment=TA_CENTER, **base),
        "heading": ParagraphStyle("heading", fontSize=10, leading=13, alignment=TA_CENTER, **base),
        "name": ParagraphStyle("name", fontSize=NAME_SIZE, leading=NAME_SIZE + 3, **base),
    }


def _attendee_table(people: list[tuple[str, str]], days: list[date], fonts: PdfFonts,
                    styles: dict[str, ParagraphStyle]) -> LongTable:
    signature_width = (PAGE[0] - 2 * MARGIN - sum(FIXED_WIDTHS)) / max(len(days), 1)
    header = [Paragraph(fonts.markup(text), styles["heading"])
              for text in (_("序号"), _("姓名"), _("手机号"), *(day_heading(day) for day in days))]
    name_room = FIXED_WIDTHS[1] - 2 * CELL_PADDING
    rows = [header]
    for number, (name, phone) in enumerate(people, start=1):
        # A plain string is several times faster to lay out than a Paragraph; a name needs one
        # only to wrap, to switch to a fallback font for a character, or to carry a note.
        runs = fonts.runs(name)
        missing = fonts.missing(name)
        plain = (not missing and all(font == fonts.main for font, _piece in runs)
                 and stringWidth(name, fonts.main, NAME_SIZE) <= name_room)
        if plain:
            name_cell = name
        else:
            markup = fonts.markup(name)
            if missing:
                # The character prints as the font's .notdef glyph (blank, or a box): say so on the sheet,
                # with the code point, so that the person's name is checked at the door, not guessed.
                note = _("姓名含无法打印的字：%(chars)s", chars="、".join(f"U+{ord(char):04X}" for char in missing))
                markup += f'<br/><font size="{NOTE_SIZE}">{fonts.markup(note)}</font>'
            name_cell = Paragraph(markup, styles["name"])
        rows.append([str(number), name_cell, phone, *[""] * len(days)])
    if not people:
        rows.append(["", Paragraph(fonts.markup(_("暂无已确认的学员")), styles["name"]), "", *[""] * len(days)])
    table = LongTable(
        rows,
        colWidths=[*FIXED_WIDTHS, *[signature_width] * len(days)],
        repeatRows=1,  # the heading on every page
    )
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), fonts.main, NAME_SIZE),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
        # A one-line row is then about 11 mm high: room to sign by hand. A long name wraps and its
        # row grows.
        ("TOPPADDING", (0, 1), (-1, -1), 9),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 9),
    ]))
    return table

