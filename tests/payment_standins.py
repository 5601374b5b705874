"""Fixtures: the WeChat Pay and Alipay stand-ins on real local ports, and this app served on one too
so their notifications reach it over HTTP, as the providers' would reach the site.

A pytest plugin of tests/conftest.py: any test may ask for `providers`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from standins import alipay as alipay_standin
from standins import wechatpay as wechat_standin
from standins.alipay_keys import ensure_keys as ensure_alipay_keys
from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
from standins.serving import BackgroundServer


@dataclass
class Providers:
    site_url: str  # this app, served on a real port: where the providers' notifications go
    wechat_url: str
    alipay_url: str

    def pay_wechat(self, out_trade_no: str) -> dict:
        """The payer confirms in WeChat: the stand-in marks the order paid and notifies the site."""
        return requests.post(f"{self.wechat_url}/standin/pay/{out_trade_no}", timeout=10).json()

    def pay_alipay(self, out_trade_no: str) -> dict:
        return requests.post(f"{self.alipay_url}/standin/pay/{out_trade_no}", timeout=10).json()

    def outage(self, down: bool) -> None:
        requests.post(f"{self.wechat_url}/standin/outage", json={"down": down}, timeout=10)
        if down:
            requests.post(f"{self.alipay_url}/standin/outage", timeout=10)
        else:
            requests.delete(f"{self.alipay_url}/standin/outage", timeout=10)


@pytest.fixture(scope="session")
def _standin_servers(app, tmp_path_factory) -> Iterator[tuple[dict, str, str, str]]:
    keys_dir = tmp_path_factory.mktemp("standin-keys")
    wechat_keys = ensure_wechatpay_keys(keys_dir)
    alipay_keys = ensure_alipay_keys(keys_dir / "alipay")
    site = BackgroundServer(app)
    wechat = BackgroundServer(wechat_standin.create_app(**standin_options(wechat_keys)))
    alipay = BackgroundServer(alipay_standin.create_app(alipay_keys))
    settings = {**app_settings(wechat_keys, wechat.url), **alipay_keys.app_settings(alipay.url + "/gateway.do")}
    yield settings, site.url, wechat.url, alipay.url
    for server in (site, wechat, alipay):
        server.stop()


@pytest.fixture
def providers(app, _standin_servers, monkeypatch) -> Providers:
    """Both providers configured for this test, against their stand-ins; links point at this app's port."""
    settings, site_url, wechat_url, alipay_url = _standin_servers
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "SITE_URL", site_url)
    return Providers(site_url, wechat_url, alipay_url)
