"""The RSA key pairs the Alipay stand-in and the app use with each other (made once into a folder),
and the RSA2 signatures the stand-in makes and checks with them, by Alipay's rules.

Real Alipay has two pairs: the app's (we keep the private key and upload the public key to the open
platform) and Alipay's (Alipay keeps the private key and shows us the public key). The stand-in
plays Alipay, so it holds Alipay's private key and the app's public key; the app is configured with
the other two, exactly as in production.
"""
from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import pkcs1_15

# A sandbox-shaped app id (Alipay's are 16 digits); the stand-in knows no other app.
STANDIN_APPID = "2021000000000001"

_FILES = {
    "app_private_key": "app_private_key.pem",
    "app_public_key": "app_public_key.pem",
    "alipay_private_key": "alipay_private_key.pem",
    "alipay_public_key": "alipay_public_key.pem",
}


@dataclass(frozen=True)
class StandinKeys:
    """The folder's keys as PEM text, and the files they live in."""

    directory: Path
    appid: str
    app_private_key: str
    app_public_key: str
    alipay_private_key: str
    alipay_public_key: str

    def path(self, name: str) -> Path:
        return self.directory / _FILES[name]

    def app_settings(self, gateway_url: str) -> dict[str, str]:
        """The app's configuration for talking to a stand-in served at `gateway_url` (keys as paths)."""
        return {
            "ALIPAY_APPID": self.appid,
            "ALIPAY_PRIVATE_KEY": str(self.path("app_private_key")),
            "ALIPAY_PUBLIC_KEY": str(self.path("alipay_public_key")),
            "ALIPAY_GATEWAY": gateway_url,
        }


def _write_pair(directory: Path, private_name: str, public_name: str) -> None:
    key = RSA.generate(2048)
    private_path = directory / _FILES[private_name]
    # Private keys readable by their owner only, like the real ones should be.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key.export_key("PEM"))
    (directory / _FILES[public_name]).write_bytes(key.publickey().export_key("PEM"))


def ensure_keys(directory: str | os.PathLike[str]) -> StandinKeys:
    """The keys in `directory`, generating a pair only where a file of it is missing (idempotent:
    a second call reads what the first wrote, so the app's settings stay valid across restarts)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for owner in ("app", "alipay"):
        private_name, public_name = f"{owner}_private_key", f"{owner}_public_key"
        if not ((folder / _FILES[private_name]).exists() and (folder / _FILES[public_name]).exists()):
            _write_pair(folder, private_name, public_name)
    texts = {name: (folder / file).read_text() for name, file in _FILES.items()}
    return StandinKeys(directory=folder, appid=STANDIN_APPID, **texts)


def print_settings(keys: StandinKeys, gateway_url: str) -> None:
    """The app's settings as lines for a `.env` file."""
    for name, value in keys.app_settings(gateway_url).items():
        print(f"{name}={value}")


# -- RSA2 (SHA256withRSA, base64) signatures, by Alipay's rules -------------------------------------


def rsa2_sign(private_key: RSA.RsaKey, content: str) -> str:
    return base64.b64encode(pkcs1_15.new(private_key).sign(SHA256.new(content.encode("utf-8")))).decode("ascii")


def rsa2_verifies(public_key: RSA.RsaKey, content: str, signature: str) -> bool:
    try:
        pkcs1_15.new(public_key).verify(SHA256.new(content.encode("utf-8")), base64.b64decode(signature, validate=True))
    except (ValueError, TypeError, binascii.Error):
        return False
    return True


def request_content(params: Mapping[str, str]) -> str:
    """What an app signs in a request: every parameter but sign (sign_type included), empty ones
    left out, sorted by name, as name=value joined by & (values as sent, not URL-encoded)."""
    return "&".join(f"{name}={params[name]}" for name in sorted(params) if name != "sign" and params[name] != "")


def notification_content(params: Mapping[str, str]) -> str:
    """What Alipay signs in a notification or a return: every parameter but sign and sign_type,
    sorted by name, as name=value joined by &."""
    return "&".join(f"{name}={params[name]}" for name in sorted(params) if name not in ("sign", "sign_type"))


def signed_notification(params: Mapping[str, str], alipay_private_key: RSA.RsaKey) -> dict[str, str]:
    """`params` with sign_type and the sign Alipay would give them (tests use it to make a genuine
    notification for another app, or to re-sign a tampered one with a wrong key)."""
    signed = {**params, "sign_type": "RSA2"}
    signed["sign"] = rsa2_sign(alipay_private_key, notification_content(signed))
    return signed
