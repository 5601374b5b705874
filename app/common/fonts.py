"""The fonts of every PDF the app draws with reportlab (sign-in sheets, certificates, and any later
one): every character of a name, a course title or a venue is printed, or we know it cannot be.

- The main font is a TrueType font, embedded (as subsets of the glyphs used) so that the PDF looks
  the same in any viewer and its text can be copied and searched: `PDF_FONT_PATH` if set, else the
  first common system CJK font found (WenQuanYi Zen Hei, then others); a .ttc collection uses its
  first face. reportlab reads TrueType outlines only: an OpenType/CFF file (the usual
  NotoSansCJK-*.ttc) is refused with a logged reason and the next candidate is tried.
- Fallback fonts, in order, for what the main font lacks: `PDF_FALLBACK_FONT_PATHS`, then the other
  system fonts found, notably Hanazono Mincho (fonts-hanazono): HanaMinA has the BMP, Extension A
  and the plane-2 characters of JIS X 0213 (𠮷 U+20BB7, which WenQuanYi Zen Hei lacks), HanaMinB
  Extensions B to F (𪛖 ...); and DejaVu Sans for Latin letters with combining marks. They are
  embedded too, and registered only when a character first needs them (see PdfFonts).
- `PdfFonts.runs()` cuts a text into pieces, each drawn with the first font whose character map
  has it; `markup()` does the same for Paragraphs, `draw_string()` for a canvas. A character and the
  combining marks after it are one piece, drawn with one font (in its composed NFC form when only
  that is in a font: e + U+0301 as é), so a mark never lands beside its letter.
- A character no font has (`PdfFonts.missing()`) is drawn as the main font's .notdef glyph (blank,
  or a box), so the file still uses embedded fonts only; the callers say so: the certificate is not issued without a
  reason, the sign-in sheet marks the row.
- Without any TrueType font, reportlab's built-in CID font STSong-Light (not embedded: the viewer
  supplies the glyphs), with a warning in the log; characters outside GBK then count as missing.

reportlab's font registry is global to the process, so fonts are registered once and cached; a
font's character map is read once, when it is registered.
"""
from __future__ import annotations

import copy
import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase._cidfontdata import CIDFontInfo
from reportlab.pdfbase.cidfonts import UnicodeCIDFont, structToPDF
from reportlab.pdfbase.ttfonts import SUBSETN, TTFError, TTFont, makeToUnicodeCMap

log = logging.getLogger(__name__)

# Tried in this order after PDF_FONT_PATH and PDF_FALLBACK_FONT_PATHS: the first usable one is the
# main font (when PDF_FONT_PATH is unset), the others are fallbacks for characters it lacks. Paths
# of the Debian/Ubuntu, Fedora and Arch packages.
SYSTEM_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk (CFF: refused, see above)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    # fonts-hanazono: a Mincho style, so only ever a fallback in practice; between them the two
    # faces cover CJK Extensions A to F, where the rare characters of names live (𠮷, 䶮, 𪚥 ...).
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
    "/usr/share/fonts/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/hanazono/HanaMinB.ttf",
    # fonts-dejavu-core: combining marks (U+0300...) that no CJK font above has, for Latin names.
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)

CID_FONT_FACE = "STSong-Light"  # Adobe-GB1: Simplified Chinese, known to every PDF viewer
CID_FONT = "STSong-Light-UTF16"  # our registered name for it, see _UnicodeUTF16CIDFont

# Past this many different characters (only hostile input gets there) the memo of where each
# character is drawn starts again rather than growing.
_PLACEMENT_MEMO_SIZE = 50_000


class _TrueTypeFont(TTFont):
    """reportlab's TTFont, with characters above U+FFFF written as UTF-16 in each subset's ToUnicode
    map. reportlab 5.1 writes them as 5 hex digits ("<20BB7>"), which is not UTF-16: 𠮷 was drawn
    but lost when the text was copied, searched or read by a screen reader."""

    def addObjects(self, doc) -> None:
        state = self.state.get(doc)
        subsets = [list(subset) for subset in state.subsets] if state is not None else []
        super().addObjects(doc)  # writes the subsets and forgets them
        for number, subset in enumerate(subsets):
            if max(subset, default=0) <= 0xFFFF:
                continue
            # The name reportlab gave the subset (TTFont.addObjects): /AAAAAB+HanaMinB ...
            base_font_name = b"".join((SUBSETN(number), b"+", self.face.name, self.face.subfontNameX)).decode("pdfdoc")
            cmap = makeToUnicodeCMap(base_font_name, subset)
            for code, char in enumerate(subset):
                if char > 0xFFFF:
                    utf16 = chr(char).encode("utf-16-be").hex().upper()  # 𠮷: D842DFB7
                    cmap = cmap.replace(f"<{code:02X}> <{char:04X}>", f"<{code:02X}> <{utf16}>")
            doc.idToObject["toUnicodeCMap:" + base_font_name].content = cmap


class _UnicodeUTF16CIDFont(UnicodeCIDFont):
    """reportlab's UnicodeCIDFont writes text as UTF-16BE but declares the UCS-2 CMap (UniGB-UCS2-H),
    which cannot address characters outside the Basic Multilingual Plane: 𠮷 (U+20BB7) became two
    meaningless 2-byte codes and the viewer drew a wrong character in its place. The UTF-16 CMap
    (UniGB-UTF16-H, PDF 1.5) maps the BMP identically and reads surrogate pairs correctly."""

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


# --- characters and the marks that go with them --------------------------------------------------

def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x180B <= code <= 0x180D


def _attaches_to_previous(char: str) -> bool:
    """Combining marks (U+0300...), variation selectors and zero-width joiners belong to the
    character before them: drawn in another font, a mark would stand beside its letter."""
    return unicodedata.category(char) in ("Mn", "Mc", "Me") or char in "\u200c\u200d"


def _needs_glyph(char: str) -> bool:
    """Control and format characters (zero-width space, joiners, bidi marks) and variation selectors
    draw nothing; a font without them would draw its .notdef glyph (often a box) instead, so they are left out."""
    return unicodedata.category(char) not in ("Cc", "Cf") and not _is_variation_selector(char)


def clusters(text: str) -> list[str]:
    """`text` cut into characters, each with the marks that attach to it ("e\u0301" is one).
    Not full grapheme segmentation (UAX #29): only what decides which font draws what."""
    pieces: list[str] = []
    for char in text:
        if pieces and _attaches_to_previous(char):
            pieces[-1] += char
        else:
            pieces.append(char)
    return pieces


def _in_adobe_gb1(char: str) -> bool:
    """What the CID font STSong-Light is taken to draw: GBK, which Adobe-GB1 contains."""
    if unicodedata.category(char)[0] == "C":  # control, format, private use, unassigned, surrogate
        return False
    try:
        char.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


# --- the fonts of this process -------------------------------------------------------------------

class PdfFonts:
    """The fonts of this process: `main` for the text, `fallbacks` in order for the characters it
    lacks. Names are reportlab font names. Made once per process by load_pdf_fonts().

    A fallback font is registered the first time a character needs it: Hanazono Mincho's two faces
    take about 90 MB of memory once read, which a process that only ever prints common names
    should not pay."""

    def __init__(self, main: str, fallback_paths: Iterable[tuple[str, str | None]] = ()) -> None:
        self.main = main
        # (path, the setting it came from or None for a system font), not registered yet
        self._pending = list(fallback_paths)
        self._loaded: list[str] = []
        self._loading = threading.Lock()
        # Each font's character map, read once when the font is registered: a lookup per character.
        self._cmaps = {main: _cmap_of(main)}
        self._main_cmap = self._cmaps[main]
        self._placements: dict[str, tuple[str, str, tuple[str, ...]]] = {}

    def __repr__(self) -> str:
        return f"PdfFonts(main={self.main!r}, loaded fallbacks={self._loaded!r}, pending={len(self._pending)})"

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Every usable fallback font, in order (registering those not registered yet)."""
        while self._load_next():
            pass
        return tuple(self._loaded)

    @property
    def chain(self) -> tuple[str, ...]:
        return (self.main, *self.fallbacks)

    @property
    def loaded_fallbacks(self) -> tuple[str, ...]:
        """The fallback fonts registered so far."""
        return tuple(self._loaded)

    def _fonts(self) -> Iterator[str]:
        """The main font, then the fallbacks in order, each registered only when reached."""
        yield self.main
        index = 0
        while index < len(self._loaded) or self._load_next():
            yield self._loaded[index]
            index += 1

    def _load_next(self) -> bool:
        """Register the next usable pending fallback font; False when there is none left."""
        with self._loading:
            while self._pending:
                path, setting = self._pending.pop(0)
                name = _register_truetype(path)
                if name is None:
                    if setting:
                        log.error("%s: %s is not a TrueType font reportlab can use; it is left out", setting, path)
                    continue
                if name == self.main or name in self._loaded:
                    continue
                self._cmaps[name] = _cmap_of(name)
                self._loaded.append(name)
                log.info("PDF fallback font %s registered (%s)", name, path)
                return True
            return False

    def has(self, font_name: str, char: str) -> bool:
        cmap = self._cmaps[font_name]
        return ord(char) in cmap if cmap is not None else _in_adobe_gb1(char)

    def place(self, cluster: str) -> tuple[str, str, tuple[str, ...]]:
        """Where one character (with its marks) is drawn: (font, the text to draw, the characters of
        it no font has). The first font that has all of it as typed, or else in its NFC form; if
        none has it all, the font of its base character, and the rest counts as missing."""
        placed = self._placements.get(cluster)
        if placed is None:
            placed = self._place(cluster)
            if len(self._placements) >= _PLACEMENT_MEMO_SIZE:
                self._placements.clear()
            self._placements[cluster] = placed
        return placed

    def _place(self, cluster: str) -> tuple[str, str, tuple[str, ...]]:
        drawn = "".join(char for char in cluster if _needs_glyph(char))
        if not drawn:
            return self.main, "", ()
        composed = unicodedata.normalize("NFC", drawn)
        for font in self._fonts():
            for candidate in (drawn, composed):
                if all(self.has(font, char) for char in candidate):
                    return font, candidate, ()
        if drawn.isspace():  # an unusual space (U+2009 ...): a plain one reads the same
            return self.main, " " * len(drawn), ()
        base = next((font for font in self._fonts() if self.has(font, drawn[0])), self.main)
        return base, drawn, tuple(char for char in drawn if not self.has(base, char))

    def font_for(self, char: str) -> str:
        """The font a character (with any marks after it) is drawn with."""
        return self.place(char)[0]

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` cut into (font name, piece) runs, each piece drawn with its font."""
        main_cmap = self._main_cmap
        if main_cmap is not None and all(ord(char) in main_cmap for char in text):
            return [(self.main, text)] if text else []  # the usual case, one lookup per character
        runs: list[tuple[str, str]] = []
        for cluster in clusters(text):
            font, piece, _missing = self.place(cluster)
            if not piece:
                continue
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + piece)
            else:
                runs.append((font, piece))
        return runs

    def missing(self, text: str) -> list[str]:
        """The characters of `text` no font can draw, each once, in the order they come: what a
        certificate must not be issued with, unless staff give a reason."""
        main_cmap = self._main_cmap
        if main_cmap is not None and all(ord(char) in main_cmap for char in text):
            return []
        found: dict[str, None] = {}
        for cluster in clusters(text):
            for char in self.place(cluster)[2]:
                found[char] = None
        return list(found)

    def markup(self, text: str) -> str:
        """`text` as reportlab Paragraph markup (XML-escaped), the pieces the main font lacks
        wrapped in <font name="..."> of their fallback."""
        return "".join(
            escape(piece) if font == self.main else f'<font name="{font}">{escape(piece)}</font>'
            for font, piece in self.runs(text)
        )

    def string_width(self, text: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(piece, font, size) for font, piece in self.runs(text))

    def draw_string(self, canvas, x: float, y: float, text: str, size: float, anchor: str = "start") -> None:
        """canvas.drawString with the fallback fonts; `anchor` "start", "middle" or "end" of the text at x."""
        if anchor != "start":
            x -= self.string_width(text, size) / (2 if anchor == "middle" else 1)
        text_object = canvas.beginText(x, y)
        for font, piece in self.runs(text):
            text_object.setFont(font, size)
            text_object.textOut(piece)
        canvas.drawText(text_object)


def _cmap_of(font_name: str) -> dict[int, int] | None:
    """The character map of a registered TrueType font; None for the CID font (see has())."""
    font = pdfmetrics.getFont(font_name)
    return font.face.charToGlyph if isinstance(font, TTFont) else None


def has_glyph(font_name: str, char: str) -> bool:
    """Whether the registered font draws this character itself.

    TrueType: the font's character map says (reportlab silently draws glyph 0, .notdef, for
    anything else). A CID font's glyphs come from the viewer: taken to be GBK's (_in_adobe_gb1).
    """
    cmap = _cmap_of(font_name)
    return ord(char) in cmap if cmap is not None else _in_adobe_gb1(char)


def is_embedded(font_name: str) -> bool:
    return isinstance(pdfmetrics.getFont(font_name), TTFont)


def pdf_fonts() -> PdfFonts:
    """The fonts for the current app's PDFs (PDF_FONT_PATH, PDF_FALLBACK_FONT_PATHS, else system
    fonts), registered once per process."""
    config = current_app.config
    return load_pdf_fonts(config.get("PDF_FONT_PATH"), tuple(config.get("PDF_FALLBACK_FONT_PATHS") or ()))


def unprintable(text: str) -> list[str]:
    """The characters of `text` no font of the current app's PDFs can draw (see PdfFonts.missing)."""
    return pdf_fonts().missing(text)


_cache: dict[tuple[str | None, tuple[str, ...]], PdfFonts] = {}
_lock = threading.Lock()


def load_pdf_fonts(configured_path: str | None = None, fallback_paths: Iterable[str] = ()) -> PdfFonts:
    key = (configured_path or None, tuple(fallback_paths))
    with _lock:
        fonts = _cache.get(key)
        if fonts is None:
            fonts = _cache[key] = _register(*key)
        return fonts


def _register(configured_path: str | None, fallback_paths: tuple[str, ...]) -> PdfFonts:
    system = [path for path in SYSTEM_CJK_FONTS if Path(path).is_file()]
    # The main font: PDF_FONT_PATH, else the first usable system font. Registered now.
    candidates = [(configured_path, "PDF_FONT_PATH")] if configured_path else []
    candidates += [(path, None) for path in system]
    main, tried = None, set()
    for path, setting in candidates:
        tried.add(path)
        main = _register_truetype(path) if Path(path).is_file() else None
        if main:
            break
        if setting:
            log.error("%s: %s is not a TrueType font file reportlab can use; it is left out", setting, path)
    if main is None:
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(_UnicodeUTF16CIDFont(CID_FONT_FACE, CID_FONT))
        log.warning(
            "no TrueType CJK font found (set PDF_FONT_PATH, or install fonts-wqy-zenhei and fonts-hanazono): "
            "PDFs use the built-in CID font %s, which is not embedded; how it looks depends on the viewer",
            CID_FONT_FACE,
        )
        return PdfFonts(CID_FONT)
    # The fallbacks: PDF_FALLBACK_FONT_PATHS, then the other system fonts; registered when needed.
    fallbacks: list[tuple[str, str | None]] = []
    for path in fallback_paths:
        if Path(path).is_file():
            fallbacks.append((path, "PDF_FALLBACK_FONT_PATHS"))
        else:
            log.error("PDF_FALLBACK_FONT_PATHS: %s is not a file; it is left out", path)
    fallbacks += [(path, None) for path in system if path not in tried]
    log.info("PDF fonts: %s, fallbacks when needed from %s", main, ", ".join(path for path, _ in fallbacks) or "none")
    return PdfFonts(main, fallbacks)


def _register_truetype(path: str) -> str | None:
    """Register a .ttf (or the first face of a .ttc) under a name made from its file; None if unusable."""
    name = "CJK-" + Path(path).stem
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        collection = Path(path).suffix.lower() in (".ttc", ".otc")
        font = _TrueTypeFont(name, path, subfontIndex=0) if collection else _TrueTypeFont(name, path)
    except (TTFError, OSError) as error:
        # Typically "postscript outlines are not supported": an OpenType/CFF font.
        log.info("PDF font %s not usable by reportlab: %s", path, error)
        return None
    pdfmetrics.registerFont(font)
    return name
