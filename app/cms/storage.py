"""Where uploaded images are kept: a folder on this machine, or a bucket behind the S3 API.

`media_storage()` is the store of the app's settings (MEDIA_STORAGE); nothing else needs to know
which one it is. Both keep an image under its generated name (app/cms/media.py) and never change
it afterwards, which is why every answer may be cached for a year.

The S3 store talks to any server of the S3 API through boto3 (AWS, MinIO, Aliyun OSS, Tencent COS,
moto's server in the tests). Its client is made once per process and settings: boto3 clients are
thread-safe and keep their connections, a session is not, and a client made before gunicorn forks
would share its sockets with the children, hence the process id in the key.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Protocol

from flask import Response, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound

log = logging.getLogger(__name__)

# Names are never reused for other content (random hex), so a copy may be kept this long anywhere.
MEDIA_MAX_AGE = 365 * 24 * 3600
MEDIA_CACHE_CONTROL = f"public, max-age={MEDIA_MAX_AGE}, immutable"
_STREAM_CHUNK_BYTES = 64 * 1024


class StorageUnavailable(Exception):
    """The store could not be reached or refused the request (network, credentials, no bucket, disk)."""


@dataclass(frozen=True)
class StoredObject:
    size: int
    md5: str | None  # hex; None when the store's ETag is not an MD5 (multipart, SSE-KMS)


class MediaStorage(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Keep `data` under `name`, readable as `content_type`."""

    def delete(self, name: str) -> None:
        """Remove `name` if it is there."""

    def stat(self, name: str) -> StoredObject | None:
        """Its size and MD5, or None when it is not there."""

    def read(self, name: str) -> bytes:
        """Its bytes; NotFound when it is not there."""

    def response(self, name: str, content_type: str) -> Response:
        """The answer to GET /media/<name>: the image with a year-long cache, 304 to a client that
        has it, NotFound when it is not there."""


class LocalFolder:
    """One machine's folder (CMS_UPLOAD_FOLDER): the default, and the source of `flask media migrate`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        try:
            os.makedirs(self.folder, exist_ok=True)
            with open(self._path(name), "xb") as stored:  # "x": never overwrite, even on a (1 in 2**128) clash
                stored.write(data)
        except OSError as error:  # a full or read-only disk
            raise StorageUnavailable(f"{self.folder}: {error}") from error

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path(name))

    def stat(self, name: str) -> StoredObject | None:
        try:
            with open(self._path(name), "rb") as stored:
                return StoredObject(os.fstat(stored.fileno()).st_size, hashlib.file_digest(stored, "md5").hexdigest())
        except FileNotFoundError:
            return None

    def read(self, name: str) -> bytes:
        try:
            with open(self._path(name), "rb") as stored:
                return stored.read()
        except FileNotFoundError:
            raise NotFound() from None

    def response(self, name: str, content_type: str) -> Response:
        # send_from_directory answers conditional and range requests and refuses paths that leave the folder.
        return send_from_directory(self.folder, name, mimetype=content_type, max_age=MEDIA_MAX_AGE)


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    region: str = "us-east-1"
    addressing_style: str = ""

    @classmethod
    def from_config(cls, config) -> S3Settings:
        if not config.get("S3_BUCKET"):
            raise RuntimeError("S3_BUCKET is not set: the S3 media store needs a bucket")
        return cls(bucket=config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL") or "",
                   access_key_id=config.get("S3_ACCESS_KEY_ID") or "",
                   secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or "",
                   region=config.get("S3_REGION") or "us-east-1",
                   addressing_style=config.get("S3_ADDRESSING_STYLE") or "")


def _s3_errors() -> tuple[type[Exception], ...]:
    # boto3 and botocore are imported when first used: boto3 takes about a second to import, which
    # every start of a machine that keeps its images locally (and every CLI command) would pay.
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def _error_code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


class S3Bucket:
    """A bucket behind the S3 API, shared by every server."""

    def __init__(self, settings: S3Settings, session) -> None:
        from botocore.config import Config as BotoConfig

        self.settings = settings
        self.bucket = settings.bucket
        s3_options = {"addressing_style": settings.addressing_style} if settings.addressing_style else {}
        self.client = session.client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            region_name=settings.region,
            config=BotoConfig(
                # An editor waits for the upload and a reader for the image: a store that does not
                # answer is reported within (3 + 8) s x 2 attempts, under gunicorn's 30 s worker
                # timeout, not after boto3's default minutes. 8 s is the longest pause between
                # bytes, not the time a 5 MB image may take.
                connect_timeout=3, read_timeout=8, retries={"mode": "standard", "max_attempts": 2},
                # boto3 1.36+ adds CRC32 checksums (and chunked bodies) that many S3-compatible
                # stores refuse; the API requires them only for a few operations we do not use.
                request_checksum_calculation="when_required", response_checksum_validation="when_required",
                s3=s3_options,
            ),
        )

    def put(self, name: str, data: bytes, content_type: str) -> None:
        try:
            # The cache header travels with the object, for readers served by MEDIA_PUBLIC_URL.
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=content_type,
                                   CacheControl=MEDIA_CACHE_CONTROL)
        except _s3_errors() as error:
            raise StorageUnavailable(f"s3://{self.bucket}/{name}: {error}") from error

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except _s3_errors() as error:
            raise StorageUnavailable(f"s3://{self.bucket}/{name}: {error}") from error

    def stat(self, name: str) -> StoredObject | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=name)
        except _s3_errors() as error:
            if _error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageUnavailable(f"s3://{self.bucket}/{name}: {error}") from error
        etag = head.get("ETag", "").strip('"')
        # A single PUT's ETag is the MD5 of the bytes; a multipart one has "-<parts>".
        return StoredObject(head["ContentLength"], etag if len(etag) == 32 and "-" not in etag else None)

    def _get(self, name: str, **conditions) -> dict:
        """get_object's answer; NotFound when the object is not there. A condition that holds
        (If-None-Match naming the current ETag) raises botocore's ClientError with code 304."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name, **conditions)
        except _s3_errors() as error:
            code = _error_code(error)
            if code in ("404", "NoSuchKey"):
                raise NotFound() from None
            if code in ("304", "NotModified"):
                raise
            raise StorageUnavailable(f"s3://{self.bucket}/{name}: {error}") from error

    def read(self, name: str) -> bytes:
        body = self._get(name)["Body"]
        try:
            return body.read()
        except _s3_errors() as error:
            raise StorageUnavailable(f"s3://{self.bucket}/{name}: {error}") from error
        finally:
            body.close()

    def response(self, name: str, content_type: str) -> Response:
        """The object streamed from the bucket a chunk at a time (never the whole image in memory);
        a client that sends the ETag it has gets a 304 without the bytes."""
        etag = request.headers.get("If-None-Match")
        try:
            found = self._get(name, **({"IfNoneMatch": etag} if etag else {}))
        except _s3_errors():  # only the 304 comes out of _get as botocore's own error
            response = Response(status=304)
            response.headers["ETag"] = etag
        else:
            body = found["Body"]
            response = Response(body.iter_chunks(_STREAM_CHUNK_BYTES), mimetype=content_type,
                                direct_passthrough=True)
            response.call_on_close(body.close)  # also when the client goes away, or for a HEAD request
            response.content_length = found.get("ContentLength")
            if found.get("ETag"):
                response.headers["ETag"] = found["ETag"]
            if found.get("LastModified"):
                response.last_modified = found["LastModified"]
        response.cache_control.max_age = MEDIA_MAX_AGE
        return response


_clients_lock = threading.Lock()


@functools.cache
def _boto3_session(process_id: int):
    """One session a process: it keeps the parsed API descriptions every client is built from."""
    import boto3

    return boto3.session.Session()


@functools.lru_cache(maxsize=8)
def _s3_bucket(settings: S3Settings, process_id: int) -> S3Bucket:
    return S3Bucket(settings, _boto3_session(process_id))


def s3_bucket(settings: S3Settings) -> S3Bucket:
    """The bucket of these settings, its client made once in this process."""
    with _clients_lock:  # a session is not thread-safe, and two first requests would each build a client
        return _s3_bucket(settings, os.getpid())


def media_storage() -> MediaStorage:
    """The store of the current app's settings."""
    config = current_app.config
    if config["MEDIA_STORAGE"] == "s3":
        return s3_bucket(S3Settings.from_config(config))
    if config["MEDIA_STORAGE"] == "local":
        return LocalFolder(config["CMS_UPLOAD_FOLDER"])
    raise RuntimeError(f"MEDIA_STORAGE must be local or s3, not {config['MEDIA_STORAGE']!r}")


COPIED, SKIPPED, MISSING = "copied", "skipped", "missing"


def copy_object(source: MediaStorage, destination: MediaStorage, name: str, content_type: str) -> str:
    """Copy one image unless the destination has it already: COPIED, SKIPPED or MISSING (not in
    the source). An object of another size or MD5 (left by something else) is replaced. A PUT
    to S3 is whole or nothing, so an interrupted copy leaves no half object to mistake for done."""
    held = source.stat(name)
    if held is None:
        return MISSING
    there = destination.stat(name)
    if there is not None and there.size == held.size and there.md5 in (None, held.md5):
        return SKIPPED
    try:
        data = source.read(name)
    except NotFound:  # removed since stat()
        return MISSING
    destination.put(name, data, content_type)
    return COPIED
