"""The certificate PDF: its text, its fonts, its layout on the page and its QR code; every
character of a name, a course title or a place printed whole, in embedded fonts."""
from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import date

import pytest
import segno
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase import pdfmetrics

from app.certificates import pdf
from app.certificates.pdf import CertificateContent, render_certificate, unprintable_fields
from app.common import fonts
from tests.helpers import RARE_NAMES, UNPRINTABLE, assert_no_font_has, nfc, unembedded_fonts

URL = "https://xc.example.com/certificates/verify/XC2025-0002-0017"
CONTENT = CertificateContent(
    organisation="玺承集团", name="王𠮷", course_title="快速玩转小红书成长特训营",
    start_date=date(2025, 9, 17), end_date=date(2025, 9, 19), hours=24, place="杭州",
    issued_on=date(2025, 9, 19), serial="XC2025-0002-0017", verify_url=URL,
)
LONG_NAME = "阿卜杜热合曼·买买提江·艾合买提·阿不都拉"[:20]
LONG_TITLE = ("快速玩转小红书成长特训营暨抖音直播带货与私域流量运营实战高级研修班" * 2)[:60]
FRAME = 29  # the inner frame of the page, in points from each edge


def read(content: CertificateContent) -> PdfReader:
    return PdfReader(io.BytesIO(render_certificate(content)))


def flat_text(reader: PdfReader) -> str:
    """The page's text with the line breaks of wrapped blocks removed."""
    return reader.pages[0].extract_text().replace("\n", "")


def text_lines(reader: PdfReader) -> list[tuple[str, float, float, float]]:
    """(text, left, baseline, right) of every piece of text drawn, in page coordinates."""
    main = fonts.pdf_fonts().main
    pieces = []

    def visit(text, cm, tm, _font, size):
        if not text.strip():
            return
        scale = cm[0] * tm[0]
        left = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
        baseline = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        # Characters the main font lacks are taken as 1 em wide: a CJK character's width.
        width = sum(pdfmetrics.stringWidth(char, main, size) if fonts.has_glyph(main, char) else size
                    for char in text.strip())
        pieces.append((text.strip(), left, baseline, left + width * scale))

    reader.pages[0].extract_text(visitor_text=visit)
    return pieces


def test_the_text_can_be_found_in_the_pdf(ctx):
    reader = read(CONTENT)
    text = flat_text(reader)
    assert "结业证书" in text and "玺承集团" in text
    assert "王𠮷" in text  # the rare character is in the text, not dropped or replaced
    assert ("于 2025年9月17日 至 2025年9月19日 参加《快速玩转小红书成长特训营》，"
            "完成全部课程，共计 24 学时，准予结业。") in text
    assert "证书编号：XC2025-0002-0017" in text
    assert "杭州 · 2025年9月19日" in text and "玺承集团（盖章）" in text and "扫码验证" in text
    assert reader.metadata.title == "王𠮷 结业证书 · 快速玩转小红书成长特训营"
    assert reader.metadata.author == "玺承集团"
    assert len(reader.pages) == 1 and reader.pages[0].mediabox.width > reader.pages[0].mediabox.height


def test_a_one_day_course_has_one_date(ctx):
    text = flat_text(read(replace(CONTENT, end_date=CONTENT.start_date, hours=8)))
    assert "于 2025年9月17日 参加《快速玩转小红书成长特训营》，完成全部课程，共计 8 学时" in text
    assert "至" not in text


def test_the_selected_font_is_embedded_as_a_subset(ctx):
    main = fonts.pdf_fonts().main
    data = render_certificate(CONTENT)
    reader = PdfReader(io.BytesIO(data))
    page_fonts = [ref.get_object() for ref in reader.pages[0]["/Resources"]["/Font"].values()]
    face = pdfmetrics.getFont(main).face.name.decode()  # WenQuanYiZenHei for wqy-zenhei.ttc
    # /AAAAAA+WenQuanYiZenHei-0: a subset of the font app/common/fonts.py selected.
    assert any(font["/BaseFont"].partition("+")[2].startswith(face + "-") for font in page_fonts)
    # Only the glyphs used: the whole of WenQuanYi Zen Hei would be about 17 MB, HanaMinA (which
    # draws 𠮷) 22 MB.
    assert len(data) < 60_000
    # Every font is in the file: no Helvetica left from reportlab's default, no CID font.
    assert unembedded_fonts(reader) == []


def test_fonts_are_registered_once_not_per_certificate(ctx):
    render_certificate(CONTENT)
    registered = set(pdfmetrics.getRegisteredFontNames())
    render_certificate(replace(CONTENT, name="李四"))
    assert set(pdfmetrics.getRegisteredFontNames()) == registered
    assert fonts.pdf_fonts() is fonts.pdf_fonts()


def inside(box: tuple[float, float, float, float], piece: tuple[str, float, float, float]) -> bool:
    left, top, width, height = box
    _text, start, baseline, end = piece
    return left - 0.5 <= start and end <= left + width + 0.5 and top - height - 0.5 <= baseline <= top


@pytest.mark.parametrize("name, title", [
    (LONG_NAME, LONG_TITLE),
    ("王𠮷" * 10, LONG_TITLE),  # 20 characters, half of them drawn by the fallback font
    (LONG_NAME * 5, LONG_TITLE * 20),  # far beyond anything real: scaled down, still on the page
])
def test_long_names_and_titles_wrap_inside_the_page(ctx, name, title):
    assert len(LONG_NAME) == 20 and len(LONG_TITLE) == 60
    content = replace(CONTENT, name=name, course_title=title)
    reader = read(content)
    text = "".join(flat_text(reader).split())  # a scaled-down block's line breaks come out as spaces
    assert name in text and f"《{title}》" in text

    pieces = text_lines(reader)
    width, height = pdf.PAGE
    for piece in pieces:
        assert piece[1] >= FRAME and piece[3] <= width - FRAME, piece
        assert FRAME <= piece[2] <= height - FRAME, piece
    name_pieces = [piece for piece in pieces if piece[0] in name]
    body_pieces = [piece for piece in pieces if piece[0] in pdf.certificate_sentence(content)]
    assert "".join(piece[0] for piece in name_pieces) == name
    assert all(inside(pdf.NAME_BOX, piece) for piece in name_pieces), name_pieces
    assert all(inside(pdf.BODY_BOX, piece) for piece in body_pieces), body_pieces


def test_a_long_title_is_wrapped_not_shrunk_to_nothing(ctx):
    fitted = pdf.fit_block(fonts.pdf_fonts(), pdf.certificate_sentence(replace(CONTENT, course_title=LONG_TITLE)),
                           pdf.BODY_BOX, pdf.BODY_SIZES, 0, indent=2)
    assert fitted.height <= pdf.BODY_BOX[3] and fitted.scale == 1
    assert fitted.size >= 14  # still easily readable
    assert len(fitted.paragraph.blPara.lines) >= 3  # it wrapped


def qr_modules_drawn(reader: PdfReader) -> list[list[int]]:
    """The QR code as drawn: the page's rectangles of height 1 in module units (x y w 1 re),
    row 0 at the bottom of the code, turned back into a grid, top row first."""
    runs = [[float(value) for value in operands]
            for operands, operator in ContentStream(reader.pages[0].get_contents(), reader).operations
            if operator == b"re" and float(operands[3]) == 1]
    size = int(max(y for _x, y, _w, _h in runs)) + 1
    grid = [[0] * size for _ in range(size)]
    for x, y, w, _h in runs:
        for column in range(int(x), int(x + w)):
            grid[size - 1 - int(y)][column] = 1
    return grid


def test_the_qr_code_drawn_encodes_the_verify_url(ctx):
    drawn = qr_modules_drawn(read(CONTENT))
    expected = [list(row) for row in segno.make_qr(URL, error="m").matrix]
    assert drawn == expected
    other = [list(row) for row in segno.make_qr(URL.replace("0017", "0018"), error="m").matrix]
    assert drawn != other  # a different serial would be a different code
    assert [list(row) for row in pdf.qr_matrix(URL)] == expected


# --- rare characters ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", RARE_NAMES)
def test_a_name_with_rare_characters_prints_whole_in_embedded_fonts(ctx, name):
    reader = read(replace(CONTENT, name=name))
    assert nfc(name) in flat_text(reader)  # not "王" for 王𠮷: every character, in the text layer too
    assert unembedded_fonts(reader) == []
    assert unprintable_fields(name, CONTENT.course_title, CONTENT.place) == []


def test_a_course_title_and_place_with_rare_characters_print_whole(ctx):
    content = replace(CONTENT, name="王𠮷", course_title="𠮷祥䶮𪚥电商实战营", place="𡈼城")
    reader = read(content)
    text = flat_text(reader)
    assert "《𠮷祥䶮𪚥电商实战营》" in text and "𡈼城 · 2025年9月19日" in text
    assert unembedded_fonts(reader) == []


def test_rare_characters_are_drawn_by_the_fallback_fonts_not_a_viewer_font(ctx):
    """The reported bug: 𠮷 is not in WenQuanYi Zen Hei. Hanazono Mincho draws it; pypdf reads it
    back only through the subset's ToUnicode map, which reportlab writes only for a character the
    font has (anything else is code 0: the .notdef glyph), so the text is the proof of the glyph."""
    chain = fonts.pdf_fonts()
    assert not chain.has(chain.main, "𠮷") and chain.has(chain.main, "王")
    assert [font for font, _piece in chain.runs("王𠮷")] == [chain.main, chain.font_for("𠮷")]
    assert fonts.is_embedded(chain.font_for("𠮷"))
    reader = read(replace(CONTENT, name="王𠮷"))
    assert "王𠮷" in flat_text(reader)
    base_fonts = {str(font["/BaseFont"]) for font in
                  (ref.get_object() for ref in reader.pages[0]["/Resources"]["/Font"].values())}
    assert any("HanaMin" in name for name in base_fonts) and "/STSong-Light" not in base_fonts


def test_a_combining_mark_stays_with_its_letter(ctx):
    chain = fonts.pdf_fonts()
    for text in ("Nguye\u0302\u0303n", "Jose\u0301 王𠮷", "Zoe\u0308", "a\u0301\u0302 b"):
        runs = chain.runs(text)
        # No piece starts with a mark: a mark drawn in another font than its letter lands beside it.
        assert all(unicodedata.combining(piece[0]) == 0 for _font, piece in runs), runs
        assert nfc("".join(piece for _font, piece in runs)) == nfc(text)
    # The letter and its marks in one font: the main font's é when it has no U+0301 of its own.
    assert chain.runs("Jose\u0301") == [(chain.main, "José")]


def test_a_character_no_font_has_is_reported_and_still_never_referenced(ctx):
    chain = fonts.pdf_fonts()
    assert_no_font_has(chain, UNPRINTABLE)
    assert chain.missing(f"王{UNPRINTABLE}明\ue000王") == [UNPRINTABLE, "\ue000"]  # Ext I, private use
    assert chain.missing("\U0003FFFD") == ["\U0003FFFD"]  # unassigned
    assert chain.missing("快速玩转小红书成长特训营 玺承集团 张喆 李堃 买买提·艾力 2025年") == []
    assert chain.missing("王\u200b𠮷\ufe0f") == []  # a zero-width space and a variation selector draw nothing
    assert unprintable_fields(f"王{UNPRINTABLE}", "课程", "杭州") == [("姓名", [UNPRINTABLE])]
    assert unprintable_fields("王五", f"课程{UNPRINTABLE}", f"杭州{UNPRINTABLE}") == [
        ("课程名称", [UNPRINTABLE]), ("地点", [UNPRINTABLE])]
    # Drawn anyway (issued with a reason): the main font's .notdef glyph, still an embedded font.
    reader = read(replace(CONTENT, name=f"王{UNPRINTABLE}"))
    assert "王" in flat_text(reader) and unembedded_fonts(reader) == []


def test_characters_above_the_bmp_are_utf16_in_the_to_unicode_map(ctx):
    """reportlab 5.1 wrote U+20BB7 as <20BB7>, which is not UTF-16: copying the name lost 𠮷."""
    reader = read(replace(CONTENT, name="𠮷𪚥"))
    cmaps = [font["/ToUnicode"].get_object().get_data() for font in
             (ref.get_object() for ref in reader.pages[0]["/Resources"]["/Font"].values()) if "/ToUnicode" in font]
    joined = b"\n".join(cmaps)
    assert b"<D842DFB7>" in joined and b"<D869DEA5>" in joined  # 𠮷 and 𪚥 as surrogate pairs
    assert b"<20BB7>" not in joined
