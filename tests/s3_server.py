"""Fixtures: a real server of the S3 API (moto's, in its own process on a free 127.0.0.1 port) for
the test session, a bucket of its own for each test, and the app storing its images there.

A pytest plugin of tests/conftest.py. The app reaches the server over HTTP through boto3, exactly
as it reaches AWS or MinIO; nothing of boto3 or botocore is patched.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from tests.conftest import free_port
from tests.e2e.server import _end_with_parent  # no orphan server if the test run is killed

START_TIMEOUT_SECONDS = 30
# moto accepts any keys; the app signs its requests with these, as it would with real ones.
ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION = "test-key", "test-secret", "us-east-1"


def s3_client(endpoint_url: str):
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """The S3 API's address (http://127.0.0.1:PORT), for the whole session."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("s3-server") / "s3-server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=_end_with_parent)
    endpoint = f"http://127.0.0.1:{port}"
    client = s3_client(endpoint)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            client.list_buckets()
            break
        except EndpointConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the S3 server did not start:\n{log_path.read_text()}") from None
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@dataclass
class Bucket:
    endpoint: str
    name: str
    client: object  # boto3's S3 client, to look at the bucket the way an operator would

    @property
    def settings(self) -> dict:
        """The app's settings for this bucket."""
        return {"MEDIA_STORAGE": "s3", "S3_ENDPOINT_URL": self.endpoint, "S3_BUCKET": self.name,
                "S3_ACCESS_KEY_ID": ACCESS_KEY_ID, "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "S3_REGION": REGION}

    @property
    def public_url(self) -> str:
        """The bucket's objects as anyone can fetch them (path-style), once `make_public()` ran."""
        return f"{self.endpoint}/{self.name}"

    def object_names(self) -> list[str]:
        return sorted(item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", []))

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=self.name, Key=key)

    def read(self, key: str) -> bytes:
        return self.get(key)["Body"].read()

    def make_public(self) -> None:
        """What an operator does for MEDIA_PUBLIC_URL: let anyone read the objects."""
        import json

        self.client.put_bucket_policy(Bucket=self.name, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{self.name}/*"}],
        }))


@pytest.fixture
def s3_bucket(s3_server) -> Iterator[Bucket]:
    """An empty bucket of this test's own, emptied and removed afterwards."""
    client = s3_client(s3_server)
    bucket = Bucket(s3_server, f"media-{uuid.uuid4().hex[:12]}", client)
    client.create_bucket(Bucket=bucket.name)
    yield bucket
    for key in bucket.object_names():
        client.delete_object(Bucket=bucket.name, Key=key)
    client.delete_bucket(Bucket=bucket.name)


@pytest.fixture
def s3_media(app, s3_bucket, tmp_path, monkeypatch) -> Bucket:
    """The app storing uploaded images in this test's bucket, its local folder an empty one that
    must stay empty."""
    for name, value in s3_bucket.settings.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "CMS_UPLOAD_FOLDER", str(tmp_path / "never-written"))
    return s3_bucket
