"""Uploaded images: accepted only when Pillow decodes them, stored under a generated name in the
media store (app/cms/storage.py), and the addresses pages give them."""
from __future__ import annotations

import io
import logging
import re
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app, url_for
from markupsafe import escape
from PIL import Image
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.cms.errors import ImageInvalid, ImageStoreUnavailable, ImageTooLarge, ImageTooManyPixels
from app.cms.models import MediaFile
from app.cms.rendering import storable_text
from app.cms.storage import StorageUnavailable, media_storage
from app.common.db import write_transaction
from app.common.uploads import read_limited
from app.common.urls import absolute_url, site_url
from app.extensions import db

log = logging.getLogger(__name__)

# The real type, from decoding: the uploaded name and Content-Type are not trusted.
IMAGE_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "GIF": ("image/gif", ".gif"),
    "WEBP": ("image/webp", ".webp"),
}
# A few kilobytes of PNG can claim 100000 x 100000 pixels; decoding that would take gigabytes.
# 40 megapixels is far more than any article image (a phone photo is 12).
MAX_IMAGE_PIXELS = 40_000_000

# Uploaded images are named here: random hex and the extension of the decoded type.
MEDIA_NAME_RE = re.compile(r"^[0-9a-f]{16,64}\.[a-z]{3,4}$")


def inspect_image(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of a complete, decodable JPEG/PNG/GIF/WEBP, else ImageInvalid."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                probe.verify()  # structure and checksums, without decoding
            if image_format not in IMAGE_TYPES:
                raise ImageInvalid()
            # verify() leaves the image unusable, so reopen it to read the size and decode it
            # fully: a truncated JPEG passes verify() and fails only here.
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageTooManyPixels(MAX_IMAGE_PIXELS)
                image.load()
    except (ImageInvalid, ImageTooManyPixels):
        raise
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError ... on bad input
        raise ImageInvalid() from error
    return image_format, width, height


def save_image(upload: FileStorage, actor: User | None) -> MediaFile:
    """Check an uploaded image and keep it: the file on disk, then its MediaFile row (the editor's
    script uploads an image on its own, before the article is saved)."""
    with stored_image(upload, actor) as media:
        return add_media(media)


@contextmanager
def stored_image(upload: FileStorage | None, actor: User | None) -> Iterator[MediaFile | None]:
    """Check an uploaded image and store it; the block adds the MediaFile it is given
    (`add_media`) in its write transaction. None for no upload.

    Reading and decoding happen before the write transaction (on SQLite its lock is shared by
    all), and so does storing, which may wait on the network. The image is stored first so a
    committed row always has its image; if the block fails, at the insert, at a later step of its
    transaction or at the commit, the image is removed again: no row, no image. A store that does
    not take the image is ImageStoreUnavailable, before anything is written to the database.
    """
    if upload is None:
        yield None
        return
    limit = current_app.config["CMS_MAX_IMAGE_BYTES"]
    data = read_limited(upload, limit)
    if data is None:
        raise ImageTooLarge(limit)
    if not data:
        raise ImageInvalid()
    image_format, width, height = inspect_image(data)
    content_type, extension = IMAGE_TYPES[image_format]
    filename = secrets.token_hex(16) + extension
    storage = media_storage()
    try:
        storage.put(filename, data, content_type)
    except StorageUnavailable as error:
        log.error("image %s not stored: %s", filename, error)
        raise ImageStoreUnavailable() from error
    try:
        yield MediaFile(
            filename=filename, content_type=content_type, size_bytes=len(data), width=width, height=height,
            original_name=storable_text(upload.filename)[:200],
            uploaded_by_id=actor.id if actor else None,
        )
    except BaseException:
        _discard(storage, filename)
        raise


def _discard(storage, filename: str) -> None:
    """Remove an image no row will name. If the store is away, the image stays behind, unnamed and
    harmless (nothing links to it); the error the caller is handling is the one to report."""
    try:
        storage.delete(filename)
    except StorageUnavailable as error:
        log.warning("image %s kept without a row: %s", filename, error)


@write_transaction
def add_media(media: MediaFile) -> MediaFile:
    db.session.add(media)
    return media


# --- the addresses pages give images ------------------------------------------------------------

def media_url(filename: str) -> str:
    """Where a page loads an uploaded image: MEDIA_PUBLIC_URL/<name> (nginx or a CDN in front of the
    bucket) when set, else this site's /media/<name>."""
    public = current_app.config["MEDIA_PUBLIC_URL"]
    return f"{public}/{filename}" if public else url_for("cms.media", filename=filename)


def absolute_media_url(filename: str) -> str:
    """The same, absolute (og:image): a MEDIA_PUBLIC_URL that is a path (/files) is on SITE_URL's host."""
    public = current_app.config["MEDIA_PUBLIC_URL"]
    if not public:
        return absolute_url("cms.media", filename=filename)
    if public.startswith("/") and not public.startswith("//"):
        site = urlsplit(site_url())
        return f"{site.scheme}://{site.netloc}{public}/{filename}"
    return f"{public}/{filename}"


# nh3 writes <img> start tags with every attribute as name="value" and a value's " escaped, and text
# has its < escaped: a match is a real image's src, never text that looks like one.
_MEDIA_SRC_RE = re.compile(r'(<img(?:\s+[^\s=>/"]+(?:="[^"]*")?)*?\s+src=")/media/([0-9a-f]{16,64}\.[a-z]{3,4})"')


def with_public_media(html: str) -> str:
    """Article HTML with its uploaded images loaded from MEDIA_PUBLIC_URL when set.

    Bodies keep /media/<name> (the editor inserts it): they do not change when the public address
    does, and that route keeps serving every image, from whichever store holds it."""
    if not current_app.config["MEDIA_PUBLIC_URL"]:
        return html
    return _MEDIA_SRC_RE.sub(lambda m: f'{m.group(1)}{escape(media_url(m.group(2)))}"', html)
