"""The nginx configuration (deploy/nginx/, rendered by its render.py for the local cluster and for
production) is one nginx accepts, and keeps the promises docs/deployment.md makes about it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from config import Config

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # sbin: not on a user's PATH


def render(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "nginx" / "render.py"), *args], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True)
    return done.stdout


def cluster_conf(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return render("--upstream", "127.0.0.1:8081", "--upstream", "127.0.0.1:8082", "--listen", "127.0.0.1:8080",
                  "--prefix", str(tmp_path), "--media-cache", str(tmp_path / "media-cache"), *extra, env=env)


def nginx_accepts(tmp_path: Path, text: str) -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (scripts/cluster.sh installs it)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_cluster_configuration_is_valid_nginx_with_both_instances(tmp_path):
    text = cluster_conf(tmp_path)

    nginx_accepts(tmp_path, text)
    upstream = re.search(r"upstream app_instances \{(.*?)\}", text, re.S).group(1)
    assert re.findall(r"server (\S+) ", upstream) == ["127.0.0.1:8081", "127.0.0.1:8082"]
    assert f"alias {ROOT / 'static'}/;" in text


def test_only_idempotent_requests_are_retried_on_the_other_instance(tmp_path):
    text = cluster_conf(tmp_path)

    retried = re.findall(r"^\s*proxy_next_upstream (.*);", text, re.M)
    assert retried == ["error timeout http_502 http_503"]  # never non_idempotent: a booking is not sent twice


def test_nginx_refuses_the_bodies_the_app_refuses(tmp_path):
    assert f"client_max_body_size {Config.MAX_CONTENT_LENGTH};" in cluster_conf(tmp_path)
    # The limit is the app's setting, whatever the environment makes it.
    assert "client_max_body_size 1048576;" in cluster_conf(tmp_path, env={"MAX_CONTENT_LENGTH": "1048576"})


def test_the_production_site_with_tls_is_valid_nginx(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "xue.example.com")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    (tmp_path / "site.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "site.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))

    text = cluster_conf(tmp_path, "--server-name", "xue.example.com", "--tls-certificate", str(tmp_path / "site.pem"),
                        "--tls-certificate-key", str(tmp_path / "site.key"))

    nginx_accepts(tmp_path, text)
    assert "return 301 https://$host$request_uri;" in text
