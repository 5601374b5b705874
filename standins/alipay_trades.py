"""What the Alipay stand-in knows and decides (standins/alipay.py is its HTTP face): the app's
requests checked as Alipay checks them, the trades with their payments, refunds and closing, the
notifications sent to notify_url, and Alipay's error answers (code, sub_code, sub_msg)."""
from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from Cryptodome.PublicKey import RSA
from flask import Response

from standins.alipay_keys import StandinKeys, request_content, rsa2_sign, rsa2_verifies, signed_notification

# The stand-in reads amounts and times itself, not with the adapter's helpers: a conversion bug
# shared by both sides would pass every test.
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Alipay's docs of `timestamp`: Beijing time; a request expires after 30 minutes.
TIMESTAMP_TOLERANCE = timedelta(minutes=30)
PAY_METHODS = {"alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY", "alipay.trade.wap.pay": "QUICK_WAP_PAY"}
MIN_AMOUNT, MAX_AMOUNT = Decimal("0.01"), Decimal("100000000.00")
SELLER_ID = "2088000000000001"
BUYER_ID = "2088000000000002"
BUYER_LOGON_ID = "138****0000"
NOTIFY_TIMEOUT_SECONDS = 10


class Refusal(Exception):
    """An error answer of Alipay's: code 40001/40002 (the request itself: signature, app id,
    parameters; answered unsigned, like the SDK's example of isv.invalid-app-id) or 40004
    (business: answered signed)."""

    def __init__(self, code: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(f"{code} {sub_code} {sub_msg}")
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg

    @property
    def answer(self) -> dict[str, str]:
        msg = {"40001": "Missing Required Arguments", "40004": "Business Failed"}.get(self.code, "Invalid Arguments")
        return {"code": self.code, "msg": msg, "sub_code": self.sub_code, "sub_msg": self.sub_msg}


def business(sub_code: str, sub_msg: str) -> Refusal:
    return Refusal("40004", sub_code, sub_msg)


def invalid(sub_code: str, sub_msg: str) -> Refusal:
    return Refusal("40002", sub_code, sub_msg)


def yuan(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01")), "f")


def read_yuan(text: Any, name: str) -> Decimal:
    try:
        amount = Decimal(str(text))
    except InvalidOperation:
        raise business("ACQ.INVALID_PARAMETER", f"参数 {name} 不合法") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise business("ACQ.INVALID_PARAMETER", f"参数 {name} 不合法")
    return amount


def beijing(moment: datetime, milliseconds: bool = False) -> str:
    local = moment.astimezone(ALIPAY_ZONE)
    text = local.strftime(TIME_FORMAT)
    return f"{text}.{local.microsecond // 1000:03d}" if milliseconds else text


def read_beijing(text: str, name: str) -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=ALIPAY_ZONE)
    except (TypeError, ValueError):
        raise invalid("isv.invalid-parameter", f"参数 {name} 格式应为 yyyy-MM-dd HH:mm:ss（北京时间）") from None


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    method: str
    total: Decimal
    subject: str
    notify_url: str
    return_url: str
    quit_url: str
    time_expire: datetime | None
    gmt_create: datetime
    status: str = "WAIT_BUYER_PAY"
    gmt_payment: datetime | None = None
    refunds: dict[str, Decimal] = field(default_factory=dict)  # out_request_no -> amount
    payment_notification: dict[str, str] | None = None

    @property
    def refunded(self) -> Decimal:
        return sum(self.refunds.values(), Decimal("0.00"))

    def expire_if_due(self) -> None:
        if self.status == "WAIT_BUYER_PAY" and self.time_expire is not None and now() >= self.time_expire:
            self.status = "TRADE_CLOSED"

    def as_json(self) -> dict[str, Any]:
        return {
            "out_trade_no": self.out_trade_no, "trade_no": self.trade_no, "method": self.method,
            "status": self.status, "total_amount": yuan(self.total), "refunded": yuan(self.refunded),
            "subject": self.subject, "notify_url": self.notify_url, "return_url": self.return_url,
            "time_expire": beijing(self.time_expire) if self.time_expire else None,
        }


class StandinAlipay:
    """Alipay's state and rules for one app: its trades (guarded by one lock), the notifications it
    sent, and whether it is down."""

    def __init__(self, keys: StandinKeys) -> None:
        self.appid = keys.appid
        self._app_public_key = RSA.import_key(keys.app_public_key)
        self._alipay_private_key = RSA.import_key(keys.alipay_private_key)
        self._lock = threading.Lock()
        self._trades: dict[str, Trade] = {}
        self._trade_numbers = itertools.count(1)
        self._notifications: list[dict[str, Any]] = []
        self.down = False

    # -- the request itself ---------------------------------------------------------------------

    def checked_request(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The request's biz_content, once the request is the app's, signed by it and fresh."""
        if params.get("app_id") != self.appid:
            raise invalid("isv.invalid-app-id", "无效的AppID参数")
        if not params.get("sign"):
            raise Refusal("40001", "isv.missing-signature", "缺少签名参数")
        if params.get("sign_type") != "RSA2":
            raise invalid("isv.invalid-signature-type", "无效的签名类型")
        if not rsa2_verifies(self._app_public_key, request_content(params), params["sign"]):
            raise invalid("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
        stamped = read_beijing(params.get("timestamp", ""), "timestamp")
        if abs(now() - stamped) > TIMESTAMP_TOLERANCE:
            raise invalid("isv.invalid-timestamp", "非法的时间戳参数（应为北京时间，30 分钟内）")
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            raise invalid("isv.invalid-parameter", "biz_content 不是 JSON") from None
        if not isinstance(biz, dict):
            raise invalid("isv.invalid-parameter", "biz_content 不是 JSON 对象")
        return biz

    def signed_answer(self, method: str, payload: Mapping[str, Any]) -> Response:
        """`{"<method>_response": {...}, "sign": "..."}`, signed over the response object's text
        exactly as it stands in the body, which is what the SDK cuts out and verifies."""
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        sign = rsa2_sign(self._alipay_private_key, content)
        body = f'{{"{method.replace(".", "_")}_response":{content},"sign":"{sign}"}}'
        return Response(body, mimetype="application/json")

    def refusal_answer(self, method: str, refusal: Refusal) -> Response:
        if refusal.code == "40004":
            return self.signed_answer(method, refusal.answer)
        key = f"{method.replace('.', '_')}_response" if method else "error_response"
        return Response(json.dumps({key: refusal.answer}, ensure_ascii=False), mimetype="application/json")

    # -- the cashier ----------------------------------------------------------------------------

    def open_trade(self, method: str, params: Mapping[str, str], biz: Mapping[str, Any]) -> Trade:
        """The trade a pay URL stands for: made on the first visit, the same one on the next."""
        out_trade_no = str(biz.get("out_trade_no") or "")
        subject = str(biz.get("subject") or "")
        if not out_trade_no or len(out_trade_no) > 64 or not subject:
            raise business("ACQ.INVALID_PARAMETER", "缺少 out_trade_no 或 subject")
        if biz.get("product_code") != PAY_METHODS[method]:
            raise business("ACQ.INVALID_PRODUCT_CODE", f"product_code 应为 {PAY_METHODS[method]}")
        total = read_yuan(biz.get("total_amount"), "total_amount")
        time_expire = read_beijing(biz["time_expire"], "time_expire") if biz.get("time_expire") else None
        with self._lock:
            trade = self._trades.get(out_trade_no)
            if trade is None:
                trade = Trade(
                    out_trade_no=out_trade_no, trade_no=self._next_trade_no(), method=method, total=total,
                    subject=subject, notify_url=params.get("notify_url", ""), return_url=params.get("return_url", ""),
                    quit_url=str(biz.get("quit_url") or ""), time_expire=time_expire, gmt_create=now(),
                )
                self._trades[out_trade_no] = trade
            elif (trade.total, trade.subject) != (total, subject):
                raise business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            trade.expire_if_due()
            if trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade.status == "TRADE_CLOSED":
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已关闭")
            return trade

    def pay(self, out_trade_no: str) -> tuple[Trade, dict[str, str]]:
        """The payer pays: the trade and the notification to send (the kept one if already paid)."""
        with self._lock:
            trade = self._trades.get(out_trade_no)
            if trade is None:
                raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
            trade.expire_if_due()
            if trade.status == "TRADE_CLOSED":
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已关闭")
            if trade.payment_notification is None:
                trade.status, trade.gmt_payment = "TRADE_SUCCESS", now()
                trade.payment_notification = self._notification(trade, "TRADE_SUCCESS")
            return trade, trade.payment_notification

    def return_params(self, trade: Trade) -> dict[str, str]:
        """What the browser brings back to return_url (signed like a notification)."""
        return signed_notification({
            "charset": "utf-8", "out_trade_no": trade.out_trade_no, "method": f"{trade.method}.return",
            "total_amount": yuan(trade.total), "trade_no": trade.trade_no, "auth_app_id": self.appid,
            "version": "1.0", "app_id": self.appid, "seller_id": SELLER_ID, "timestamp": beijing(now()),
        }, self._alipay_private_key)

    def _notification(self, trade: Trade, trade_status: str, **more: str) -> dict[str, str]:
        total = yuan(trade.total)
        params = {
            "notify_time": beijing(now()), "notify_type": "trade_status_sync", "notify_id": uuid.uuid4().hex,
            "charset": "utf-8", "version": "1.0", "app_id": self.appid, "auth_app_id": self.appid,
            "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "trade_status": trade_status,
            "total_amount": total, "receipt_amount": total, "invoice_amount": total, "buyer_pay_amount": total,
            "point_amount": "0.00", "subject": trade.subject, "buyer_id": BUYER_ID, "buyer_logon_id": BUYER_LOGON_ID,
            "seller_id": SELLER_ID, "gmt_create": beijing(trade.gmt_create),
            "gmt_payment": beijing(trade.gmt_payment or now()),
            "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")),
            **more,
        }
        return signed_notification(params, self._alipay_private_key)

    def send(self, notify_url: str, params: Mapping[str, str]) -> dict[str, Any]:
        """POSTs a notification as Alipay does (a form, UTF-8) and keeps what notify_url answered."""
        delivery: dict[str, Any] = {"notify_url": notify_url, "params": dict(params)}
        delivery.update(status=None, answer=None, error=None)
        if notify_url:
            message = urllib.request.Request(
                notify_url, data=urllib.parse.urlencode(params).encode("utf-8"), method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
            try:
                with urllib.request.urlopen(message, timeout=NOTIFY_TIMEOUT_SECONDS) as answer:
                    delivery["status"], delivery["answer"] = answer.status, answer.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                delivery["status"], delivery["answer"] = error.code, error.read().decode("utf-8", "replace")
            except (OSError, ValueError) as error:
                delivery["error"] = repr(error)
        with self._lock:
            self._notifications.append(delivery)
        return delivery

    # -- the server API -------------------------------------------------------------------------

    def api(self, method: str) -> Callable[[Mapping[str, Any]], dict[str, Any]] | None:
        return {
            "alipay.trade.query": self.query,
            "alipay.trade.refund": self.refund,
            "alipay.trade.fastpay.refund.query": self.refund_query,
            "alipay.trade.close": self.close,
        }.get(method)

    def _trade_of(self, biz: Mapping[str, Any]) -> Trade:
        trade = self._trades.get(str(biz.get("out_trade_no") or ""))
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self._trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None:
            raise business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        trade.expire_if_due()
        return trade

    def query(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            trade = self._trade_of(biz)
            paid = trade.gmt_payment is not None
            answer = {
                "code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": BUYER_LOGON_ID, "buyer_user_id": BUYER_ID, "trade_status": trade.status,
                "total_amount": yuan(trade.total), "buyer_pay_amount": yuan(trade.total) if paid else "0.00",
                "point_amount": "0.00", "invoice_amount": yuan(trade.total) if paid else "0.00",
                "receipt_amount": yuan(trade.total) if paid else "0.00",
            }
            if paid:
                answer["send_pay_date"] = beijing(trade.gmt_payment)
            return answer

    def refund(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            trade = self._trade_of(biz)
            amount = read_yuan(biz.get("refund_amount"), "refund_amount")
            request_no = str(biz.get("out_request_no") or trade.out_trade_no)
            answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                      "buyer_logon_id": BUYER_LOGON_ID, "buyer_user_id": BUYER_ID}
            if request_no in trade.refunds:
                if trade.refunds[request_no] != amount:
                    # Alipay does not document this case; the stand-in refuses rather than guess.
                    raise business("ACQ.INVALID_PARAMETER", "out_request_no 已用于另一金额的退款")
                # A retry: Alipay refunds once and says no money moved this time.
                return {**answer, "fund_change": "N", "refund_fee": yuan(trade.refunded)}
            if trade.status == "WAIT_BUYER_PAY":
                raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if trade.status == "TRADE_CLOSED" and trade.gmt_payment is None:
                raise business("ACQ.TRADE_HAS_CLOSE", "交易已关闭")
            if trade.refunded + amount > trade.total:
                raise business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            trade.refunds[request_no] = amount
            refunded_at = now()
            if trade.refunded == trade.total:
                trade.status = "TRADE_CLOSED"
            refund_facts = {"refund_fee": yuan(trade.refunded), "out_biz_no": request_no,
                            "gmt_refund": beijing(refunded_at, milliseconds=True)}
            if trade.status == "TRADE_CLOSED":
                refund_facts["gmt_close"] = beijing(refunded_at)
            notification = self._notification(trade, trade.status, **refund_facts)
        # Alipay notifies refunds too, later and apart from this answer (a thread, so an app that
        # handles one request at a time is not waiting on itself).
        threading.Thread(target=self.send, args=(trade.notify_url, notification), daemon=True).start()
        return {**answer, "fund_change": "Y", "refund_fee": yuan(trade.refunded), "send_back_fee": yuan(amount),
                "gmt_refund_pay": beijing(refunded_at)}

    def refund_query(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            trade = self._trade_of(biz)
            request_no = str(biz.get("out_request_no") or trade.out_trade_no)
            answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                      "out_request_no": request_no}
            if request_no not in trade.refunds:
                return answer  # no refund_status: Alipay has no such refund (done)
            return {**answer, "total_amount": yuan(trade.total), "refund_amount": yuan(trade.refunds[request_no]),
                    "refund_status": "REFUND_SUCCESS"}

    def close(self, biz: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            trade = self._trade_of(biz)
            if trade.gmt_payment is not None:
                raise business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade.status = "TRADE_CLOSED"  # closing a closed unpaid trade again is answered the same
            return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    # -- for the controls -----------------------------------------------------------------------

    def trade(self, out_trade_no: str) -> Trade | None:
        with self._lock:
            return self._trades.get(out_trade_no)

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._notifications)

    def _next_trade_no(self) -> str:
        # 28 digits like Alipay's: the date, a fixed middle, a running number.
        return f"{now().astimezone(ALIPAY_ZONE):%Y%m%d}2200140{next(self._trade_numbers):013d}"
