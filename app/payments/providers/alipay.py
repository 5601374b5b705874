"""Alipay (支付宝) through python-alipay-sdk: the payer's browser is sent to Alipay's cashier (page
pay on a computer, WAP pay on a phone); Alipay tells us of the payment by a signed POST to our
notify_url and sends the browser back to return_url; we ask it about a trade, refund and close.

Settings (Flask config):
    ALIPAY_APPID        the app's id on the open platform.
    ALIPAY_PRIVATE_KEY  the app's RSA2 private key (we sign with it): PEM text, a PEM file's path, or
                        the bare base64 that Alipay's key tool shows.
    ALIPAY_PUBLIC_KEY   Alipay's public key, not the app's (we verify Alipay's answers and
                        notifications with it); the same three forms.
    ALIPAY_GATEWAY      default https://openapi.alipay.com/gateway.do; the sandbox's, or the local
                        stand-in's (standins/alipay.py) in tests and development.
    ALIPAY_TIMEOUT      seconds one call to the gateway may take (default 10).

Amounts cross this module as integer fen; Alipay speaks yuan strings ("3980.00"), converted exactly
with Decimal. Alipay reads and writes times as Beijing time without a zone; here they are aware
datetimes (UTC out).
"""
from __future__ import annotations

import base64
import binascii
import http.client
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from Cryptodome.PublicKey import RSA

from app.common.time import utcnow
from app.payments.providers import (
    ForgedNotification,
    PaidNotice,
    PaymentRequest,
    ProviderError,
    RefundResult,
)

log = logging.getLogger(__name__)

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
DEFAULT_TIMEOUT_SECONDS = 10.0
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")
ALIPAY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
REQUIRED_SETTINGS = ("ALIPAY_APPID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")
SUCCESS_CODE = "10000"
# The trade statuses that mean the money is ours (TRADE_FINISHED: paid, and no longer refundable).
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
# What Alipay expects as the whole body of our answer to a notification it may stop resending.
NOTIFICATION_ANSWER = "success"
# Alipay's subject is at most 256 characters and must not hold "/", "=" or "&" (its doc of the
# field); the full-width forms keep a course title such as "运营 / 选品" readable.
SUBJECT_MAX_CHARS = 256
_SUBJECT_FULL_WIDTH = str.maketrans({"/": "／", "=": "＝", "&": "＆"})


class AlipayRefused(ProviderError):
    """Alipay answered the call with a business error (code other than 10000), e.g. sub_code
    ACQ.REFUND_AMT_NOT_EQUAL_TOTAL for a refund beyond what is left of the payment."""

    def __init__(self, method: str, answer: Mapping[str, Any]) -> None:
        self.code = str(answer.get("code", ""))
        self.sub_code = str(answer.get("sub_code", ""))
        self.sub_msg = str(answer.get("sub_msg", ""))
        super().__init__(f"{method}: {self.code} {self.sub_code} {self.sub_msg}".strip())


def configured(config: Mapping[str, Any]) -> bool:
    """Whether the configuration names an app and both keys (Alipay is offered only then)."""
    return all(str(config.get(name) or "").strip() for name in REQUIRED_SETTINGS)


def fen_to_yuan(amount_fen: int) -> str:
    """398000 -> "3980.00", 1 -> "0.01": Alipay's amount, exactly."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValueError(f"an amount to collect or refund is a positive number of fen, not {amount_fen!r}")
    return format(Decimal(amount_fen).scaleb(-2), "f")


def yuan_to_fen(amount: str) -> int:
    """"3980.00" -> 398000; refuses what is not a whole number of fen."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    fen = value.scaleb(2)
    if not fen.is_finite() or fen < 0 or fen != fen.to_integral_value():
        raise ValueError(f"not an amount in fen: {amount!r}")
    return int(fen)


def alipay_time(moment: datetime) -> str:
    """An aware datetime as Alipay writes times: Beijing time, "yyyy-MM-dd HH:mm:ss". Fractions of
    a second are dropped, so a payment deadline never lands after the moment it stands for."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous; give an aware one (UTC)")
    return moment.astimezone(ALIPAY_ZONE).strftime(ALIPAY_TIME_FORMAT)


def from_alipay_time(text: str) -> datetime:
    """Alipay's "yyyy-MM-dd HH:mm:ss" (Beijing time) as a UTC datetime."""
    return datetime.strptime(text, ALIPAY_TIME_FORMAT).replace(tzinfo=ALIPAY_ZONE).astimezone(UTC)


def alipay_subject(description: str) -> str:
    return description.translate(_SUBJECT_FULL_WIDTH)[:SUBJECT_MAX_CHARS]


def _read_rsa_key(value: str, setting: str) -> RSA.RsaKey:
    """A key given as PEM text, a PEM file's path, or bare base64 (DER, PKCS#1 or PKCS#8)."""
    text = str(value).strip()
    if "-----BEGIN" not in text and _is_file(text):
        with open(text, encoding="ascii") as pem_file:
            text = pem_file.read()
    try:
        if "-----BEGIN" in text:
            # A PEM put on one line of an .env file keeps its line breaks as literal "\n".
            return RSA.import_key(text.replace("\\n", "\n"))
        return RSA.import_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, IndexError, TypeError, binascii.Error):
        # The value is a secret: the message names the setting, never its content.
        raise ValueError(f"{setting} is not an RSA key (PEM text, a PEM file's path, or base64)") from None


def _is_file(text: str) -> bool:
    try:
        return os.path.isfile(text)
    except (OSError, ValueError):  # a long base64 key is no file name
        return False


class _AliPayAtGateway(AliPay):
    """The SDK's client, talking to the configured gateway."""

    def __init__(self, *, gateway: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # python-alipay-sdk 3.4.0 picks _gateway from `debug` only (production or Alipay's sandbox)
        # and reads it when it calls the server (verified_sync_response); the stand-in needs its own.
        self._gateway = gateway


class AlipayProvider:
    """One app on Alipay's open platform, built from the Flask config (see the module's doc)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not configured(config):
            raise ValueError("Alipay needs ALIPAY_APPID, ALIPAY_PRIVATE_KEY and ALIPAY_PUBLIC_KEY")
        private_key = _read_rsa_key(config["ALIPAY_PRIVATE_KEY"], "ALIPAY_PRIVATE_KEY")
        if not private_key.has_private():
            raise ValueError("ALIPAY_PRIVATE_KEY is a public key: it should be the app's private key")
        alipay_key = _read_rsa_key(config["ALIPAY_PUBLIC_KEY"], "ALIPAY_PUBLIC_KEY")
        if alipay_key.has_private():
            raise ValueError("ALIPAY_PUBLIC_KEY is a private key: it should be Alipay's public key")
        self.appid = str(config["ALIPAY_APPID"]).strip()
        self.gateway = str(config.get("ALIPAY_GATEWAY") or DEFAULT_GATEWAY).strip()
        self._client = _AliPayAtGateway(
            gateway=self.gateway,
            appid=self.appid,
            app_private_key_string=private_key.export_key("PEM").decode(),
            alipay_public_key_string=alipay_key.export_key("PEM").decode(),
            sign_type="RSA2",
            config=AliPayConfig(timeout=float(config.get("ALIPAY_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)),
        )

    # -- the payer's browser -------------------------------------------------------------------

    def page_pay_url(self, request: PaymentRequest) -> str:
        """Where to send a computer's browser to pay (alipay.trade.page.pay)."""
        return self._pay_url("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY", request, {})

    def wap_pay_url(self, request: PaymentRequest, quit_url: str | None = None) -> str:
        """Where to send a phone's browser to pay (alipay.trade.wap.pay). Alipay's WAP cashier has a
        way out (quit_url) that comes back unsigned; it defaults to request.return_url."""
        leave_to = quit_url or request.return_url
        extra = {"quit_url": leave_to} if leave_to else {}
        return self._pay_url("alipay.trade.wap.pay", "QUICK_WAP_PAY", request, extra)

    def _pay_url(self, method: str, product_code: str, request: PaymentRequest, extra: dict[str, str]) -> str:
        for name, url in (("notify_url", request.notify_url), ("return_url", request.return_url)):
            if url and urlsplit(url).query:
                # Alipay's docs: these URLs take no custom parameters (?id=123). Its own parameters are
                # added to return_url, and ours would break the signature the return is checked by.
                raise ValueError(f"Alipay's {name} takes no query string: {url}")
        trade = {
            "out_trade_no": request.out_trade_no,
            "total_amount": fen_to_yuan(request.amount_fen),
            "subject": alipay_subject(request.description),
            "product_code": product_code,
            **extra,
        }
        if request.expires_at is not None:
            # Alipay refuses payment after this moment: the hold's end, so no one pays for a lost seat.
            trade["time_expire"] = alipay_time(request.expires_at)
        signed_query = self._client.client_api(
            method,
            trade,
            notify_url=request.notify_url,
            return_url=request.return_url,
            timestamp=self._timestamp(),
        )
        return f"{self.gateway}?{signed_query}"

    # -- what Alipay sends us ------------------------------------------------------------------

    def parse_notification(self, form: Mapping[str, str]) -> PaidNotice | None:
        """The payment an asynchronous notification (the POST to notify_url) reports, once its
        signature verifies and it is for our app; None for a genuine notification of something
        else (a trade waiting or closed, a full refund: TRADE_CLOSED). Raises ForgedNotification.

        Alipay resends a notification until our answer's whole body is the plain text "success"
        (NOTIFICATION_ANSWER); answer it once the notice is recorded, also for None and for a
        replay. A partial refund is notified too, as TRADE_SUCCESS with refund_fee: it parses to
        the same PaidNotice (same transaction_id) as the payment, i.e. a replay."""
        params = self._verified(form, "notification")
        if params.get("trade_status") not in PAID_STATUSES:
            return None
        try:
            return PaidNotice(
                out_trade_no=params["out_trade_no"],
                transaction_id=params["trade_no"],
                amount_fen=yuan_to_fen(params["total_amount"]),
                paid_at=from_alipay_time(params["gmt_payment"]),
                raw=dict(form.items()),
            )
        except (KeyError, ValueError) as error:
            raise ForgedNotification(f"Alipay notification without a readable {error}") from error

    def parse_return(self, args: Mapping[str, str]) -> str:
        """The out_trade_no the payer's browser comes back for (the GET to return_url), once its
        signature verifies; raises ForgedNotification (also for a visit with no signature, such as
        the WAP cashier's quit_url). It proves which order the payer looked at, not that the order
        is paid: that comes from the notification or from query()."""
        params = self._verified(args, "return")
        if not params.get("out_trade_no"):
            raise ForgedNotification("Alipay return without out_trade_no")
        return params["out_trade_no"]

    def _verified(self, params: Mapping[str, str], what: str) -> dict[str, str]:
        data = {str(key): str(value) for key, value in params.items()}
        signature = data.pop("sign", "")
        if not signature:
            raise ForgedNotification(f"Alipay {what} without a signature")
        try:
            # verify() takes sign_type out of the dict it is given and refuses any but ours (RSA2).
            genuine = self._client.verify(dict(data), signature)
        except (AliPayException, ValueError, TypeError) as error:  # binascii.Error is a ValueError
            raise ForgedNotification(f"Alipay {what} with an unreadable signature: {error}") from error
        if not genuine:
            raise ForgedNotification(f"Alipay {what} whose signature does not verify")
        if data.get("app_id") != self.appid:
            # Alipay signs every app's notifications with the same key: one for another app is genuine
            # but not ours.
            raise ForgedNotification(f"Alipay {what} for another app ({data.get('app_id')!r})")
        return data

    # -- calls to Alipay's server --------------------------------------------------------------

    def query(self, out_trade_no: str) -> PaidNotice | None:
        """The payment of an order as Alipay knows it now (alipay.trade.query); None when it is not
        paid: no such trade (the payer never opened the cashier), waiting, closed unpaid, or closed
        by a full refund."""
        answer = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if answer.get("sub_code") == TRADE_NOT_EXIST:
            return None
        self._raise_unless_success("alipay.trade.query", answer)
        if answer.get("trade_status") not in PAID_STATUSES:
            return None
        if answer.get("out_trade_no") != out_trade_no:
            raise ProviderError(f"alipay.trade.query for {out_trade_no} answered about {answer.get('out_trade_no')!r}")
        try:
            return PaidNotice(
                out_trade_no=out_trade_no,
                transaction_id=answer["trade_no"],
                amount_fen=yuan_to_fen(answer["total_amount"]),
                paid_at=from_alipay_time(answer["send_pay_date"]),
                raw=answer,
            )
        except (KeyError, ValueError) as error:
            raise ProviderError(f"alipay.trade.query answered without a readable {error}") from error

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, reason: str) -> RefundResult:
        """Gives back `refund_fen` of a paid order (alipay.trade.refund); `out_refund_no` is our
        refund's number (Alipay's out_request_no): asking again with the same one refunds once.

        Alipay answers at once: status SUCCESS when money moved (fund_change Y). fund_change N means
        a retry of a refund already made, or one still under way: the refund query
        (alipay.trade.fastpay.refund.query) then says SUCCESS or PROCESSING. A refund beyond what is
        left raises AlipayRefused (sub_code ACQ.REFUND_AMT_NOT_EQUAL_TOTAL). Alipay has no refund id
        of its own: refund_id is "<trade_no>:<out_refund_no>", which names the refund at Alipay."""
        request = {
            "out_trade_no": out_trade_no,
            "refund_amount": fen_to_yuan(refund_fen),
            "out_request_no": out_refund_no,
        }
        if reason:
            request["refund_reason"] = reason[:256]
        answer = self._call("alipay.trade.refund", request)
        self._raise_unless_success("alipay.trade.refund", answer)
        status, amount_fen = "SUCCESS", refund_fen
        if answer.get("fund_change") != "Y":
            status, amount_fen = self._refund_status(out_trade_no, out_refund_no, refund_fen)
        return RefundResult(
            out_refund_no=out_refund_no,
            refund_id=f"{answer.get('trade_no', '')}:{out_refund_no}",
            amount_fen=amount_fen,
            status=status,
            raw=answer,
        )

    def _refund_status(self, out_trade_no: str, out_refund_no: str, refund_fen: int) -> tuple[str, int]:
        refund = {"out_trade_no": out_trade_no, "out_request_no": out_refund_no}
        answer = self._call("alipay.trade.fastpay.refund.query", refund)
        self._raise_unless_success("alipay.trade.fastpay.refund.query", answer)
        # Without refund_status Alipay has not (yet) done the refund.
        if answer.get("refund_status") != "REFUND_SUCCESS":
            return "PROCESSING", refund_fen
        try:
            return "SUCCESS", yuan_to_fen(answer["refund_amount"])
        except (KeyError, ValueError) as error:
            raise ProviderError(f"alipay.trade.fastpay.refund.query answered without a readable {error}") from error

    def close(self, out_trade_no: str) -> bool:
        """Asks Alipay to close an unpaid trade (alipay.trade.close), best effort: True when Alipay
        closed it; False, never an exception, otherwise: no trade yet (the payer never opened the
        cashier, and the pay URL keeps working until its time_expire), already paid (wait for the
        notification or query()), or Alipay unreachable."""
        try:
            answer = self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        except ProviderError as error:
            log.warning("alipay.trade.close %s: %s", out_trade_no, error)
            return False
        if answer.get("code") != SUCCESS_CODE:
            log.info("alipay.trade.close %s: %s %s", out_trade_no, answer.get("sub_code"), answer.get("sub_msg"))
            return False
        return True

    def _call(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        """The verified answer (the `<method>_response` object) of a call to Alipay's server."""
        try:
            return self._client.server_api(method, request, timestamp=self._timestamp())
        except AliPayValidationError as error:
            raise ProviderError(f"{method}: the answer's signature does not verify with ALIPAY_PUBLIC_KEY") from error
        except AliPayException as error:  # an unsigned answer: Alipay refused the call itself
            raise ProviderError(f"{method}: {error}") from error
        except (OSError, http.client.HTTPException, ValueError, AttributeError) as error:
            # OSError: URLError, HTTPError (a 5xx), timeouts, refused connections; ValueError: not
            # JSON; AttributeError: the SDK reading an unsigned answer that names no response.
            raise ProviderError(f"{method}: Alipay could not be reached or gave no answer: {error!r}") from error

    @staticmethod
    def _raise_unless_success(method: str, answer: Mapping[str, Any]) -> None:
        if answer.get("code") != SUCCESS_CODE:
            raise AlipayRefused(method, answer)

    @staticmethod
    def _timestamp() -> str:
        # The SDK stamps requests with the machine's local time (datetime.now()); Alipay reads it as
        # Beijing time and refuses stale requests, so a server on UTC would be eight hours off.
        return alipay_time(utcnow())
