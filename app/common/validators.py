"""Validators for the people this product serves (Chinese names, mainland mobile numbers) and for
what a database can store (text without control characters, numbers and dates in range)."""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

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


# --- text a database can store ------------------------------------------------------------------
# C0 controls but tab and newline, DEL and the C1 block: invisible, and NUL cannot be stored at all
# by PostgreSQL ("text fields cannot contain NUL"). CR is not here: newlines are normalised first.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Half of a UTF-16 pair alone (JSON's "\ud800"): no database encoding can store it.
_LONE_SURROGATES = re.compile(r"[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"\r\n?")


def normalise_newlines(text: str) -> str:
    """Browsers send a textarea's lines as CRLF; old Mac files use a lone CR. Keep LF only."""
    return _LINE_BREAKS.sub("\n", text) if "\r" in text else text


def unstorable_text_reason(text: str) -> str | None:
    """Why this (newline-normalised) text must be refused, in Chinese, or None if it is fine."""
    if _CONTROL_CHARACTERS.search(text):
        return str(_l("含有不可见的控制字符，请删除后重试"))
    if _LONE_SURROGATES.search(text):
        return str(_l("含有无法识别的字符（不成对的代理字符），请删除后重试"))
    return None


def remove_unstorable(text: str) -> str:
    """For text nobody can be asked to fix (file names, imported files): drop what cannot be stored."""
    return _LONE_SURROGATES.sub("", _CONTROL_CHARACTERS.sub("", normalise_newlines(text)))


# --- numbers and dates a database can store ------------------------------------------------------
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1  # INTEGER columns (32-bit signed on PostgreSQL)
NUMERIC_10_2_MAX = Decimal("99999999.99")  # the largest amount a Numeric(10, 2) column holds
# No booking, article or attendance day of this product lies outside these; year 1 or 9999 would
# overflow on conversion between time zones, and is a typing slip anyway.
EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2100, 12, 31)


def out_of_range_reason(value: object) -> str | None:
    """Why a parsed number or date cannot be stored, in Chinese, or None if it can."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | float):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            return str(_l("请输入有效的数字"))
        if abs(Decimal(value)) > NUMERIC_10_2_MAX:
            return str(_l("数值太大"))
    elif isinstance(value, int):
        if not INTEGER_MIN <= value <= INTEGER_MAX:
            return str(_l("数值超出范围"))
    elif isinstance(value, date):  # datetime is a date too
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            years = {"first": EARLIEST_DATE.year, "last": LATEST_DATE.year}
            if isinstance(value, datetime):
                return str(_l("请选择 %(first)s 至 %(last)s 年之间的时间", **years))
            return str(_l("请选择 %(first)s 至 %(last)s 年之间的日期", **years))
    return None
