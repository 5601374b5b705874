"""The keys and ids a WeChat Pay stand-in and the app share, made once into a directory.

    python -m standins.keys DIR [--api-base URL]

makes (or reuses) the files below in DIR and prints the app's settings, one KEY=value a line, ready
for `export` / a .env file. Tests call `ensure_wechatpay_keys(tmp_path)`; scripts/dev.sh can keep them
under instance/.

Files (existing ones are reused, so the app's settings stay valid across restarts):
    wechatpay-merchant-private.pem   the merchant API key: the app signs with it (WECHATPAY_PRIVATE_KEY)
    wechatpay-merchant-public.pem    the stand-in verifies the app's requests with it
    wechatpay-platform-private.pem   the stand-in signs answers and notifications with it
    wechatpay-platform-public.pem    the app verifies them with it (WECHATPAY_PUBLIC_KEY)
    wechatpay-ids.json               merchant id, app ids and secrets, certificate serial, public key
                                     id and the APIv3 key
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class WechatPayKeys:
    directory: Path
    merchant_private_key_path: Path
    merchant_public_key_path: Path
    platform_private_key_path: Path
    platform_public_key_path: Path
    mchid: str
    appid: str
    app_secret: str
    mini_program_appid: str
    mini_program_app_secret: str
    merchant_cert_serial_no: str
    platform_public_key_id: str
    apiv3_key: str


def ensure_wechatpay_keys(directory: str | os.PathLike) -> WechatPayKeys:
    """The keys in `directory`, made where missing. Safe when two processes start at once: a file
    is never overwritten, the second reads the first's."""
    folder = Path(directory).resolve()  # the settings name the files: absolute, whatever the cwd
    folder.mkdir(parents=True, exist_ok=True)
    merchant = _key_pair(folder, "wechatpay-merchant")
    platform = _key_pair(folder, "wechatpay-platform")
    ids = json.loads(_write_once(folder / "wechatpay-ids.json", json.dumps(_new_ids(), indent=2) + "\n"))
    return WechatPayKeys(
        directory=folder,
        merchant_private_key_path=merchant[0], merchant_public_key_path=merchant[1],
        platform_private_key_path=platform[0], platform_public_key_path=platform[1],
        **ids,
    )


def app_settings(keys: WechatPayKeys, api_base: str) -> dict[str, str]:
    """The app's settings for a stand-in at `api_base` (http://127.0.0.1:8801): the keys as paths."""
    base = api_base.rstrip("/")
    return {
        "WECHATPAY_MCHID": keys.mchid,
        "WECHATPAY_APPID": keys.appid,
        "WECHATPAY_PRIVATE_KEY": str(keys.merchant_private_key_path),
        "WECHATPAY_CERT_SERIAL_NO": keys.merchant_cert_serial_no,
        "WECHATPAY_APIV3_KEY": keys.apiv3_key,
        "WECHATPAY_PUBLIC_KEY": str(keys.platform_public_key_path),
        "WECHATPAY_PUBLIC_KEY_ID": keys.platform_public_key_id,
        "WECHATPAY_API_BASE": base,
        "WECHAT_APP_SECRET": keys.app_secret,
        "WECHAT_MINIPROGRAM_APPID": keys.mini_program_appid,
        "WECHAT_MINIPROGRAM_APP_SECRET": keys.mini_program_app_secret,
        "WECHAT_OAUTH_BASE": base,
        "WECHAT_API_BASE": base,
    }


def standin_options(keys: WechatPayKeys) -> dict:
    """The keyword arguments of standins.wechatpay.create_app for these keys."""
    return {
        "merchant_public_key": keys.merchant_public_key_path.read_text(encoding="utf-8"),
        "merchant_cert_serial_no": keys.merchant_cert_serial_no,
        "platform_private_key": keys.platform_private_key_path.read_text(encoding="utf-8"),
        "platform_public_key_id": keys.platform_public_key_id,
        "apiv3_key": keys.apiv3_key,
        "mchid": keys.mchid,
        "apps": {keys.appid: keys.app_secret, keys.mini_program_appid: keys.mini_program_app_secret},
    }


def _key_pair(folder: Path, stem: str) -> tuple[Path, Path]:
    """An RSA 2048 pair as WeChat's are: the private key PKCS#8 PEM (what the SDK reads), the public
    key SubjectPublicKeyInfo PEM. The public half is derived from the private file, so they match."""
    private_path, public_path = folder / f"{stem}-private.pem", folder / f"{stem}-public.pem"
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
        _write_once(private_path, pem, private=True)
    private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    _write_once(public_path, public_pem)
    return private_path, public_path


def _new_ids() -> dict[str, str]:
    alphanumeric = string.ascii_letters + string.digits
    return {
        "mchid": "19" + "".join(secrets.choice(string.digits) for _ in range(8)),
        "appid": "wx" + secrets.token_hex(8),
        "app_secret": secrets.token_hex(16),
        "mini_program_appid": "wx" + secrets.token_hex(8),
        "mini_program_app_secret": secrets.token_hex(16),
        "merchant_cert_serial_no": secrets.token_hex(20).upper(),
        "platform_public_key_id": "PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(32)),
        "apiv3_key": "".join(secrets.choice(alphanumeric) for _ in range(32)),
    }


def _write_once(path: Path, content: str, private: bool = False) -> str:
    """Write `content` to `path` unless it exists; the file's content either way."""
    if not path.exists():
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as temporary_file:
                temporary_file.write(content)
            os.chmod(temporary, 0o600 if private else 0o644)
            with contextlib.suppress(FileExistsError):  # another process wrote it meanwhile: theirs stays
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Make (or reuse) WeChat Pay stand-in keys and print the app's settings.")
    parser.add_argument("directory")
    parser.add_argument("--api-base", default="http://127.0.0.1:8801", help="the stand-in's URL")
    arguments = parser.parse_args(argv)
    keys = ensure_wechatpay_keys(arguments.directory)
    for name, value in app_settings(keys, arguments.api_base).items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
