"""The completion certificate (结业证书) as a one-page PDF, A4 landscape.

Drawn straight on a reportlab canvas at fixed positions (no platypus document: one page, no
flow), with the CJK fonts of app/common/fonts.py: the main TrueType font is embedded as subsets
of the glyphs used, characters it lacks are drawn with a fallback, never dropped. The name and
the course sentence are Paragraphs (wordWrap='CJK') given a fixed box: they shrink until they
fit it, so a long name or title never runs off the page. The QR code is vector rectangles (one per
horizontal run of dark modules): faster and smaller than a PNG, and sharp when printed.

Needs an application context (the font settings come from the app's config).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date

import segno
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from app.common.fonts import PdfFonts, pdf_fonts

PAGE = landscape(A4)  # 841.9 × 595.3 pt
WIDTH, HEIGHT = PAGE
RED = colors.HexColor("#9b1c1c")
GOLD = colors.HexColor("#b8892d")
INK = colors.HexColor("#222222")
LEADING = 1.45  # line height / font size for the wrapped blocks

# The boxes the wrapped blocks must stay in: (left, top, width, height) in points. Between the
# title above and the QR code / seal below; `tests/test_certificate_pdf.py` checks them.
NAME_BOX = (120.0, HEIGHT - 182, WIDTH - 240, 58.0)
NAME_SIZES = (34.0, 14.0)  # largest, smallest
BODY_BOX = (110.0, HEIGHT - 262, WIDTH - 220, 132.0)
BODY_SIZES = (18.0, 9.0)

QR_SIZE = 88.0  # points, quiet zone included (about 31 mm: scans from a printed sheet)
QR_BORDER = 2  # modules of quiet zone; the page around it is white too
QR_LEFT, QR_BOTTOM = 78.0, 84.0
SEAL_CENTRE = (WIDTH - 190, 150.0)
SEAL_RADIUS = 44.0


@dataclass(frozen=True)
class CertificateContent:
    organisation: str  # 玺承集团
    name: str  # the student's name as it should be printed
    course_title: str
    start_date: date  # Shanghai dates of the camp
    end_date: date
    hours: int  # 学时
    place: str  # city
    issued_on: date
    serial: str  # XC2025-0002-0017
    verify_url: str  # the public verification page: the QR code's payload
    # Issued by exception (破例颁发, staff's reason, attendance rule not met): the sentence then
    # claims no completed course, only the student's participation, approved by the organiser.
    by_exception: bool = False
    # The course asks for fewer days than the session has (min_attendance_days): the holder may have
    # missed one, so the sentence does not say 完成全部课程.
    fewer_days_required: bool = False


@dataclass(frozen=True)
class FittedBlock:
    """A Paragraph wrapped to its box: drawn at `size`, `height` tall once scaled by `scale`
    (1 unless even the smallest size overflowed the box, when the block is scaled down to fit)."""

    paragraph: Paragraph
    size: float
    height: float
    scale: float


def render_certificate(content: CertificateContent) -> bytes:
    fonts = pdf_fonts()  # registered once per process
    buffer = io.BytesIO()
    # The initial font is ours: reportlab's default (Helvetica) would be referenced, not embedded.
    canvas = Canvas(buffer, pagesize=PAGE, pageCompression=1, initialFontName=fonts.main)
    canvas.setTitle(_("%(name)s 结业证书 · %(course)s", name=content.name, course=content.course_title))
    canvas.setAuthor(content.organisation)
    canvas.setSubject(_("证书编号：%(serial)s", serial=content.serial))
    canvas.setCreator(content.organisation)

    _draw_frame(canvas)
    canvas.setFillColor(INK)
    _draw_line(canvas, fonts, content.organisation, 20, WIDTH / 2, HEIGHT - 86, max_width=WIDTH - 240,
               char_space=4)
    canvas.setFillColor(RED)
    _draw_line(canvas, fonts, _("结业证书"), 46, WIDTH / 2, HEIGHT - 146, char_space=14)

    canvas.setFillColor(INK)
    name = fit_block(fonts, content.name, NAME_BOX, NAME_SIZES, TA_CENTER)
    _draw_block(canvas, name, NAME_BOX, middle=True)
    left, top, width, height = NAME_BOX
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.8)
    canvas.line(WIDTH / 2 - 150, top - height - 4, WIDTH / 2 + 150, top - height - 4)

    body = fit_block(fonts, certificate_sentence(content), BODY_BOX, BODY_SIZES, TA_LEFT, indent=2)
    _draw_block(canvas, body, BODY_BOX, middle=False)

    _draw_qr(canvas, qr_matrix(content.verify_url), QR_LEFT, QR_BOTTOM, QR_SIZE)
    _draw_line(canvas, fonts, _("扫码验证"), 10, QR_LEFT + QR_SIZE / 2, QR_BOTTOM - 14)
    _draw_line(canvas, fonts, _("证书编号：%(serial)s", serial=content.serial), 10, WIDTH / 2, 52,
               max_width=WIDTH / 2 - 40)

    _draw_seal(canvas, fonts, content)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def certificate_sentence(content: CertificateContent) -> str:
    """于 2025年9月17日 至 2025年9月19日 参加《…》，完成全部课程，共计 24 学时，准予结业。"""
    start, end = chinese_date(content.start_date), chinese_date(content.end_date)
    if content.by_exception:  # 学时 are the course's, not claimed as this student's
        if content.start_date == content.end_date:
            return _("于 %(start)s 参加《%(course)s》课程学习（课程共计 %(hours)d 学时），经主办方审核，准予结业。",
                     start=start, course=content.course_title, hours=content.hours)
        return _("于 %(start)s 至 %(end)s 参加《%(course)s》课程学习（课程共计 %(hours)d 学时），"
                 "经主办方审核，准予结业。", start=start, end=end, course=content.course_title, hours=content.hours)
    if content.fewer_days_required:
        return _("于 %(start)s 至 %(end)s 参加《%(course)s》课程学习（课程共计 %(hours)d 学时），出勤达到结业要求，"
                 "准予结业。", start=start, end=end, course=content.course_title, hours=content.hours)
    if content.start_date == content.end_date:
        return _("于 %(start)s 参加《%(course)s》，完成全部课程，共计 %(hours)d 学时，准予结业。",
                 start=start, course=content.course_title, hours=content.hours)
    return _("于 %(start)s 至 %(end)s 参加《%(course)s》，完成全部课程，共计 %(hours)d 学时，准予结业。",
             start=start, end=end, course=content.course_title, hours=content.hours)


def chinese_date(day: date) -> str:
    return _("%(year)d年%(month)d月%(day)d日", year=day.year, month=day.month, day=day.day)


# --- the QR code -------------------------------------------------------------------------------

def qr_matrix(verify_url: str) -> tuple[bytearray, ...]:
    """The modules of the certificate's QR code (1 = dark), top row first, no quiet zone.

    `make_qr`, never a Micro QR (which phone cameras often cannot read); level M survives a
    crease or a stain on a printed sheet."""
    return segno.make_qr(verify_url, error="m").matrix


def qr_runs(matrix: tuple[bytearray, ...]) -> list[tuple[int, int, int]]:
    """(row, column, length) of each horizontal run of dark modules: one rectangle each."""
    runs = []
    for row, modules in enumerate(matrix):
        column, count = 0, len(modules)
        while column < count:
            if modules[column]:
                start = column
                while column < count and modules[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return runs


def _draw_qr(canvas: Canvas, matrix: tuple[bytearray, ...], left: float, bottom: float, size: float) -> None:
    modules = len(matrix)
    module = size / (modules + 2 * QR_BORDER)
    canvas.saveState()
    canvas.translate(left + QR_BORDER * module, bottom + QR_BORDER * module)
    canvas.scale(module, module)
    # In module units, row 0 at the top: the rectangles are written as small integers ("3 20 5 1 re").
    path = canvas.beginPath()
    for row, column, length in qr_runs(matrix):
        path.rect(column, modules - 1 - row, length, 1)
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


# --- text ---------------------------------------------------------------------------------------

def fit_block(fonts: PdfFonts, text: str, box: tuple[float, float, float, float], sizes: tuple[float, float],
              alignment: int, indent: float = 0) -> FittedBlock:
    """`text` as a Paragraph in the largest size from sizes[0] down to sizes[1] whose wrapped
    height fits the box; below the smallest size the block is scaled down instead of overflowing."""
    _left, _top, width, height = box
    largest, smallest = sizes
    markup = fonts.markup(text)
    # A first guess from the text's width, so that a short text wraps once and a long one a few
    # times rather than once per size.
    width_at_1pt = sum(stringWidth(piece, font, 1) for font, piece in fonts.runs(text))
    size = largest
    while size > smallest:
        lines = math.ceil((width_at_1pt * size + indent * size) / width * 1.02)
        if lines * size * LEADING <= height:
            break
        size -= 1
    size = max(size, smallest)
    while True:
        style = ParagraphStyle("certificate", fontName=fonts.main, fontSize=size, leading=size * LEADING,
                               alignment=alignment, wordWrap="CJK", firstLineIndent=indent * size)
        paragraph = Paragraph(markup, style)
        _w, wrapped = paragraph.wrap(width, 10 * height)
        if wrapped <= height:
            return FittedBlock(paragraph, size, wrapped, 1.0)
        if size <= smallest:
            # Only for absurd texts (a course title of hundreds of characters): wrap at the full
            # width, then scale the whole block down into the box.
            scale = height / wrapped
            paragraph.wrap(width / scale, 10 * height / scale)
            return FittedBlock(paragraph, size, height, scale)
        size = max(size - 1, smallest)


def _draw_block(canvas: Canvas, block: FittedBlock, box: tuple[float, float, float, float], middle: bool) -> None:
    left, top, _width, height = box
    bottom = top - (height + block.height) / 2 if middle else top - block.height
    canvas.saveState()
    canvas.translate(left, bottom)
    canvas.scale(block.scale, block.scale)
    block.paragraph.drawOn(canvas, 0, 0)
    canvas.restoreState()


def _draw_line(canvas: Canvas, fonts: PdfFonts, text: str, size: float, centre_x: float, y: float,
               max_width: float | None = None, char_space: float = 0) -> None:
    """One line centred on `centre_x`, each run in its font; shrunk to `max_width` if given."""
    runs = fonts.runs(text)
    count = len(text)

    def width_at(points: float, spacing: float) -> float:
        return sum(stringWidth(piece, font, points) for font, piece in runs) + spacing * max(count - 1, 0)

    width = width_at(size, char_space)
    if max_width and width > max_width:
        ratio = max_width / width
        size, char_space = size * ratio, char_space * ratio
        width = width_at(size, char_space)
    # Saved and restored: drawText leaves its font and character spacing in the canvas state,
    # where the Paragraphs drawn next would inherit the spacing.
    canvas.saveState()
    text_object = canvas.beginText(centre_x - width / 2, y)
    text_object.setCharSpace(char_space)
    for font, piece in runs:
        text_object.setFont(font, size)
        text_object.textOut(piece)
    canvas.drawText(text_object)
    canvas.restoreState()


def _draw_frame(canvas: Canvas) -> None:
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(3)
    canvas.rect(20, 20, WIDTH - 40, HEIGHT - 40)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(0.8)
    canvas.rect(29, 29, WIDTH - 58, HEIGHT - 58)


def _draw_seal(canvas: Canvas, fonts: PdfFonts, content: CertificateContent) -> None:
    """Where the organisation's seal is stamped by hand: a dashed circle, labelled underneath."""
    x, y = SEAL_CENTRE
    canvas.saveState()
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(1)
    canvas.setDash(3, 3)
    canvas.circle(x, y, SEAL_RADIUS)
    canvas.restoreState()
    canvas.setFillColor(INK)
    _draw_line(canvas, fonts, _("%(organisation)s（盖章）", organisation=content.organisation), 12, x,
               y - SEAL_RADIUS - 20, max_width=260)
    place_and_date = " · ".join(part for part in (content.place, chinese_date(content.issued_on)) if part)
    _draw_line(canvas, fonts, place_and_date, 12, x, y - SEAL_RADIUS - 40, max_width=260)


def unprintable_fields(name: str, course_title: str, place: str) -> list[tuple[str, list[str]]]:
    """(姓名 / 课程名称 / 地点, its characters no PDF font has) for each printed field that has any:
    a certificate is not issued with these unless staff give a reason."""
    fonts = pdf_fonts()
    fields = ((_("姓名"), name), (_("课程名称"), course_title), (_("地点"), place or ""))
    return [(what, missing) for what, text in fields if (missing := fonts.missing(text))]
