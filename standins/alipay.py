"""A local stand-in of Alipay's open-platform gateway (openapi.alipay.com/gateway.do), which the
tests and the development setup talk to instead of Alipay; never used in production.

It holds Alipay's private key and the app's public key (standins/alipay_keys.py): it refuses
requests whose RSA2 signature does not verify, and signs its answers, notifications and returns
as Alipay does, so the app's real SDK code paths run against it. Trades live in memory; Alipay's
rules are in standins/alipay_trades.py (standin_of(app) gives them to a test), the keys and the
signatures in standins/alipay_keys.py.

For development:
    python -m standins.alipay --port 8231 --keys instance/alipay-standin
makes the keys into the folder once and prints the app's settings (ALIPAY_*) for .env.

In a test:
    keys = ensure_keys(tmp_path)
    server = BackgroundServer(create_app(keys))
    provider = AlipayProvider(keys.app_settings(server.url + "/gateway.do"))
    ...
    server.stop()

Alipay's side:
    GET|POST /gateway.do              method=alipay.trade.page.pay | alipay.trade.wap.pay: the payer's
                                      browser, answered with the cashier page (收银台);
                                      alipay.trade.query | refund | close | fastpay.refund.query:
                                      the SDK, answered with signed JSON.
    POST /cashier/<out_trade_no>/pay  the cashier's 确认付款: pays, posts the notification to
                                      notify_url, sends the browser to return_url (signed).
    A refund is notified too, a moment after its answer (a thread), as Alipay does: TRADE_SUCCESS
    with refund_fee for a partial one, TRADE_CLOSED for the last.
Controls for tests (never affected by an outage):
    POST /standin/pay/<out_trade_no>  the payer pays a trade opened at the cashier; JSON: the
                                      notification sent and notify_url's answer. On a paid trade:
                                      the same notification again, as Alipay resends it.
    POST /standin/outage              every Alipay URL answers 503 until DELETE /standin/outage.
    GET /standin/notifications        every notification sent, with notify_url's answer.
    GET /standin/trades/<out_trade_no>
"""
from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Mapping

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for

from standins.alipay_keys import StandinKeys, ensure_keys, print_settings
from standins.alipay_trades import PAY_METHODS, Refusal, StandinAlipay, beijing, invalid, yuan

EXTENSION = "alipay_standin"

def standin_of(app: Flask) -> StandinAlipay:
    return app.extensions[EXTENSION]


def create_app(keys: StandinKeys) -> Flask:
    """The stand-in as a WSGI app for the keys of standins.alipay_keys.ensure_keys()."""
    app = Flask(__name__)
    alipay = StandinAlipay(keys)
    app.extensions[EXTENSION] = alipay

    @app.before_request
    def outage() -> Response | None:
        if alipay.down and not request.path.startswith("/standin/"):
            return Response("Service Unavailable", status=503, mimetype="text/plain")
        return None

    @app.route("/gateway.do", methods=["GET", "POST"])
    def gateway():
        params = dict(request.values.items())
        method = params.get("method", "")
        try:
            if method not in PAY_METHODS and alipay.api(method) is None:
                raise invalid("isv.invalid-method", "不存在的方法名")
            biz = alipay.checked_request(params)
            if method in PAY_METHODS:
                trade = alipay.open_trade(method, params, biz)
                return render_template("alipay/cashier.html", trade=trade, amount=yuan(trade.total),
                                       deadline=beijing(trade.time_expire) if trade.time_expire else None)
            return alipay.signed_answer(method, alipay.api(method)(biz))
        except Refusal as refusal:
            if method in PAY_METHODS:
                return render_template("alipay/error.html", refusal=refusal), 400
            return alipay.refusal_answer("" if refusal.sub_code == "isv.invalid-method" else method, refusal)

    @app.post("/cashier/<out_trade_no>/pay")
    def cashier_pay(out_trade_no: str):
        try:
            trade, notification = alipay.pay(out_trade_no)
        except Refusal as refusal:
            return render_template("alipay/error.html", refusal=refusal), 409
        alipay.send(trade.notify_url, notification)
        if not trade.return_url:
            return render_template("alipay/paid.html", trade=trade, amount=yuan(trade.total))
        return redirect(with_query(trade.return_url, alipay.return_params(trade)))

    @app.get("/favicon.ico")
    def favicon():
        return "", 204  # the cashier page has no icon: a browser's request for one is not an error

    @app.post("/standin/pay/<out_trade_no>")
    def standin_pay(out_trade_no: str):
        try:
            trade, notification = alipay.pay(out_trade_no)
        except Refusal as refusal:
            status = 404 if refusal.sub_code == "ACQ.TRADE_NOT_EXIST" else 409
            return jsonify(refusal.answer), status
        delivery = alipay.send(trade.notify_url, notification)
        return jsonify(trade_no=trade.trade_no, notification=notification, notify_status=delivery["status"],
                       notify_answer=delivery["answer"], notify_error=delivery["error"])

    @app.route("/standin/outage", methods=["POST", "DELETE"])
    def standin_outage():
        alipay.down = request.method == "POST"
        return jsonify(down=alipay.down)

    @app.get("/standin/notifications")
    def standin_notifications():
        return jsonify(alipay.notifications())

    @app.get("/standin/trades/<out_trade_no>")
    def standin_trade(out_trade_no: str):
        trade = alipay.trade(out_trade_no)
        return (jsonify(trade.as_json()), 200) if trade else (jsonify(error="ACQ.TRADE_NOT_EXIST"), 404)

    app.add_url_rule("/", "home", lambda: redirect(url_for("standin_notifications")))
    return app


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to whatever query it already has."""
    parts = urllib.parse.urlsplit(url)
    query = "&".join(filter(None, [parts.query, urllib.parse.urlencode(params)]))
    return urllib.parse.urlunsplit(parts._replace(query=query))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.alipay", description="A local stand-in of Alipay.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8231)
    parser.add_argument("--keys", required=True, help="the folder of the key pairs (made there the first time)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port needs a real port: the app's ALIPAY_GATEWAY names it")
    keys = ensure_keys(args.keys)
    print("# The app's settings for this stand-in (.env):")
    print_settings(keys, f"http://{args.host}:{args.port}/gateway.do")
    create_app(keys).run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
