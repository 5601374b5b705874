"""Validators for the people this product serves: Chinese names and mainland mobile numbers."""
from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Separators people type into a phone number: spaces (incl. full-width), hyphens, dots, brackets.
_PHONE_NOISE = re.compile(r"[\s\-.()（）\u3000]")
# The middle dot of transliterated names (买买提·艾力) in its common typed forms.
_NAME_PUNCTUATION = set("·•・.' -")


def normalise_phone(raw: str | None) -> str:
    """'+86 138-0013-8000' -> '13800138000'. Full-width digits are folded too."""
    if not raw:
        return ""
    phone = unicodedata.normalize("NFKC", raw)
    phone = _PHONE_NOISE.sub("", phone)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def is_mobile_number(phone: str) -> bool:
    return bool(MOBILE_RE.match(phone))


def normalise_name(raw: str | None) -> str:
    # NFC, not NFKC: NFKC would rewrite some rare characters (compatibility ideographs).
    return unicodedata.normalize("NFC", (raw or "").strip()).replace("\u3000", " ")


def is_person_name(name: str) -> bool:
    """Letters of any script (so 喆, 堃 and 𠮷 pass), plus the separators names really contain."""
    if not name or name[0] in _NAME_PUNCTUATION or name[-1] in _NAME_PUNCTUATION:
        return False
    return all(unicodedata.category(ch)[0] in "LM" or ch in _NAME_PUNCTUATION for ch in name)


class MobilePhone:
    """WTForms validator that also normalises the field's data to 11 digits."""

    def __call__(self, form, field) -> None:
        field.data = normalise_phone(field.data)
        if not is_mobile_number(field.data):
            raise ValidationError(_l("请输入 11 位中国大陆手机号，例如 13800138000"))


class PersonName:
    def __init__(self, min_length: int = 2, max_length: int = 30) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def __call__(self, form, field) -> None:
        field.data = normalise_name(field.data)
        if not (self.min_length <= len(field.data) <= self.max_length):
            raise ValidationError(_l("姓名长度应为 %(min)s–%(max)s 个字", min=self.min_length, max=self.max_length))
        if not is_person_name(field.data):
            raise ValidationError(_l("姓名只能包含文字和间隔号「·」，请检查是否有数字或符号"))
