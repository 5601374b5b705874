"""How a student can pay, by where they are: inside WeChat, in a phone's browser, on a desktop.

A provider without credentials is not offered (each provider module's `configured`); a bank
transfer is offered when the organisation's account is configured (BANK_TRANSFER_*).
"""
from __future__ import annotations

import enum
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.payments.models import PaymentProvider
from app.payments.providers import alipay, wechat


class PayMethod(enum.StrEnum):
    label: str
    provider: PaymentProvider
    channel: str

    def __new__(cls, value: str, provider: PaymentProvider, channel: str, label) -> PayMethod:
        member = str.__new__(cls, value)
        member._value_ = value
        member.provider, member.channel, member.label = provider, channel, label
        return member

    WECHAT_JSAPI = "wechat_jsapi", PaymentProvider.WECHAT, "jsapi", _l("微信支付")
    WECHAT_NATIVE = "wechat_native", PaymentProvider.WECHAT, "native", _l("微信扫码支付")
    WECHAT_H5 = "wechat_h5", PaymentProvider.WECHAT, "h5", _l("微信支付")
    ALIPAY_PAGE = "alipay_page", PaymentProvider.ALIPAY, "page", _l("支付宝")
    ALIPAY_WAP = "alipay_wap", PaymentProvider.ALIPAY, "wap", _l("支付宝")
    BANK_TRANSFER = "bank_transfer", PaymentProvider.BANK, "transfer", _l("对公转账")


# WeChat's built-in browser says MicroMessenger; its mini-program web views too. Alipay's pages do
# not open inside WeChat, so it is not offered there.
_WECHAT_BROWSER = re.compile(r"MicroMessenger", re.IGNORECASE)
_PHONE = re.compile(r"Mobile|Android|iPhone|iPad|HarmonyOS", re.IGNORECASE)


def in_wechat(user_agent: str) -> bool:
    return bool(_WECHAT_BROWSER.search(user_agent or ""))


def bank_transfer_configured(config) -> bool:
    return bool(config.get("BANK_TRANSFER_ACCOUNT_NAME") and config.get("BANK_TRANSFER_ACCOUNT_NO"))


def offered_methods(user_agent: str) -> list[PayMethod]:
    """The ways to pay this browser can use, in the order the page shows them."""
    config = current_app.config
    methods: list[PayMethod] = []
    if in_wechat(user_agent):
        # JSAPI needs the payer's openid, which needs the official account's AppSecret too.
        if wechat.configured(config) and wechat.openid_configured(config):
            methods.append(PayMethod.WECHAT_JSAPI)
    else:
        phone = bool(_PHONE.search(user_agent or ""))
        if wechat.configured(config):
            methods.append(PayMethod.WECHAT_H5 if phone else PayMethod.WECHAT_NATIVE)
        if alipay.configured(config):
            methods.append(PayMethod.ALIPAY_WAP if phone else PayMethod.ALIPAY_PAGE)
    if bank_transfer_configured(config):
        methods.append(PayMethod.BANK_TRANSFER)
    return methods
