"""Uploaded images in a bucket every server shares (MEDIA_STORAGE=s3), through the S3 API over HTTP
against a real local server (tests/s3_server.py): stored, served by any app instance, served from
MEDIA_PUBLIC_URL, moved there by `flask media migrate`, and refused cleanly when the store is away."""
from __future__ import annotations

import io
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app import create_app
from app.cms import service
from app.cms.models import Article, MediaFile
from app.cms.storage import media_storage
from app.extensions import db
from tests.conftest import free_port
from tests.factories import make_editor, png_bytes, upload_png, write_article
from tests.helpers import EDITOR_FORM, csrf_token_from, field_errors_in, login, submit_editor
from tests.s3_server import s3_client
from tests.test_config import PRODUCTION, _run_python

ROOT = Path(__file__).resolve().parent.parent
YEAR = "max-age=31536000"


def _upload(client, content: bytes, name: str = "门店实拍.png"):
    token = csrf_token_from(client.get("/admin/articles/new").get_data(as_text=True))
    return client.post("/admin/articles/images", data={"image": (io.BytesIO(content), name)},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _media_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MediaFile))


def _assert_served(response, content: bytes) -> None:
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == content
    cache = response.headers["Cache-Control"]
    assert YEAR in cache and "public" in cache and "immutable" in cache
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- uploads and serving --------------------------------------------------------------------

def test_an_upload_is_stored_in_the_bucket_and_served_from_it(app, admin_client, s3_media):
    content = png_bytes((40, 30))

    answer = _upload(admin_client, content).get_json()

    name = answer["filename"]
    assert answer["url"] == f"/media/{name}" and answer["markdown"] == f"![门店实拍](/media/{name})"
    assert s3_media.object_names() == [name]
    stored = s3_media.get(name)
    assert stored["Body"].read() == content and stored["ContentType"] == "image/png"
    assert not os.path.exists(app.config["CMS_UPLOAD_FOLDER"])  # nothing on this machine's disk
    response = admin_client.get(f"/media/{name}")
    _assert_served(response, content)
    # A browser that has it asks again with its ETag: 304, without the bytes.
    again = admin_client.get(f"/media/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_an_image_uploaded_through_one_instance_is_served_by_another(app, admin_client, s3_media, tmp_path):
    """Two servers behind nginx: the same database and bucket, each its own (empty) local folder."""
    content = png_bytes((64, 36))
    name = _upload(admin_client, content).get_json()["filename"]
    other = create_app("testing", overrides={**s3_media.settings, "CMS_UPLOAD_FOLDER": str(tmp_path / "server-2")})
    try:
        assert other.config["SQLALCHEMY_DATABASE_URI"] == app.config["SQLALCHEMY_DATABASE_URI"]
        _assert_served(other.test_client().get(f"/media/{name}"), content)
        with other.app_context():
            assert media_storage().read(name) == content
        # And the other way round: an editor on the second server, a reader on the first.
        editor = other.test_client()
        assert login(editor, "admin@example.com", "secret-pass-1").status_code == 302
        second = _upload(editor, png_bytes((20, 20)), "第二台.png").get_json()["filename"]
        _assert_served(admin_client.get(f"/media/{second}"), png_bytes((20, 20)))
    finally:
        with other.app_context():
            db.engine.dispose()
    assert not os.path.exists(tmp_path / "server-2")


def test_a_cover_posted_with_the_editor_form_goes_to_the_bucket(app, admin_client, s3_media):
    form = {**EDITOR_FORM, "cover_file": (io.BytesIO(png_bytes((64, 36))), "cover.png")}

    response = submit_editor(admin_client, "/admin/articles/new", form)

    assert response.status_code == 302
    with app.app_context():
        cover = db.session.scalar(select(Article.cover_image))
    assert s3_media.object_names() == [cover]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<img src="/media/{cover}" alt="封面" id="cover-thumb">' in page


def test_a_failed_commit_removes_the_object_again(app, ctx, admin, s3_media, monkeypatch):
    """The object is stored before the row is committed: if the commit fails, it must go again."""
    from sqlalchemy.exc import OperationalError
    from werkzeug.datastructures import FileStorage

    from app.accounts.models import User

    def failing_commit():
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    actor = db.session.get(User, admin)
    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", failing_commit)
        with pytest.raises(OperationalError):
            service.save_image(FileStorage(io.BytesIO(png_bytes()), "cover.png"), actor)
    assert s3_media.object_names() == []


def test_an_image_whose_object_is_gone_is_a_404(app, client, s3_media):
    make_editor(app)
    with app.app_context():
        name = upload_png()
    s3_media.client.delete_object(Bucket=s3_media.name, Key=name)
    assert client.get(f"/media/{name}").status_code == 404


# --- MEDIA_PUBLIC_URL -------------------------------------------------------------------------

def test_pages_load_images_from_the_public_url_and_old_media_links_keep_working(app, admin_client, s3_media,
                                                                                 monkeypatch):
    s3_media.make_public()
    public = s3_media.public_url  # the bucket itself here; nginx or a CDN in front of it in production
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", public)
    content = png_bytes((48, 32))

    answer = _upload(admin_client, content).get_json()

    name = answer["filename"]
    assert answer["url"] == f"{public}/{name}"  # what the editor's page shows now
    assert answer["markdown"] == f"![门店实拍](/media/{name})"  # what the body keeps, whatever the setting
    make_editor(app)
    with app.app_context():
        # Text that looks like an image tag (a code sample) is text, not an image: left alone.
        body = f"{answer['markdown']}\n\n代码示例：`<img src=\"/media/{name}\">`"
        write_article("公开地址", slug="public-media", body=body, cover=name)
    html = admin_client.get("/articles/public-media").get_data(as_text=True)
    assert html.count(f'src="{public}/{name}"') == 2  # the cover and the body's image
    assert f'<meta property="og:image" content="{public}/{name}">' in html
    assert f'<code>&lt;img src="/media/{name}"&gt;</code>' in html
    policy = admin_client.get("/articles/public-media").headers["Content-Security-Policy"]
    assert f"img-src 'self' data: {s3_media.endpoint}" in policy
    fetched = requests.get(f"{public}/{name}", timeout=10)  # as a reader's browser does
    assert fetched.status_code == 200 and fetched.content == content
    assert fetched.headers["Content-Type"] == "image/png" and "immutable" in fetched.headers["Cache-Control"]
    # Pages and article HTML from before the setting name /media/<name>: still served.
    _assert_served(admin_client.get(f"/media/{name}"), content)
    feed = admin_client.get("/feed.xml").get_data(as_text=True)
    assert f"{public}/{name}" in feed


# --- the store away ---------------------------------------------------------------------------

def _nothing_listening() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("broken", ["no server", "no bucket"])
def test_an_unreachable_store_gives_the_editor_a_message_and_keeps_no_row(app, admin_client, s3_media, monkeypatch,
                                                                         broken):
    if broken == "no server":
        monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", _nothing_listening())
    else:
        monkeypatch.setitem(app.config, "S3_BUCKET", "no-such-bucket")
    started = time.monotonic()

    response = _upload(admin_client, png_bytes())

    assert response.status_code == 503
    assert response.get_json() == {"error": "图片暂时无法保存：图片存储服务没有响应，请稍后重新上传"}
    assert time.monotonic() - started < 20  # a few retries, not boto3's default minute
    assert _media_count(app) == 0 and s3_media.object_names() == []


def test_an_unreachable_store_refuses_the_cover_and_keeps_the_typing(app, admin_client, s3_media, monkeypatch):
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", _nothing_listening())
    form = {**EDITOR_FORM, "body": "认真写的正文", "cover_file": (io.BytesIO(png_bytes()), "cover.png")}

    response = submit_editor(admin_client, "/admin/articles/new", form)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors_in(page, "cover_file") == ["图片暂时无法保存：图片存储服务没有响应，请稍后重新上传"]
    assert "认真写的正文" in page
    assert _media_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Article)) == 0


def test_an_unreachable_store_while_serving_is_a_503_not_a_500(app, client, s3_media, monkeypatch):
    make_editor(app)
    with app.app_context():
        name = upload_png()
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", _nothing_listening())
    assert client.get(f"/media/{name}").status_code == 503


# --- flask media migrate ----------------------------------------------------------------------

@pytest.fixture
def local_images(app, tmp_path, monkeypatch) -> tuple[Path, dict[str, bytes]]:
    """Three images uploaded while the site kept them on this machine's disk."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "MEDIA_STORAGE", "local")
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(folder))
    make_editor(app)
    with app.app_context():
        names = [upload_png(f"图{n}.png") for n in range(3)]
    return folder, {name: (folder / name).read_bytes() for name in names}


def migrate(app, bucket, monkeypatch, storage: str = "s3"):
    for name, value in bucket.settings.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "MEDIA_STORAGE", storage)
    return _run_migrate(app)


def _run_migrate(app):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["media", "migrate"])  # output: stdout and stderr


def test_migrate_copies_every_image_and_the_site_serves_them_from_the_bucket(app, client, local_images, s3_bucket,
                                                                          monkeypatch, tmp_path):
    folder, images = local_images

    result = migrate(app, s3_bucket, monkeypatch)

    assert result.exit_code == 0, result.output
    assert "已复制 3 张图片，存储中已有（跳过）0 张，本地缺失 0 张" in result.output
    assert s3_bucket.object_names() == sorted(images)
    for name, content in images.items():
        stored = s3_bucket.get(name)
        assert stored["Body"].read() == content and stored["ContentType"] == "image/png"
    assert sorted(os.listdir(folder)) == sorted(images)  # nothing deleted locally
    # The site switched to the bucket, on a server without the old folder.
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(tmp_path / "elsewhere"))
    for name, content in images.items():
        _assert_served(client.get(f"/media/{name}"), content)


def test_migrate_twice_copies_nothing_the_second_time(app, local_images, s3_bucket, monkeypatch):
    assert migrate(app, s3_bucket, monkeypatch).exit_code == 0
    modified = {name: s3_bucket.get(name)["LastModified"] for name in s3_bucket.object_names()}
    time.sleep(1.1)  # LastModified has whole seconds: a second copy would show

    result = migrate(app, s3_bucket, monkeypatch)

    assert result.exit_code == 0, result.output
    assert "已复制 0 张图片，存储中已有（跳过）3 张，本地缺失 0 张" in result.output
    assert {name: s3_bucket.get(name)["LastModified"] for name in s3_bucket.object_names()} == modified


def test_migrate_resumes_where_an_interrupted_run_stopped(app, local_images, s3_bucket, monkeypatch):
    """A run that stopped left some objects whole (a PUT is all or nothing); something else left an
    object under a name with other bytes of the same size. The next run copies the rest and
    replaces that one."""
    _, images = local_images
    done, stale, todo = sorted(images)
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=done, Body=images[done], ContentType="image/png")
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=stale, Body=images[stale][::-1],
                                ContentType="image/png")

    result = migrate(app, s3_bucket, monkeypatch)

    assert result.exit_code == 0, result.output
    assert "已复制 2 张图片，存储中已有（跳过）1 张，本地缺失 0 张" in result.output
    assert {name: s3_bucket.read(name) for name in s3_bucket.object_names()} == images


def test_migrate_reports_images_missing_locally_and_copies_the_others(app, local_images, s3_bucket, monkeypatch):
    folder, images = local_images
    lost = sorted(images)[1]
    (folder / lost).unlink()

    result = migrate(app, s3_bucket, monkeypatch)

    assert result.exit_code == 1
    assert f"{lost}：本地文件不存在" in result.output
    assert "已复制 2 张图片，存储中已有（跳过）0 张，本地缺失 1 张" in result.output
    assert s3_bucket.object_names() == sorted(set(images) - {lost})


def test_migrate_before_switching_says_to_run_it_again_after(app, local_images, s3_bucket, monkeypatch):
    result = migrate(app, s3_bucket, monkeypatch, storage="local")
    assert result.exit_code == 0, result.output
    assert "已复制 3 张图片" in result.output and "MEDIA_STORAGE 仍是 local" in result.output


def test_migrate_without_a_bucket_or_with_the_store_away_fails_with_a_reason(app, local_images, s3_bucket,
                                                                              monkeypatch):
    folder, images = local_images
    monkeypatch.setitem(app.config, "S3_BUCKET", "")
    result = _run_migrate(app)
    assert result.exit_code == 1 and "请先设置 S3_BUCKET" in result.output

    for name, value in s3_bucket.settings.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", _nothing_listening())
    result = _run_migrate(app)
    assert result.exit_code == 1 and "对象存储没有响应，迁移中断" in result.output and "再次运行会继续" in result.output
    assert sorted(os.listdir(folder)) == sorted(images)


# --- settings and the local server script ---------------------------------------------------------

@pytest.mark.parametrize("settings, named", [
    ({"MEDIA_STORAGE": "s3"}, "S3_BUCKET"),
    ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE"),
    ({"MEDIA_PUBLIC_URL": "cdn.example.com/media"}, "MEDIA_PUBLIC_URL"),
])
def test_production_refuses_to_start_with_media_settings_that_cannot_work(settings, named):
    result = _run_python("from app import create_app; create_app()", {**PRODUCTION, **settings})
    assert result.returncode != 0 and named in result.stderr


def test_production_starts_with_a_bucket():
    settings = {"MEDIA_STORAGE": "s3", "S3_BUCKET": "xue-media", "MEDIA_PUBLIC_URL": "https://img.example.com/m/"}
    result = _run_python("from app import create_app; print(create_app().config['MEDIA_PUBLIC_URL'])",
                         {**PRODUCTION, **settings})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://img.example.com/m"


def test_the_s3_server_script_starts_with_its_buckets_and_stops(tmp_path):
    port, state = free_port(), tmp_path / "s3"
    script = str(ROOT / "scripts" / "s3-server.sh")
    started = subprocess.run(["bash", script, "start", str(port), str(state), "media-a"], capture_output=True,
                             text=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        client = s3_client(f"http://127.0.0.1:{port}")
        client.put_object(Bucket="media-a", Key="x.png", Body=b"image")
        assert client.get_object(Bucket="media-a", Key="x.png")["Body"].read() == b"image"
        again = subprocess.run(["bash", script, "start", str(port), str(state)], capture_output=True, text=True,
                               timeout=60)
        assert again.returncode == 1 and "already running" in again.stderr
        pid = int((state / "s3-server.pid").read_text())
    finally:
        subprocess.run(["bash", script, "stop", str(state)], timeout=60, check=True)
    assert not (state / "s3-server.pid").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not re.search(r"Traceback", (state / "s3-server.log").read_text())
