"""Uploaded images: accepted only when Pillow decodes them, stored under a generated name."""
from __future__ import annotations

import io
import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from PIL import Image
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.cms.errors import ImageInvalid, ImageTooLarge, ImageTooManyPixels
from app.cms.models import MediaFile
from app.cms.rendering import storable_text
from app.common.db import write_transaction
from app.extensions import db

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


def upload_folder() -> str:
    return current_app.config["CMS_UPLOAD_FOLDER"]


def _read_limited(upload: FileStorage, limit: int) -> bytes:
    """The upload's bytes, reading one past the limit at most (never the whole of a huge file)."""
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(limit)
    if not data:
        raise ImageInvalid()
    return data


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
    """Check an uploaded image and write its file; the block adds the MediaFile it is given
    (`add_media`) in its write transaction. None for no upload.

    Reading and decoding happen before the write transaction (on SQLite its lock is shared by
    all). The file is written first so a committed row always has its file; if the block fails,
    at the insert, at a later step of its transaction or at the commit, the file is removed
    again: no row, no file.
    """
    if upload is None:
        yield None
        return
    data = _read_limited(upload, current_app.config["CMS_MAX_IMAGE_BYTES"])
    image_format, width, height = inspect_image(data)
    content_type, extension = IMAGE_TYPES[image_format]
    folder = upload_folder()
    os.makedirs(folder, exist_ok=True)
    filename = secrets.token_hex(16) + extension
    path = os.path.join(folder, filename)
    with open(path, "xb") as stored:  # "x": never overwrite, even on a (1 in 2**128) clash
        stored.write(data)
    try:
        yield MediaFile(
            filename=filename, content_type=content_type, size_bytes=len(data), width=width, height=height,
            original_name=storable_text(upload.filename)[:200],
            uploaded_by_id=actor.id if actor else None,
        )
    except BaseException:
        os.remove(path)
        raise


@write_transaction
def add_media(media: MediaFile) -> MediaFile:
    db.session.add(media)
    return media
