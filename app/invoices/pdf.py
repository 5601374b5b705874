"""An invoice's PDF as staff upload it: read within its size cap, accepted only when it is a PDF a
reader can open (the name and Content-Type the browser sends are not trusted)."""
from __future__ import annotations

import io
import logging

from pypdf import PasswordType, PdfReader
from werkzeug.datastructures import FileStorage

from app.common.uploads import read_limited
from app.invoices.errors import PdfEncrypted, PdfInvalid, PdfMissing, PdfTooLarge

PDF_MAGIC = b"%PDF-"
# A PDF's pages are read to check it; an invoice has one or two. A file claiming thousands is no
# invoice, and walking them would be slow.
MAX_PAGES = 50
# A sloppy but readable PDF (a missing xref entry pypdf repairs) is no news for the log.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_upload(upload: FileStorage | None, limit: int) -> bytes:
    """The upload's bytes, reading one past `limit` at most (never the whole of a huge file)."""
    if upload is None or not upload.filename:
        raise PdfMissing()
    data = read_limited(upload, limit)
    if data is None:
        raise PdfTooLarge(limit)
    if not data:
        raise PdfMissing()
    return data


def check_pdf(data: bytes) -> None:
    """PdfInvalid unless `data` is a PDF whose pages pypdf can read; PdfEncrypted when it needs a
    password to open (the requester could not read it)."""
    if not data.startswith(PDF_MAGIC):
        raise PdfInvalid()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise PdfEncrypted()
        pages = len(reader.pages)
        if not 1 <= pages <= MAX_PAGES:
            raise PdfInvalid()
        for page in reader.pages:
            page.mediabox  # noqa: B018  (reading each page's box parses the page tree)
    except (PdfEncrypted, PdfInvalid):
        raise
    except Exception as error:  # pypdf raises PdfReadError, ValueError, KeyError ... on a broken file
        raise PdfInvalid() from error
