"""Uploaded images: kept only when they decode as JPEG, PNG, GIF or WEBP, whatever they are called."""
from __future__ import annotations

import io
import os
import random

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.cms import service
from app.cms.errors import ImageInvalid, ImageTooLarge, ImageTooManyPixels
from app.cms.models import MediaFile
from app.extensions import db


@pytest.fixture
def uploads(app, ctx, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"  # created by the first upload
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def editor(ctx, admin):
    return db.session.get(User, admin)


def image_bytes(image_format: str, size=(40, 30), mode="RGB", noise=False) -> bytes:
    image = Image.new(mode, size, color=(200, 30, 60) if mode == "RGB" else 0)
    if noise:  # incompressible, so the file is about as big as the pixels
        rng = random.Random(7)
        image.frombytes(bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


def upload(data: bytes, filename: str, content_type: str = "image/png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def stored_files(folder) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


def media_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MediaFile))


@pytest.mark.parametrize("image_format, content_type, extension", [
    ("PNG", "image/png", ".png"),
    ("JPEG", "image/jpeg", ".jpg"),
    ("GIF", "image/gif", ".gif"),
    ("WEBP", "image/webp", ".webp"),
])
def test_a_real_image_is_stored_under_a_generated_name_with_its_size(uploads, editor, image_format,
                                                                     content_type, extension):
    data = image_bytes(image_format, size=(640, 480))
    media = service.save_image(upload(data, "../../我的 封面.PNG", "application/octet-stream"), editor)
    assert (media.content_type, media.width, media.height, media.size_bytes) == (content_type, 640, 480, len(data))
    assert media.filename.endswith(extension) and len(media.filename) == 32 + len(extension)
    assert media.original_name == "../../我的 封面.PNG" and media.uploaded_by_id == editor.id
    assert stored_files(uploads) == [media.filename]
    assert (uploads / media.filename).read_bytes() == data
    assert db.session.scalar(select(MediaFile.filename).where(MediaFile.id == media.id)) == media.filename


def test_the_same_file_twice_gets_two_names(uploads, editor):
    data = image_bytes("PNG")
    first = service.save_image(upload(data, "a.png"), editor)
    second = service.save_image(upload(data, "a.png"), editor)
    assert first.filename != second.filename and len(stored_files(uploads)) == 2


def test_the_type_comes_from_the_content_not_the_name(uploads, editor):
    media = service.save_image(upload(image_bytes("JPEG"), "photo.png", "image/png"), editor)
    assert media.content_type == "image/jpeg" and media.filename.endswith(".jpg")


def test_a_failed_commit_leaves_no_file_behind(uploads, editor, monkeypatch):
    """The file is written before the row is committed: if the commit fails, it must go again."""
    def failing_commit():
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", failing_commit)
        with pytest.raises(OperationalError):
            service.save_image(upload(image_bytes("PNG"), "cover.png"), editor)
    assert stored_files(uploads) == [] and media_count() == 0
    # The next upload is kept as usual.
    media = service.save_image(upload(image_bytes("PNG"), "cover.png"), editor)
    assert stored_files(uploads) == [media.filename] and media_count() == 1


def refused(uploads, error_type, file: FileStorage, editor):
    with pytest.raises(error_type) as caught:
        service.save_image(file, editor)
    db.session.rollback()
    assert stored_files(uploads) == [] and media_count() == 0
    assert caught.value.field == "image"
    return caught.value


def test_a_text_file_renamed_png_is_refused(uploads, editor):
    error = refused(uploads, ImageInvalid, upload("这不是图片\n".encode() * 50, "photo.png"), editor)
    assert "JPEG、PNG、GIF 或 WEBP" in str(error.message)


@pytest.mark.parametrize("data, name", [
    (b"", "empty.png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "x.png"),
    (image_bytes("BMP"), "real.bmp"),  # a real image, but not a type we serve
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "header-only.png"),
])
def test_other_files_are_refused(uploads, editor, data, name):
    refused(uploads, ImageInvalid, upload(data, name), editor)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_a_truncated_image_is_refused(uploads, editor, image_format):
    data = image_bytes(image_format, size=(300, 200), noise=True)
    refused(uploads, ImageInvalid, upload(data[: len(data) * 2 // 3], f"cut.{image_format.lower()}"), editor)


def test_an_image_over_the_size_limit_is_refused_with_the_limit(app, uploads, editor, monkeypatch):
    data = image_bytes("PNG", size=(400, 400), noise=True)
    monkeypatch.setitem(app.config, "CMS_MAX_IMAGE_BYTES", len(data) - 1)
    error = refused(uploads, ImageTooLarge, upload(data, "big.png"), editor)
    assert "图片太大" in str(error.message)
    monkeypatch.setitem(app.config, "CMS_MAX_IMAGE_BYTES", len(data))
    assert service.save_image(upload(data, "big.png"), editor).size_bytes == len(data)


def test_the_default_limit_is_five_megabytes(app, uploads, editor):
    assert app.config["CMS_MAX_IMAGE_BYTES"] == 5 * 1024 * 1024
    error = refused(uploads, ImageTooLarge, upload(b"\x89PNG" + b"\x00" * (5 * 1024 * 1024), "huge.png"), editor)
    assert "5 MB" in str(error.message)


def test_a_small_file_claiming_huge_dimensions_is_refused_before_decoding(uploads, editor):
    bomb = image_bytes("PNG", size=(8000, 8000), mode="1")  # 64 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    refused(uploads, ImageTooManyPixels, upload(bomb, "bomb.png"), editor)
