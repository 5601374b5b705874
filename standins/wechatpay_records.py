"""What the WeChat Pay stand-in keeps in memory (orders, refunds, authorisation codes) and how it
shows them: as WeChat Pay's answers and notification resources do."""
from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class Order:
    out_trade_no: str
    prepay_id: str
    trade_type: str
    appid: str
    description: str
    amount_fen: int
    notify_url: str
    time_expire: datetime | None
    payer_openid: str | None
    trade_state: str = "NOTPAY"  # NOTPAY, SUCCESS, REFUND, CLOSED
    transaction_id: str | None = None
    success_time: str | None = None
    refunded_fen: int = 0

    def expired(self) -> bool:
        return self.time_expire is not None and datetime.now(UTC) > self.time_expire

    def transaction(self, mchid: str) -> dict:
        """The order as WeChat's query answers it (and, once paid, as a notification's resource)."""
        answer = {"appid": self.appid, "mchid": mchid, "out_trade_no": self.out_trade_no,
                  "trade_type": self.trade_type, "trade_state": self.trade_state,
                  "trade_state_desc": TRADE_STATE_DESCRIPTIONS[self.trade_state], "attach": "",
                  "amount": {"total": self.amount_fen, "currency": "CNY"}}
        if self.transaction_id:
            answer.update({
                "transaction_id": self.transaction_id, "bank_type": "OTHERS", "success_time": self.success_time,
                "payer": {"openid": self.payer_openid},
                "amount": {"total": self.amount_fen, "payer_total": self.amount_fen, "currency": "CNY",
                           "payer_currency": "CNY"},
            })
        return answer


TRADE_STATE_DESCRIPTIONS = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "REFUND": "转入退款",
                            "CLOSED": "已关闭"}


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    status: str
    notify_url: str | None
    create_time: str
    success_time: str | None = None

    def answer(self) -> dict:
        amount = {"total": self.total_fen, "refund": self.refund_fen, "payer_total": self.total_fen,
                  "payer_refund": self.refund_fen, "settlement_total": self.total_fen,
                  "settlement_refund": self.refund_fen, "discount_refund": 0, "currency": "CNY"}
        answer = {"refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
                  "transaction_id": self.transaction_id, "out_trade_no": self.out_trade_no, "channel": "ORIGINAL",
                  "user_received_account": "支付用户零钱", "create_time": self.create_time,
                  "status": self.status, "funds_account": "AVAILABLE", "amount": amount}
        if self.success_time:
            answer["success_time"] = self.success_time
        return answer

    def notification_resource(self, mchid: str) -> dict:
        resource = {"mchid": mchid, "out_trade_no": self.out_trade_no, "transaction_id": self.transaction_id,
                    "out_refund_no": self.out_refund_no, "refund_id": self.refund_id,
                    "refund_status": self.status, "user_received_account": "支付用户零钱",
                    "amount": {"total": self.total_fen, "refund": self.refund_fen, "payer_total": self.total_fen,
                               "payer_refund": self.refund_fen}}
        if self.success_time:
            resource["success_time"] = self.success_time
        return resource


@dataclass
class Ledger:
    """Everything the stand-in remembers, behind one lock (the server answers from several threads)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    orders: dict[str, Order] = field(default_factory=dict)
    order_of_prepay_id: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # code -> (appid, openid, made at)
    used_codes: set[str] = field(default_factory=set)
    down: bool = False


def beijing_now() -> str:
    """Now as WeChat writes times: RFC 3339 in Beijing time."""
    return datetime.now(BEIJING).isoformat(timespec="seconds")


def openid_of(appid: str, user: str) -> str:
    """A stable openid for one person in one app (an openid belongs to one app, as at WeChat)."""
    digest = hashlib.sha256(f"{appid}:{user}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode("ascii")[:27]
