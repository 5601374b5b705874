"""The payment providers the platform reaches through their maintained SDKs (wechat.py: WeChat Pay
API v3 through wechatpayv3; alipay.py: Alipay through python-alipay-sdk), behind one small
vocabulary so the payments service never sees a provider's wire format.

Amounts cross this boundary as integer fen (分), the unit both providers speak; the service keeps
money as Decimal yuan and converts with app.common.money. A provider without credentials in the
configuration is not offered (`configured()` in each module).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class ProviderError(Exception):
    """The provider could not be reached or refused the request (down, timeout, an error answer).
    The caller keeps the student's booking and says 支付服务暂时不可用."""


class ForgedNotification(Exception):
    """A notification whose signature does not verify (or that cannot be decrypted or parsed): it
    changes nothing and is logged."""


@dataclass(frozen=True)
class PaymentRequest:
    """What we ask a provider to collect: our order number (`out_trade_no`, unique, at most 32
    characters of [0-9A-Za-z_-]), the amount in fen, a description the payer sees (the course and
    session), where the provider tells us of the payment, and what a channel needs besides."""

    out_trade_no: str
    amount_fen: int
    description: str
    notify_url: str
    expires_at: datetime | None = None  # the hold's end: the provider refuses payment after it
    payer_openid: str | None = None  # WeChat JSAPI / mini-program: the payer's openid
    client_ip: str | None = None  # WeChat H5 needs the payer's IP
    return_url: str | None = None  # Alipay page/WAP pay: where the payer's browser comes back to


@dataclass(frozen=True)
class PaidNotice:
    """A verified notification (or query answer) that an order was paid."""

    out_trade_no: str
    transaction_id: str  # the provider's transaction id: one successful payment per id
    amount_fen: int
    paid_at: datetime  # UTC
    raw: dict = field(default_factory=dict)  # the decrypted/verified payload, kept for the record


@dataclass(frozen=True)
class RefundResult:
    """The provider's answer about a refund (`status`: "SUCCESS" when the money has gone back,
    "PROCESSING" while it goes, or how it ended otherwise: WeChat's "ABNORMAL", "CLOSED")."""

    out_refund_no: str
    refund_id: str  # the provider's refund id
    amount_fen: int
    status: str
    raw: dict = field(default_factory=dict)
