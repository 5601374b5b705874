"""What the PDF tests read back from a file: its text, and every font it uses with whether the font
program is inside the file. Shared by the certificate and the sign-in sheet tests."""
from __future__ import annotations

import unicodedata

from pypdf import PdfReader

from app.common.fonts import PdfFonts

# Real names with characters WenQuanYi Zen Hei lacks (𠮷 U+20BB7, 𡈼 U+2123C, 𪚥 U+2A6A5: CJK
# Extension B, plane 2) or that are rare in the BMP (䶮 U+4DAE in Extension A, 龘 U+9F98), and a
# name typed with combining marks (a Vietnamese name as macOS sends it, decomposed: NFD).
RARE_NAMES = ["王𠮷", "李䶮", "陈𡈼", "张龘", "𪚥", "Nguye\u0302\u0303n Thi\u0323 Ha\u0300"]
# CJK Extension I (Unicode 15.1, 2023): newer than every font installed; the tests check that none has it.
UNPRINTABLE = "\U0002EBF0"


def nfc(text: str) -> str:
    """Text compared as Unicode does: e + U+0301 is é (the PDF may draw the composed form)."""
    return unicodedata.normalize("NFC", text)


def all_text(reader: PdfReader) -> str:
    return nfc("\n".join(page.extract_text() for page in reader.pages))


def fonts_used(reader: PdfReader) -> list:
    """Every font dictionary the pages use: their /Font resources, those of the forms they draw,
    and the descendant fonts of composite (Type0) fonts."""
    found, seen = [], set()

    def visit_resources(resources) -> None:
        resources = resources.get_object() if resources is not None else {}
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            found.append(font)
            for descendant in font.get("/DescendantFonts") or []:
                found.append(descendant.get_object())
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                visit_resources(xobject["/Resources"])

    for page in reader.pages:
        visit_resources(page.get("/Resources"))
    return found


def unembedded_fonts(reader: PdfReader) -> list[str]:
    """The /BaseFont of each font whose program is not in the file (a font a viewer must supply)."""
    missing = []
    for font in fonts_used(reader):
        if font.get("/Subtype") == "/Type0":
            continue  # its descendant is checked instead
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            missing.append(str(font.get("/BaseFont")))
    return missing


def assert_no_font_has(fonts: PdfFonts, char: str) -> None:
    """The test character really is in no installed font: checked against the fonts' own cmaps."""
    assert not any(fonts.has(name, char) for name in fonts.chain), f"U+{ord(char):04X} is in a font now"
