"""A local stand-in of WeChat Pay's API v3 (and of WeChat's openid endpoints), for the tests and the
development setup: the app's adapter (app/payments/providers/wechat.py) runs the real wechatpayv3
SDK against it.

Like WeChat Pay it refuses requests that the merchant's key did not sign (401 SIGN_ERROR), signs
every answer and notification with the platform key (Wechatpay-Signature, -Timestamp, -Nonce,
-Serial), encrypts notification resources with the APIv3 key (AEAD_AES_256_GCM) and answers errors
as {"code", "message"} with WeChat's codes. Orders live in memory.

WeChat Pay's API                        POST /v3/pay/transactions/jsapi|native|h5
                                        GET  /v3/pay/transactions/out-trade-no/<no>?mchid=
                                        POST /v3/pay/transactions/out-trade-no/<no>/close
                                        POST /v3/refund/domestic/refunds, GET .../refunds/<no>
WeChat's openid endpoints               GET  /connect/oauth2/authorize (redirects back with a code)
                                        GET  /sns/oauth2/access_token, GET /sns/jscode2session
The payer (a browser)                   GET  /standin/pay/<prepay_id> (code_url and h5_url lead
                                        here), its 确认支付 button: POST /standin/pay/<prepay_id>/confirm
Tests and scripts                       POST /standin/pay/<out_trade_no>: pay and notify, answer
                                             what was sent and whether notify_url took it
                                        POST /standin/refunds/<out_refund_no>/complete
                                        POST /standin/jscode (what wx.login would give)
                                        POST /standin/outage {"down": true|false}
                                        GET  /standin/orders

Run it for development:  python -m standins.wechatpay --port 8801 --keys instance/standin-keys
(it makes the keys if missing and prints the app's settings).

The orders and refunds it keeps: wechatpay_records.py; its signing and encryption: wechatpay_signing.py.

The payment page imitates WeChat's own page, which is not ours to translate: its Chinese is written
out, not wrapped for Babel, and it never ships.
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, Response, abort, jsonify, redirect, render_template, request

from standins.wechatpay_records import BEIJING, Ledger, Order, Refund, beijing_now, openid_of
from standins.wechatpay_signing import PlatformSigner, merchant_signature_problem

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
CODE_LIFETIME_SECONDS = 300
TRADE_TYPES = {"jsapi": "JSAPI", "native": "NATIVE", "h5": "MWEB"}
USER_COOKIE = "standin_wechat_user"


class WechatPayRefusal(Exception):
    """An error answer, as WeChat Pay gives it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def create_app(*, merchant_public_key: str, platform_private_key: str, platform_public_key_id: str,
               apiv3_key: str, mchid: str, apps: Mapping[str, str], merchant_cert_serial_no: str | None = None,
               refund_status: str = "PROCESSING", public_url: str | None = None,
               notify_timeout: float = 5.0) -> Flask:
    """The stand-in for one merchant `mchid`: `merchant_public_key` (PEM) verifies its requests (and
    `merchant_cert_serial_no`, when given, must be the serial they name); `platform_private_key` (PEM)
    and `platform_public_key_id` sign answers and notifications; `apiv3_key` encrypts resources;
    `apps` maps each app id (official account, mini-program) to its AppSecret. A refund is answered
    with `refund_status` (PROCESSING, as WeChat usually does, or SUCCESS). `public_url` is the address
    that code_url and h5_url name (a phone scanning the QR code needs the machine's LAN address);
    default: the address the request came to."""
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    merchant_key = load_pem_public_key(merchant_public_key.encode("ascii"))
    signer = PlatformSigner(platform_private_key, platform_public_key_id, apiv3_key)
    ledger = Ledger()
    app.extensions["wechatpay_standin"] = ledger

    def signed(payload: dict | None, status: int = 200) -> Response:
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        response = Response(body, status=status, headers=signer.headers(body))
        if payload is not None:
            response.headers["Content-Type"] = "application/json; charset=utf-8"
        return response

    def page_url(order: Order) -> str:
        base = (public_url or request.host_url).rstrip("/")
        return f"{base}/standin/pay/{order.prepay_id}"

    def deliver(url: str | None, headers: dict, body: str) -> dict:
        """POST a notification; what happened, for the caller to show."""
        outcome: dict = {"notify_url": url, "notify_status": None, "notified": False, "notify_error": None,
                         "notification": {"headers": headers, "body": body}}
        if not url:
            return outcome
        try:
            answer = requests.post(url, data=body.encode("utf-8"), headers=headers, timeout=notify_timeout)
        except requests.RequestException as error:
            outcome["notify_error"] = f"{type(error).__name__}: {error}"
            return outcome
        outcome["notify_status"] = answer.status_code
        outcome["notified"] = 200 <= answer.status_code < 300
        return outcome

    def pay(order_key: str, *, by_prepay_id: bool, openid: str | None, notify: bool = True) -> tuple[Order, dict]:
        """Mark the order paid (once: paying again re-sends the same notice, as WeChat's retries do)
        and POST the TRANSACTION.SUCCESS notification to its notify_url (`notify`=False: a lost
        notification; the answer still carries what would have been sent)."""
        with ledger.lock:
            number = ledger.order_of_prepay_id.get(order_key) if by_prepay_id else order_key
            order = ledger.orders.get(number or "")
            if order is None:
                raise WechatPayRefusal(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state == "NOTPAY":
                if order.expired():
                    raise WechatPayRefusal(409, "ORDER_CLOSED", "订单已过期，请返回商户重新下单")
                order.trade_state = "SUCCESS"
                order.transaction_id = "4200" + "".join(secrets.choice(string.digits) for _ in range(24))
                order.success_time = beijing_now()
                order.payer_openid = order.payer_openid or openid or openid_of(order.appid, "standin-payer")
            elif order.trade_state == "CLOSED":
                raise WechatPayRefusal(409, "ORDER_CLOSED", "订单已关闭")
            transaction = order.transaction(mchid)
            transaction["trade_state"], transaction["trade_state_desc"] = "SUCCESS", "支付成功"
        headers, body = signer.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", transaction)
        return order, deliver(order.notify_url if notify else None, headers, body)

    def notify_refund(refund: Refund) -> dict:
        event = "REFUND.SUCCESS" if refund.status == "SUCCESS" else f"REFUND.{refund.status}"
        headers, body = signer.notification(event, "退款结果", "refund", refund.notification_resource(mchid))
        return deliver(refund.notify_url, headers, body)

    def browser_user() -> str:
        return request.cookies.get(USER_COOKIE) or secrets.token_hex(8)

    @app.errorhandler(WechatPayRefusal)
    def refused(refusal: WechatPayRefusal):
        human_page = request.path.startswith("/standin/pay/") and (request.method == "GET"
                                                                   or request.path.endswith("/confirm"))
        if human_page:
            return render_template("wechatpay/result.html", title=refusal.message, paid=False, outcome=None,
                                   back_url=None), refusal.status
        if request.path.startswith("/v3/"):
            return signed({"code": refusal.code, "message": refusal.message}, refusal.status)
        return jsonify(code=refusal.code, message=refusal.message), refusal.status

    @app.before_request
    def like_wechat():
        if ledger.down and not request.path.startswith("/standin/"):
            return jsonify(code="SYSTEM_ERROR", message="系统繁忙，请稍后再试"), 503
        if request.path.startswith("/v3/"):
            problem = signature_problem()
            if problem:
                return jsonify(code="SIGN_ERROR", message=f"签名错误: {problem}"), 401
        return None

    def signature_problem() -> str | None:
        query = request.query_string.decode("latin-1")
        uri = request.environ.get("RAW_URI") or quote(request.path) + (f"?{query}" if query else "")
        return merchant_signature_problem(merchant_key, mchid, merchant_cert_serial_no, request.method, uri,
                                          request.headers.get("Authorization", ""), request.get_data(as_text=True))

    def json_body() -> dict:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise WechatPayRefusal(400, "PARAM_ERROR", "请求体不是JSON对象")
        return body

    # WeChat Pay's API -----------------------------------------------------------------------------

    @app.post("/v3/pay/transactions/<kind>")
    def create_order(kind: str):
        if kind not in TRADE_TYPES:
            abort(404)
        order = new_order(kind, json_body())
        with ledger.lock:
            known = ledger.orders.get(order.out_trade_no)
            if known is not None:
                if known.trade_state in ("SUCCESS", "REFUND"):
                    raise WechatPayRefusal(400, "ORDERPAID", "该订单已支付")
                if known.trade_state == "CLOSED":
                    raise WechatPayRefusal(400, "ORDER_CLOSED", "订单已关闭")
                same = (known.trade_type, known.appid, known.amount_fen, known.description, known.payer_openid)
                if same != (order.trade_type, order.appid, order.amount_fen, order.description, order.payer_openid):
                    raise WechatPayRefusal(400, "OUT_TRADE_NO_USED", "商户订单号重复")
                known.notify_url, known.time_expire = order.notify_url, order.time_expire
                order = known  # the same order asked again: the same prepay_id, as at WeChat
            else:
                ledger.orders[order.out_trade_no] = order
                ledger.order_of_prepay_id[order.prepay_id] = order.out_trade_no
        if kind == "jsapi":
            return signed({"prepay_id": order.prepay_id})
        if kind == "native":
            return signed({"code_url": page_url(order)})
        return signed({"h5_url": page_url(order) + "?" + urlencode({"via": "h5"})})

    def new_order(kind: str, body: dict) -> Order:
        if body.get("mchid") != mchid:
            raise WechatPayRefusal(400, "MCH_NOT_EXISTS", "商户号不存在")
        if body.get("appid") not in apps:
            raise WechatPayRefusal(400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配")
        out_trade_no, description = str(body.get("out_trade_no", "")), str(body.get("description", ""))
        if not OUT_TRADE_NO.fullmatch(out_trade_no):
            raise WechatPayRefusal(400, "PARAM_ERROR", "out_trade_no格式错误")
        if not 1 <= len(description) <= 127:
            raise WechatPayRefusal(400, "PARAM_ERROR", "description长度应为1至127个字符")
        amount = body.get("amount") or {}
        total = amount.get("total") if isinstance(amount, dict) else None
        if (not isinstance(total, int) or isinstance(total, bool) or total <= 0
                or amount.get("currency", "CNY") != "CNY"):
            raise WechatPayRefusal(400, "PARAM_ERROR", "amount.total应为正整数（分）")
        notify_url = str(body.get("notify_url", ""))
        parts = urlsplit(notify_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise WechatPayRefusal(400, "PARAM_ERROR", "notify_url应为不带参数的http(s)地址")
        time_expire = None
        if body.get("time_expire"):
            try:
                time_expire = datetime.fromisoformat(body["time_expire"])
            except (TypeError, ValueError):
                raise WechatPayRefusal(400, "PARAM_ERROR", "time_expire格式错误") from None
            if time_expire.tzinfo is None:
                raise WechatPayRefusal(400, "PARAM_ERROR", "time_expire需带时区")
        payer_openid = None
        if kind == "jsapi":
            payer = body.get("payer") or {}
            payer_openid = payer.get("openid") if isinstance(payer, dict) else None
            if not payer_openid:
                raise WechatPayRefusal(400, "PARAM_ERROR", "JSAPI下单需要payer.openid")
        if kind == "h5":
            scene = body.get("scene_info") or {}
            if not (isinstance(scene, dict) and scene.get("payer_client_ip") and scene.get("h5_info")):
                raise WechatPayRefusal(400, "PARAM_ERROR", "H5下单需要scene_info.payer_client_ip和h5_info")
        prepay_id = "wx" + datetime.now(BEIJING).strftime("%d%H%M%S") + secrets.token_hex(13)
        return Order(out_trade_no=out_trade_no, prepay_id=prepay_id, trade_type=TRADE_TYPES[kind],
                     appid=body["appid"], description=description, amount_fen=total, notify_url=notify_url,
                     time_expire=time_expire, payer_openid=payer_openid)

    @app.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
    def query_order(out_trade_no: str):
        if request.args.get("mchid") != mchid:
            raise WechatPayRefusal(400, "PARAM_ERROR", "mchid不正确")
        with ledger.lock:
            order = ledger.orders.get(out_trade_no)
            if order is None:
                raise WechatPayRefusal(404, "ORDER_NOT_EXIST", "订单不存在")
            return signed(order.transaction(mchid))

    @app.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
    def close_order(out_trade_no: str):
        if json_body().get("mchid") != mchid:
            raise WechatPayRefusal(400, "PARAM_ERROR", "mchid不正确")
        with ledger.lock:
            order = ledger.orders.get(out_trade_no)
            if order is None:
                raise WechatPayRefusal(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise WechatPayRefusal(400, "ORDERPAID", "订单已支付")
            order.trade_state = "CLOSED"
        return signed(None, 204)

    @app.post("/v3/refund/domestic/refunds")
    def create_refund():
        body = json_body()
        out_refund_no = str(body.get("out_refund_no", ""))
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise WechatPayRefusal(400, "PARAM_ERROR", "out_refund_no格式错误")
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
        refund_fen, total_fen = amount.get("refund"), amount.get("total")
        if not all(isinstance(value, int) and value > 0 for value in (refund_fen, total_fen)):
            raise WechatPayRefusal(400, "PARAM_ERROR", "amount.refund和amount.total应为正整数（分）")
        with ledger.lock:
            order = ledger.orders.get(str(body.get("out_trade_no", "")))
            if order is None:
                order = next((known for known in ledger.orders.values()
                              if body.get("transaction_id") and known.transaction_id == body["transaction_id"]), None)
            if order is None:
                raise WechatPayRefusal(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            earlier = ledger.refunds.get(out_refund_no)
            if earlier is not None:  # the same out_refund_no refunds once: WeChat answers with that refund
                if earlier.out_trade_no != order.out_trade_no or earlier.refund_fen != refund_fen:
                    raise WechatPayRefusal(400, "INVALID_REQUEST", "同一退款单号的订单和退款金额须与首次申请一致")
                return signed(earlier.answer())
            if order.trade_state not in ("SUCCESS", "REFUND"):
                raise WechatPayRefusal(400, "INVALID_REQUEST", "订单未支付，不能退款")
            if total_fen != order.amount_fen:
                raise WechatPayRefusal(400, "PARAM_ERROR", "订单金额与原订单不一致")
            if refund_fen > order.amount_fen - order.refunded_fen:
                raise WechatPayRefusal(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            refund = Refund(out_refund_no=out_refund_no,
                            refund_id="50" + "".join(secrets.choice(string.digits) for _ in range(27)),
                            out_trade_no=order.out_trade_no, transaction_id=order.transaction_id or "",
                            refund_fen=refund_fen, total_fen=total_fen, status=refund_status,
                            notify_url=body.get("notify_url") or None, create_time=beijing_now(),
                            success_time=beijing_now() if refund_status == "SUCCESS" else None)
            ledger.refunds[out_refund_no] = refund
            order.refunded_fen += refund_fen
            order.trade_state = "REFUND"
        if refund.status == "SUCCESS" and refund.notify_url:
            # WeChat notifies later, from elsewhere; sending it after this answer keeps the app's
            # refund call and its notification handler from waiting on each other.
            threading.Timer(0.2, notify_refund, args=(refund,)).start()
        return signed(refund.answer())

    @app.get("/v3/refund/domestic/refunds/<out_refund_no>")
    def query_refund(out_refund_no: str):
        with ledger.lock:
            refund = ledger.refunds.get(out_refund_no)
            if refund is None:
                raise WechatPayRefusal(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return signed(refund.answer())

    # WeChat's openid endpoints --------------------------------------------------------------------

    @app.get("/connect/oauth2/authorize")
    def authorize():
        """WeChat's silent authorisation (snsapi_base): straight back to redirect_uri with a code.
        The browser is one stand-in user (a cookie), so it keeps its openid."""
        appid, redirect_uri = request.args.get("appid", ""), request.args.get("redirect_uri", "")
        if appid not in apps:
            return "appid错误", 400
        if request.args.get("response_type") != "code" or request.args.get("scope") not in ("snsapi_base",
                                                                                          "snsapi_userinfo"):
            return "scope参数错误或没有scope权限", 400
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return "redirect_uri参数错误", 400
        user = browser_user()
        code = secrets.token_hex(16)
        with ledger.lock:
            ledger.codes[code] = (appid, openid_of(appid, user), time.time())
        separator = "&" if "?" in redirect_uri else "?"
        back = urlencode({"code": code, "state": request.args.get("state", "")})
        response = redirect(redirect_uri + separator + back)
        response.set_cookie(USER_COOKIE, user, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    def openid_for_code(code: str) -> Response:
        appid, secret = request.args.get("appid", ""), request.args.get("secret", "")
        if appid not in apps:
            return jsonify(errcode=40013, errmsg="invalid appid")
        if secret != apps[appid]:
            return jsonify(errcode=40125, errmsg="invalid appsecret")
        if request.args.get("grant_type") != "authorization_code":
            return jsonify(errcode=40002, errmsg="invalid grant_type")
        with ledger.lock:
            if code in ledger.used_codes:
                return jsonify(errcode=40163, errmsg="code been used")
            granted = ledger.codes.pop(code, None)
            if granted is None or granted[0] != appid or time.time() - granted[2] > CODE_LIFETIME_SECONDS:
                return jsonify(errcode=40029, errmsg="invalid code")
            ledger.used_codes.add(code)
        return jsonify(openid=granted[1], access_token=secrets.token_hex(32), session_key=secrets.token_hex(12),
                       expires_in=7200, refresh_token=secrets.token_hex(32), scope="snsapi_base")

    @app.get("/sns/oauth2/access_token")
    def oauth_access_token():
        return openid_for_code(request.args.get("code", ""))

    @app.get("/sns/jscode2session")
    def jscode2session():
        return openid_for_code(request.args.get("js_code", ""))

    @app.post("/standin/jscode")
    def make_login_code():
        """What wx.login() gives a mini-program user: a code for jscode2session."""
        body = request.get_json(silent=True) or {}
        appid = body.get("appid") or (next(iter(apps)) if len(apps) == 1 else None)
        if appid not in apps:
            return jsonify(code="PARAM_ERROR", message="appid: one of the stand-in's apps"), 400
        code = secrets.token_hex(16)
        with ledger.lock:
            ledger.codes[code] = (appid, openid_of(appid, str(body.get("user") or "standin-user")), time.time())
        return jsonify(js_code=code)

    # The payer's page -----------------------------------------------------------------------------

    @app.get("/standin/pay/<prepay_id>")
    def payment_page(prepay_id: str):
        with ledger.lock:
            order = ledger.orders.get(ledger.order_of_prepay_id.get(prepay_id, ""))
            if order is None:
                raise WechatPayRefusal(404, "ORDER_NOT_EXIST", "订单不存在")
            shown = asdict(order)
            expired = order.trade_state == "NOTPAY" and order.expired()
        return render_template("wechatpay/pay.html", order=shown, amount=yuan(order.amount_fen), expired=expired,
                               mchid=mchid, back_url=back_url(request.args.get("redirect_url")))

    @app.post("/standin/pay/<prepay_id>/confirm")
    def confirm_payment(prepay_id: str):
        user = browser_user()
        with ledger.lock:
            known = ledger.orders.get(ledger.order_of_prepay_id.get(prepay_id, ""))
            openid = openid_of(known.appid, user) if known else None
        order, outcome = pay(prepay_id, by_prepay_id=True, openid=openid)
        response = Response(render_template(
            "wechatpay/result.html", title="支付成功", paid=True, amount=yuan(order.amount_fen),
            outcome=outcome, back_url=back_url(request.form.get("redirect_url"))))
        response.set_cookie(USER_COOKIE, user, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    def back_url(url: str | None) -> str | None:
        return url if url and urlsplit(url).scheme in ("http", "https") else None

    # For tests and scripts ------------------------------------------------------------------------

    @app.get("/favicon.ico")
    def favicon():
        return "", 204  # the cashier page has no icon: a browser's request for one is not an error

    @app.post("/standin/pay/<out_trade_no>")
    def pay_for_tests(out_trade_no: str):
        """Pay as the payer would and notify: {"paid", "transaction_id", "notified", "notify_status",
        "notify_error", "notify_url", "notification": {"headers", "body"}}. Paying a paid order
        again re-sends its notification (a replay, like WeChat's retries). {"notify": false}: the
        notification is lost on the way (nothing is sent)."""
        body = request.get_json(silent=True) or {}
        order, outcome = pay(out_trade_no, by_prepay_id=False, openid=body.get("openid"),
                             notify=body.get("notify", True) is not False)
        return jsonify(paid=True, transaction_id=order.transaction_id, **outcome)

    @app.post("/standin/refunds/<out_refund_no>/complete")
    def complete_refund(out_refund_no: str):
        """Finish a PROCESSING refund (status SUCCESS by default, or CLOSED / ABNORMAL) and notify."""
        status = (request.get_json(silent=True) or {}).get("status", "SUCCESS")
        if status not in ("SUCCESS", "CLOSED", "ABNORMAL"):
            return jsonify(code="PARAM_ERROR", message="status is SUCCESS, CLOSED or ABNORMAL"), 400
        with ledger.lock:
            refund = ledger.refunds.get(out_refund_no)
            if refund is None:
                raise WechatPayRefusal(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            refund.status = status
            refund.success_time = beijing_now() if status == "SUCCESS" else None
            if status != "SUCCESS":  # the money stays with the merchant: it may be refunded again
                ledger.orders[refund.out_trade_no].refunded_fen -= refund.refund_fen
        return jsonify(refund_id=refund.refund_id, status=status, **notify_refund(refund))

    @app.post("/standin/outage")
    def outage():
        """{"down": true} (the default): WeChat's API answers 503 SYSTEM_ERROR until {"down": false}."""
        ledger.down = bool((request.get_json(silent=True) or {}).get("down", True))
        return jsonify(down=ledger.down)

    @app.get("/standin/orders")
    def orders():
        with ledger.lock:
            return jsonify(orders=[order.transaction(mchid) for order in ledger.orders.values()],
                           refunds=[refund.answer() for refund in ledger.refunds.values()])

    return app


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import make_server

    from standins.keys import app_settings, ensure_wechatpay_keys, standin_options

    parser = argparse.ArgumentParser(description="Run the WeChat Pay stand-in (development only).")
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--keys", required=True, help="directory of the keys (made if missing)")
    parser.add_argument("--public-url", help="the address phones reach this machine by, for code_url/h5_url")
    parser.add_argument("--refund-status", default="PROCESSING", choices=("PROCESSING", "SUCCESS"))
    arguments = parser.parse_args(argv)
    keys = ensure_wechatpay_keys(arguments.keys)
    app = create_app(**standin_options(keys), refund_status=arguments.refund_status, public_url=arguments.public_url)
    address = arguments.public_url or f"http://{arguments.host}:{arguments.port}"
    print("WeChat Pay stand-in at", address, "- the app's settings:")
    for name, value in app_settings(keys, address).items():
        print(f"  {name}={value}")
    print(flush=True)
    make_server(arguments.host, arguments.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
