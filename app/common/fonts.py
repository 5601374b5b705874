"""Chinese fonts for the PDFs we draw with reportlab (sign-in sheets now, certificates later).

reportlab's own fonts have no Chinese, so:
- the main font is a TrueType font, embedded (as subsets) in every PDF so that it looks the same in
  any viewer and its text can be copied and searched: `PDF_FONT_PATH` if set, else the first common
  system CJK font found (WenQuanYi Zen Hei, then Noto Sans CJK); a .ttc collection uses its first
  face. reportlab reads TrueType outlines only: an OpenType/CFF file (the usual NotoSansCJK-*.ttc)
  is refused with a logged reason and the next candidate is tried;
- without any, reportlab's built-in CID font STSong-Light (not embedded: the viewer supplies the
  glyphs), with a warning in the log;
- characters the main font lacks (𠮷 U+20BB7 is not in WenQuanYi Zen Hei) are drawn with the first
  fallback that has them: the other system CJK fonts found, then the CID font. They are never
  dropped: a character no embedded font has still goes into the PDF's text, in the CID font, and
  is logged.

reportlab's font registry is global to the process, so fonts are registered once and cached.
"""
from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase._cidfontdata import CIDFontInfo
from reportlab.pdfbase.cidfonts import UnicodeCIDFont, structToPDF
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

# Tried in this order after PDF_FONT_PATH: the first usable one is the main font, the others are
# fallbacks for characters it lacks. Paths of the Debian/Ubuntu, Fedora and Arch packages.
SYSTEM_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk (CFF: refused, see above)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    # fonts-hanazono: a Mincho style, so only ever a fallback in practice; HanaMinB covers CJK
    # Extension B, where most rare name characters (𠮷, 𪨊 ...) live.
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
)

CID_FONT_FACE = "STSong-Light"  # Adobe-GB1: Simplified Chinese, known to every PDF viewer
CID_FONT = "STSong-Light-UTF16"  # our registered name for it, see _UnicodeUTF16CIDFont


class _UnicodeUTF16CIDFont(UnicodeCIDFont):
    """reportlab's UnicodeCIDFont writes text as UTF-16BE but declares the UCS-2 CMap (UniGB-UCS2-H),
    which cannot address characters outside the Basic Multilingual Plane: 𠮷 (U+20BB7) became two
    meaningless 2-byte codes and the viewer drew a wrong character in its place. The UTF-16 CMap
    (UniGB-UTF16-H, PDF 1.5) maps the BMP identically and reads surrogate pairs correctly, so such a
    character is either drawn right or left blank by a viewer whose font lacks it, never replaced."""

    def __init__(self, face: str, registered_name: str) -> None:
        super().__init__(face)
        self.encodingName = self.encodingName.replace("-UCS2-", "-UTF16-")
        self.name = self.fontName = registered_name

    def addObjects(self, doc) -> None:
        internal_name = "F" + repr(len(doc.fontMapping) + 1)
        # A copy: the parent class writes into reportlab's shared dictionary, which is not safe when
        # two threads draw PDFs at once.
        font_dict = copy.deepcopy(CIDFontInfo[self.face.name])
        font_dict["Name"] = "/" + internal_name
        font_dict["Encoding"] = "/" + self.encodingName
        reference = doc.Reference(structToPDF(font_dict), internal_name)
        doc.idToObject["BasicFonts"].dict[internal_name] = reference
        doc.fontMapping[self.name] = "/" + internal_name


@dataclass(frozen=True)
class PdfFonts:
    """The registered fonts of this process: `main` for the text, `fallbacks` in order for the
    characters it lacks (the last one is always the CID font). Names are reportlab font names."""

    main: str
    fallbacks: tuple[str, ...]

    @property
    def main_is_embedded(self) -> bool:
        return is_embedded(self.main)

    def font_for(self, char: str) -> str:
        """The font a character is drawn with: the main font if it has it, else the first fallback that does."""
        if char.isspace() or has_glyph(self.main, char):
            return self.main
        for fallback in self.fallbacks:
            if is_embedded(fallback) and has_glyph(fallback, char):
                return fallback
        _warn_missing_once(char)
        return self.fallbacks[-1]  # the CID font: the character stays in the text whatever the viewer shows

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` cut into (font name, piece) runs, each piece drawn with its font."""
        runs: list[tuple[str, str]] = []
        for char in text:
            font = self.font_for(char)
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + char)
            else:
                runs.append((font, char))
        return runs

    def markup(self, text: str) -> str:
        """`text` as reportlab Paragraph markup (XML-escaped), characters the main font lacks
        wrapped in <font name="..."> of their fallback."""
        return "".join(
            escape(piece) if font == self.main else f'<font name="{font}">{escape(piece)}</font>'
            for font, piece in self.runs(text)
        )


def has_glyph(font_name: str, char: str) -> bool:
    """Whether the registered font draws this character itself.

    TrueType: the font's character map says (TTFont.face.charToGlyph; reportlab silently draws
    glyph 0, an empty box, for anything else). A CID font's glyphs come from the viewer, which we
    cannot ask, so it is taken to have everything: it is the last resort anyway.
    """
    font = pdfmetrics.getFont(font_name)
    if isinstance(font, TTFont):
        return ord(char) in font.face.charToGlyph
    return True


def is_embedded(font_name: str) -> bool:
    return isinstance(pdfmetrics.getFont(font_name), TTFont)


def pdf_fonts() -> PdfFonts:
    """The fonts for the current app's PDFs (PDF_FONT_PATH, else system fonts), registered once."""
    return load_pdf_fonts(current_app.config.get("PDF_FONT_PATH"))


_cache: dict[str | None, PdfFonts] = {}
_lock = threading.Lock()
_warned: set[str] = set()


def load_pdf_fonts(configured_path: str | None = None) -> PdfFonts:
    key = configured_path or None
    with _lock:
        fonts = _cache.get(key)
        if fonts is None:
            fonts = _cache[key] = _register(key)
        return fonts


def _register(configured_path: str | None) -> PdfFonts:
    candidates: list[str] = []
    if configured_path:
        if Path(configured_path).is_file():
            candidates.append(configured_path)
        else:
            log.error("PDF_FONT_PATH %s is not a file; looking for a system CJK font instead", configured_path)
    candidates += [path for path in SYSTEM_CJK_FONTS if Path(path).is_file()]

    registered: list[str] = []
    seen: set[Path] = set()
    for path in candidates:
        resolved = Path(path).resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        name = _register_truetype(path)
        if name:
            registered.append(name)
        elif path == configured_path:
            log.error("PDF_FONT_PATH %s cannot be used; looking for a system CJK font instead", path)

    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(_UnicodeUTF16CIDFont(CID_FONT_FACE, CID_FONT))
    if not registered:
        log.warning(
            "no TrueType CJK font found (set PDF_FONT_PATH, or install fonts-wqy-zenhei): PDFs use the "
            "built-in CID font %s, which is not embedded; how it looks depends on the viewer", CID_FONT_FACE,
        )
        return PdfFonts(main=CID_FONT, fallbacks=(CID_FONT,))
    log.info("PDF fonts: %s, fallbacks %s", registered[0], ", ".join([*registered[1:], CID_FONT]))
    return PdfFonts(main=registered[0], fallbacks=(*registered[1:], CID_FONT))


def _register_truetype(path: str) -> str | None:
    """Register a .ttf (or the first face of a .ttc) under a name made from its file; None if unusable."""
    name = "CJK-" + Path(path).stem
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        collection = Path(path).suffix.lower() in (".ttc", ".otc")
        font = TTFont(name, path, subfontIndex=0) if collection else TTFont(name, path)
    except (TTFError, OSError) as error:
        # Typically "postscript outlines are not supported": an OpenType/CFF font.
        log.info("PDF font %s not usable by reportlab: %s", path, error)
        return None
    pdfmetrics.registerFont(font)
    return name


def _warn_missing_once(char: str) -> None:
    if char in _warned:
        return
    _warned.add(char)
    log.warning(
        "character %s (U+%04X) is in no embedded PDF font: drawn with %s, which shows it only if the "
        "viewer's font has it; set PDF_FONT_PATH to a font that has it", char, ord(char), CID_FONT_FACE,
    )
