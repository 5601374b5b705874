"""Both payment stand-ins for the development setup (scripts/dev.sh), in one process.

    python -m standins.dev env   KEYS_DIR   shell `export` lines of the app's settings for them
    python -m standins.dev serve KEYS_DIR   serve WeChat Pay on :8801 and Alipay on :8231

The keys are made in KEYS_DIR the first time and reused after, so the settings stay valid.
"""
from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from standins import alipay, wechatpay
from standins.alipay_keys import ensure_keys as ensure_alipay_keys
from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
from standins.serving import BackgroundServer

WECHAT_PORT, ALIPAY_PORT = 8801, 8231


def _urls(host: str) -> tuple[str, str]:
    return f"http://{host}:{WECHAT_PORT}", f"http://{host}:{ALIPAY_PORT}"


def settings(keys_dir: Path, host: str = "127.0.0.1") -> dict[str, str]:
    wechat_url, alipay_url = _urls(host)
    return {**app_settings(ensure_wechatpay_keys(keys_dir), wechat_url),
            **ensure_alipay_keys(keys_dir / "alipay").app_settings(alipay_url + "/gateway.do")}


def serve(keys_dir: Path, host: str = "127.0.0.1") -> None:
    wechat_keys, alipay_keys = ensure_wechatpay_keys(keys_dir), ensure_alipay_keys(keys_dir / "alipay")
    wechat_url, alipay_url = _urls(host)
    servers = [BackgroundServer(wechatpay.create_app(**standin_options(wechat_keys), refund_status="SUCCESS"),
                                host, WECHAT_PORT),
               BackgroundServer(alipay.create_app(alipay_keys), host, ALIPAY_PORT)]
    print(f"payment stand-ins: WeChat Pay {wechat_url}, Alipay {alipay_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        for server in servers:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.dev", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("env", "serve"))
    parser.add_argument("keys_dir", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "env":
        for name, value in settings(arguments.keys_dir).items():
            print(f"export {name}={shlex.quote(value)}")
    else:
        serve(arguments.keys_dir)


if __name__ == "__main__":
    main()
