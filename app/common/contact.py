"""How people reach the organisation's 客服: the phone, WeChat ID and email set in the config
(CONTACT_PHONE, CONTACT_WECHAT, CONTACT_EMAIL; empty means not shown).

The footer shows them on every page, and every message that tells people to get in touch says
them (`please_contact`) instead of a bare 请联系工作人员 that leaves them nowhere to go.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _


@dataclass(frozen=True)
class ContactWay:
    kind: str  # phone, wechat, email: how the footer links it
    label: str  # 电话, 微信, 邮箱
    value: str


def contact_ways() -> list[ContactWay]:
    """The configured ways, in the order people use them; an unset one is left out."""
    config = current_app.config
    ways = [("phone", _("电话"), config.get("CONTACT_PHONE")), ("wechat", _("微信"), config.get("CONTACT_WECHAT")),
            ("email", _("邮箱"), config.get("CONTACT_EMAIL"))]
    return [ContactWay(kind, label, value.strip()) for kind, label, value in ways if value and value.strip()]


def please_contact() -> str:
    """请联系客服：电话 400-800-1234，微信 xicheng-kefu; without any configured, 请联系工作人员.
    Ends without punctuation: it is put inside a sentence."""
    ways = contact_ways()
    if not ways:
        return _("请联系工作人员")
    return _("请联系客服：%(ways)s", ways=_("，").join(f"{way.label} {way.value}" for way in ways))
