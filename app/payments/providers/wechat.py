"""WeChat Pay (API v3) through its maintained SDK, wechatpayv3, and WeChat's web authorisation
(snsapi_base) and mini-program login, which give the payer's openid that a JSAPI payment needs.

The SDK signs our requests with the merchant's private key, verifies every answer and notification
with the platform's key and decrypts notifications with the APIv3 key. It runs in its "WeChat Pay
public key" mode (平台公钥): the platform key is configured, so no platform certificate is ever
downloaded.

Settings (Flask config keys; WeChat Pay is offered when `configured()` says every payment key is set):

    WECHATPAY_MCHID           the merchant id (商户号), such as 1900000109
    WECHATPAY_APPID           the official account's app id (公众号 AppID, wx...) the orders are made for
    WECHATPAY_PRIVATE_KEY     the merchant API private key (apiclient_key.pem): PEM text or a file's path
    WECHATPAY_CERT_SERIAL_NO  the serial number of the merchant API certificate that key belongs to
    WECHATPAY_APIV3_KEY       the APIv3 key (32 characters) notifications are encrypted with
    WECHATPAY_PUBLIC_KEY      the WeChat Pay public key (pub_key.pem): PEM text or a file's path
    WECHATPAY_PUBLIC_KEY_ID   its id, PUB_KEY_ID_...
    WECHATPAY_API_BASE        default https://api.mch.weixin.qq.com; the stand-in's URL in tests and
                              development (standins/wechatpay.py)
    WECHATPAY_TIMEOUT_SECONDS how long one call may take (default 10)
    WECHAT_APP_SECRET         the official account's AppSecret, for the payer's openid (snsapi_base)
    WECHAT_MINIPROGRAM_APPID, WECHAT_MINIPROGRAM_APP_SECRET
                              the mini-program's own app id and secret (an openid belongs to one app,
                              and a JSAPI order must name the app of its payer's openid); unset: the
                              official account's
    WECHAT_OAUTH_BASE         default https://open.weixin.qq.com (the authorisation page)
    WECHAT_API_BASE           default https://api.weixin.qq.com (code -> openid)

Every failure to reach WeChat or a refusal by it is a ProviderError (WechatRefused when WeChat
answered, with its HTTP status and error code); a notification that does not verify is a
ForgedNotification. Amounts are integer fen.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from app.payments.providers import ForgedNotification, PaidNotice, PaymentRequest, ProviderError, RefundResult

log = logging.getLogger(__name__)

OFFICIAL_API_BASE = "https://api.mch.weixin.qq.com"
OFFICIAL_OAUTH_BASE = "https://open.weixin.qq.com"
OFFICIAL_WECHAT_API_BASE = "https://api.weixin.qq.com"

PAYMENT_SETTINGS = (
    "WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID",
)

# WeChat Pay speaks Beijing time in its timestamps (time_expire, success_time).
BEIJING = ZoneInfo("Asia/Shanghai")
# WeChat's limits: out_trade_no string(32) of these characters; description 127 characters; reason 80.
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{1,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
DESCRIPTION_MAX_CHARS = 127
REFUND_REASON_MAX_CHARS = 80
# The authorisation page's state parameter: at most 128 bytes of letters and digits.
OAUTH_STATE = re.compile(r"[A-Za-z0-9]{0,128}")
# A query says SUCCESS for a paid order and REFUND once a refund of it was asked for: both were paid.
PAID_TRADE_STATES = frozenset({"SUCCESS", "REFUND"})


def configured(config: Mapping[str, Any]) -> bool:
    """Whether every setting WeChat Pay's payments need is present (native and H5 payments; a JSAPI
    payment also needs the payer's openid: see `openid_configured`)."""
    return all(str(config.get(name) or "").strip() for name in PAYMENT_SETTINGS)


def openid_configured(config: Mapping[str, Any]) -> bool:
    """Whether the payer's openid can be learnt (WeChat's web authorisation needs the AppSecret)."""
    return configured(config) and bool(str(config.get("WECHAT_APP_SECRET") or "").strip())


class WechatRefused(ProviderError):
    """WeChat answered with an error: `status` is the HTTP status, `code` WeChat's error code
    (PARAM_ERROR, INVALID_REQUEST, ORDER_NOT_EXIST, SIGN_ERROR...; for the openid calls, errcode)."""

    def __init__(self, action: str, status: int, code: str, message: str) -> None:
        super().__init__(f"WeChat refused {action}: HTTP {status} {code} {message}".strip())
        self.status = status
        self.code = code
        self.message = message


class WechatPayProvider:
    """One merchant's WeChat Pay, built from the app's config (see the module's docstring)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not configured(config):
            missing = [name for name in PAYMENT_SETTINGS if not str(config.get(name) or "").strip()]
            raise ProviderError("WeChat Pay is not configured: " + ", ".join(missing) + " missing")
        self.mchid = str(config["WECHATPAY_MCHID"]).strip()
        self.appid = str(config["WECHATPAY_APPID"]).strip()
        self.public_key_id = str(config["WECHATPAY_PUBLIC_KEY_ID"]).strip()
        self.api_base = str(config.get("WECHATPAY_API_BASE") or OFFICIAL_API_BASE).rstrip("/")
        self.oauth_base = str(config.get("WECHAT_OAUTH_BASE") or OFFICIAL_OAUTH_BASE).rstrip("/")
        self.wechat_api_base = str(config.get("WECHAT_API_BASE") or OFFICIAL_WECHAT_API_BASE).rstrip("/")
        self.timeout = float(config.get("WECHATPAY_TIMEOUT_SECONDS") or 10)
        self._app_secret = str(config.get("WECHAT_APP_SECRET") or "").strip()
        self.mini_program_appid = str(config.get("WECHAT_MINIPROGRAM_APPID") or "").strip() or self.appid
        self._mini_program_secret = (str(config.get("WECHAT_MINIPROGRAM_APP_SECRET") or "").strip()
                                     or self._app_secret)
        try:
            self._client = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,  # each call below names its own type
                mchid=self.mchid,
                private_key=_pem_setting(config, "WECHATPAY_PRIVATE_KEY"),
                cert_serial_no=str(config["WECHATPAY_CERT_SERIAL_NO"]).strip(),
                appid=self.appid,
                apiv3_key=str(config["WECHATPAY_APIV3_KEY"]).strip(),
                public_key=_pem_setting(config, "WECHATPAY_PUBLIC_KEY"),
                public_key_id=self.public_key_id,
                timeout=self.timeout,
            )
        except ProviderError:
            raise
        except Exception as error:  # the SDK says "failed to load private key." and the like
            raise ProviderError(f"WeChat Pay's keys could not be loaded: {error}") from error
        # The SDK has no setting for its gateway: Core.__init__ hard-codes https://api.mch.weixin.qq.com
        # into this one attribute, which every request is built from. Setting it is what points the
        # SDK at the local stand-in (tests, development) or at WeChat's backup domain
        # (https://api2.mch.weixin.qq.com); checked so a future SDK that renames it fails here, loudly.
        core = self._client._core
        if not hasattr(core, "_gate_way"):
            raise ProviderError("this wechatpayv3 version has no Core._gate_way: WECHATPAY_API_BASE cannot apply")
        core._gate_way = self.api_base

    # Payments -------------------------------------------------------------------------------------

    def create_jsapi(self, request: PaymentRequest, *, mini_program: bool = False) -> dict[str, str]:
        """A JSAPI order (inside WeChat: the official account's pages, or the mini-program with
        `mini_program=True`) for `request.payer_openid`. Returns what WeixinJSBridge's
        getBrandWCPayRequest and the mini-program's wx.requestPayment take, signed by the SDK:
        appId, timeStamp, nonceStr, package ("prepay_id=..."), signType ("RSA"), paySign."""
        if not request.payer_openid:
            raise ValueError("a JSAPI payment needs the payer's openid")
        appid = self.mini_program_appid if mini_program else self.appid
        answer = self._create(request, WeChatPayType.MINIPROG if mini_program else WeChatPayType.JSAPI,
                              appid=appid, payer={"openid": request.payer_openid})
        prepay_id = _text(answer, "prepay_id", ProviderError)
        time_stamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        try:
            pay_sign = self._client.sign([appid, time_stamp, nonce, package])
        except Exception as error:
            raise ProviderError(f"the payment parameters could not be signed: {error}") from error
        return {"appId": appid, "timeStamp": time_stamp, "nonceStr": nonce, "package": package,
                "signType": "RSA", "paySign": pay_sign}

    def create_native(self, request: PaymentRequest) -> str:
        """A Native order (the payer scans a QR code with WeChat): its code_url, to show as a QR code."""
        return _text(self._create(request, WeChatPayType.NATIVE), "code_url", ProviderError)

    def create_h5(self, request: PaymentRequest) -> str:
        """An H5 order (a phone browser other than WeChat's): its h5_url, where the browser is sent.
        WeChat wants the payer's IP (`request.client_ip`). Appending `&redirect_url=<urlencoded>`
        brings the payer back to us afterwards."""
        if not request.client_ip:
            raise ValueError("an H5 payment needs the payer's IP address")
        scene_info = {"payer_client_ip": request.client_ip, "h5_info": {"type": "Wap"}}
        return _text(self._create(request, WeChatPayType.H5, scene_info=scene_info), "h5_url", ProviderError)

    def standin_page_url(self, jsapi_parameters: Mapping[str, str], back_url: str | None = None) -> str | None:
        """Where a browser without WeixinJSBridge pays a JSAPI order in development: the local
        stand-in's payment page (with a link to `back_url` once paid). None against the real WeChat
        Pay, whose JSAPI orders are paid only inside WeChat."""
        if self.api_base in (OFFICIAL_API_BASE, "https://api2.mch.weixin.qq.com"):
            return None
        prepay_id = str(jsapi_parameters.get("package", "")).removeprefix("prepay_id=")
        page = f"{self.api_base}/standin/pay/{quote(prepay_id, safe='')}"
        return page + "?" + urlencode({"redirect_url": back_url}) if back_url else page

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaidNotice | None:
        """A payment notification (the POST WeChat sends to the order's notify_url), verified with
        the platform key and decrypted with the APIv3 key. None for a verified notice that is not a
        successful payment; ForgedNotification when it does not verify, decrypt or parse.
        WeChat sends the same notice again until we answer 2xx: a replay parses to the same
        PaidNotice, and acting on it once is the caller's job."""
        resource = self._verified_resource(headers, body)
        if resource.get("trade_state") != "SUCCESS":
            return None
        return _paid_notice(resource, ForgedNotification)

    def parse_refund_notification(self, headers: Mapping[str, str], body: bytes) -> RefundResult | None:
        """A refund notification (to the refund's notify_url), verified and decrypted like a
        payment's. Its `status` is the refund's outcome: SUCCESS, CLOSED or ABNORMAL (the money could
        not reach the payer's account: it needs a hand in the merchant platform). None for a
        verified notice that is not about a refund."""
        resource = self._verified_resource(headers, body)
        if "refund_status" not in resource:
            return None
        return _refund_result(resource, "refund_status", ForgedNotification)

    def query(self, out_trade_no: str) -> PaidNotice | None:
        """Whether WeChat holds the order as paid: its PaidNotice, or None when it is not paid (not
        yet, closed, or unknown to WeChat)."""
        _check(OUT_TRADE_NO, out_trade_no, "out_trade_no")
        try:
            answer = self._send("the order query", self._client.query, out_trade_no=out_trade_no)
        except WechatRefused as refusal:
            if refusal.code == "ORDER_NOT_EXIST":
                return None
            raise
        if answer.get("trade_state") not in PAID_TRADE_STATES:
            return None
        return _paid_notice(answer, ProviderError)

    def close(self, out_trade_no: str) -> bool:
        """Close an unpaid order (its hold lapsed), so it can no longer be paid. Best-effort: True
        when WeChat closed it, False when it could not (already paid, unreachable: logged); a
        payment that still arrives is reported by its notification as usual."""
        _check(OUT_TRADE_NO, out_trade_no, "out_trade_no")
        try:
            self._send("closing the order", self._client.close, out_trade_no=out_trade_no)
        except ProviderError as error:
            log.warning("WeChat Pay order %s was not closed: %s", out_trade_no, error)
            return False
        return True

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str,
               notify_url: str | None = None) -> RefundResult:
        """Ask WeChat to refund `refund_fen` of the order paid with `total_fen`. The same
        `out_refund_no` asked again refunds once (WeChat answers with the same refund), so a retry
        after a timeout is safe. The answer's status is usually PROCESSING; the outcome comes by the
        refund notification to `notify_url` or by `query_refund`."""
        _check(OUT_TRADE_NO, out_trade_no, "out_trade_no")
        _check(OUT_REFUND_NO, out_refund_no, "out_refund_no")
        if refund_fen <= 0 or total_fen <= 0:
            raise ValueError("refund and total amounts are positive fen")
        answer = self._send(
            "the refund", self._client.refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
            amount={"refund": int(refund_fen), "total": int(total_fen), "currency": "CNY"},
            reason=(reason or "")[:REFUND_REASON_MAX_CHARS] or None, notify_url=notify_url,
        )
        return _refund_result(answer, "status", ProviderError)

    def query_refund(self, out_refund_no: str) -> RefundResult:
        """The refund as WeChat has it now (status SUCCESS, PROCESSING, CLOSED or ABNORMAL)."""
        _check(OUT_REFUND_NO, out_refund_no, "out_refund_no")
        answer = self._send("the refund query", self._client.query_refund, out_refund_no=out_refund_no)
        return _refund_result(answer, "status", ProviderError)

    # The payer's openid ---------------------------------------------------------------------------

    def oauth_authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send a browser inside WeChat to learn its openid without asking (snsapi_base):
        WeChat sends it back to `redirect_uri` with ?code=...&state=... The parameters keep WeChat's
        documented order, which its page checks."""
        _check(OAUTH_STATE, state, "state")
        query = urlencode([("appid", self.appid), ("redirect_uri", redirect_uri), ("response_type", "code"),
                           ("scope", "snsapi_base"), ("state", state)], quote_via=quote)
        return f"{self.oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"

    def openid_from_code(self, code: str) -> str:
        """The openid of the browser that came back from `oauth_authorize_url` with `code` (valid
        once, for five minutes)."""
        answer = self._wechat_get("/sns/oauth2/access_token", "the openid of an authorisation code", {
            "appid": self.appid, "secret": self._require_secret(self._app_secret),
            "code": code, "grant_type": "authorization_code"})
        return _text(answer, "openid", ProviderError)

    def openid_from_login_code(self, js_code: str) -> str:
        """The openid of the mini-program user whose wx.login() gave `js_code`."""
        answer = self._wechat_get("/sns/jscode2session", "the openid of a mini-program login code", {
            "appid": self.mini_program_appid, "secret": self._require_secret(self._mini_program_secret),
            "js_code": js_code, "grant_type": "authorization_code"})
        return _text(answer, "openid", ProviderError)

    # Inside ---------------------------------------------------------------------------------------

    def _create(self, request: PaymentRequest, pay_type: WeChatPayType, *, appid: str | None = None,
                payer: dict | None = None, scene_info: dict | None = None) -> dict:
        _check(OUT_TRADE_NO, request.out_trade_no, "out_trade_no")
        if not isinstance(request.amount_fen, int) or request.amount_fen <= 0:
            raise ValueError("the amount is a positive number of fen")
        if not request.description.strip() or not request.notify_url:
            raise ValueError("an order needs a description and a notify_url")
        return self._send(
            "the order", self._client.pay, pay_type=pay_type, appid=appid,
            description=request.description.strip()[:DESCRIPTION_MAX_CHARS],
            out_trade_no=request.out_trade_no, amount={"total": request.amount_fen, "currency": "CNY"},
            payer=payer, scene_info=scene_info, notify_url=request.notify_url,
            time_expire=_beijing_time(request.expires_at) if request.expires_at else None,
        )

    def _send(self, action: str, sdk_call: Callable[..., tuple[int, Any]], **arguments: Any) -> dict:
        """One SDK call, its answer as a dict; every failure a ProviderError."""
        try:
            status, answer = sdk_call(**arguments)
        except requests.RequestException as error:
            raise ProviderError(f"WeChat Pay could not be reached for {action}: {error}") from error
        except Exception as error:  # the SDK raises a bare Exception when an answer's signature does not verify
            raise ProviderError(f"WeChat Pay's answer to {action} was not accepted: {error}") from error
        payload = _json_object(answer)
        if not 200 <= status < 300:
            payload = payload or {}
            raise WechatRefused(action, status, str(payload.get("code", "")), str(payload.get("message", "")))
        if payload is None:
            raise ProviderError(f"WeChat Pay's answer to {action} is not JSON")
        return payload

    def _verified_resource(self, headers: Mapping[str, str], body: bytes) -> dict:
        """The decrypted resource of a notification whose signature verifies; ForgedNotification
        otherwise."""
        found = _wechatpay_headers(headers)
        # Only our configured platform key may sign. Left to the SDK, an unknown serial makes it
        # download platform certificates from WeChat, a request anyone posting to us could set off.
        if found.get("Wechatpay-Serial") != self.public_key_id:
            raise ForgedNotification(f"notification signed with an unknown key ({found.get('Wechatpay-Serial')!r})")
        try:
            notice = self._client.callback(found, body)
        except Exception as error:  # unsupported algorithm, bad JSON, bad UTF-8: not a notice from WeChat
            raise ForgedNotification(f"notification could not be read: {error}") from error
        if not notice:  # the SDK's answer when the signature does not verify or the resource does not decrypt
            raise ForgedNotification("notification signature or encryption does not verify")
        resource = notice.get("resource")
        if not isinstance(resource, dict):
            raise ForgedNotification("notification resource is not an object")
        if resource.get("mchid", self.mchid) != self.mchid:
            raise ForgedNotification(f"notification is for another merchant ({resource.get('mchid')!r})")
        return resource

    def _wechat_get(self, path: str, action: str, params: dict[str, str]) -> dict:
        """A GET to WeChat's (not WeChat Pay's) API, which answers errors as 200 with an errcode."""
        try:
            response = requests.get(self.wechat_api_base + path, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            # The URL holds the AppSecret: the error names the host only.
            raise ProviderError(f"WeChat could not be reached for {action}: {type(error).__name__}") from error
        payload = _json_object(response.content)
        if payload is None:
            raise WechatRefused(action, response.status_code, "", "the answer is not JSON")
        if response.status_code != 200 or payload.get("errcode"):
            raise WechatRefused(action, response.status_code, str(payload.get("errcode", "")),
                                str(payload.get("errmsg", "")))
        return payload

    @staticmethod
    def _require_secret(secret: str) -> str:
        if not secret:
            raise ProviderError("WECHAT_APP_SECRET is not set: the payer's openid cannot be learnt")
        return secret


def _pem_setting(config: Mapping[str, Any], name: str) -> str:
    """A key setting's PEM text: the value itself, or the file it names. Anything else (the bare
    base64 body some consoles show) goes to the SDK as it is, which adds the PEM lines itself."""
    value = str(config.get(name) or "").strip()
    if value.startswith("-----BEGIN"):
        return value
    if os.path.isfile(value):
        try:
            with open(value, encoding="utf-8") as key_file:
                return key_file.read()
        except OSError as error:
            raise ProviderError(f"{name}: {value} cannot be read: {error}") from error
    if value.endswith(".pem") or value.startswith(("/", "./", "~")):  # a path, not a key's base64 ("MII...")
        raise ProviderError(f"{name}: no such file {value}")
    return value


def _wechatpay_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The Wechatpay-* headers under the names the SDK looks for, whatever the framework's casing
    (Flask's Headers, a plain dict, ASGI's lower case, WSGI's HTTP_WECHATPAY_SIGNATURE)."""
    wanted = {name.lower(): name for name in ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                                              "Wechatpay-Serial", "Wechatpay-Signature-Type")}
    found = {}
    for name, value in headers.items():
        key = name.lower().replace("_", "-").removeprefix("http-")
        if key in wanted:
            found[wanted[key]] = value
    return found


def _paid_notice(transaction: dict, error: type[Exception]) -> PaidNotice:
    try:
        return PaidNotice(
            out_trade_no=str(transaction["out_trade_no"]),
            transaction_id=str(transaction["transaction_id"]),
            amount_fen=int(transaction["amount"]["total"]),
            paid_at=datetime.fromisoformat(transaction["success_time"]).astimezone(UTC),
            raw=transaction,
        )
    except (KeyError, TypeError, ValueError) as problem:
        raise error(f"a paid transaction without {problem}") from problem


def _refund_result(refund: dict, status_field: str, error: type[Exception]) -> RefundResult:
    try:
        return RefundResult(
            out_refund_no=str(refund["out_refund_no"]),
            refund_id=str(refund["refund_id"]),
            amount_fen=int(refund["amount"]["refund"]),
            status=str(refund[status_field]),
            raw=refund,
        )
    except (KeyError, TypeError, ValueError) as problem:
        raise error(f"a refund without {problem}") from problem


def _text(answer: dict, field: str, error: type[Exception]) -> str:
    value = answer.get(field)
    if not isinstance(value, str) or not value:
        raise error(f"WeChat's answer has no {field}")
    return value


def _json_object(answer: str | bytes | None) -> dict | None:
    """An answer's JSON object; {} for an empty answer (204), None when it is not a JSON object."""
    if isinstance(answer, bytes):
        try:
            answer = answer.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not answer:
        return {}
    try:
        value = json.loads(answer)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _beijing_time(moment: datetime) -> str:
    """RFC 3339 in Beijing time, as WeChat writes it (2026-07-01T10:34:56+08:00). A naive time is UTC,
    as everywhere in this app."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def _check(pattern: re.Pattern, value: str, name: str) -> None:
    # These values become part of WeChat's URL paths: a "/" or "?" in one would ask for another resource.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} is not what WeChat accepts")
