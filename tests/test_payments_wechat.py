"""WeChat Pay: the adapter (app/payments/providers/wechat.py) running the real wechatpayv3 SDK over
HTTP against the local stand-in (standins/wechatpay.py), served on a real port with keys made for
the test. The notifications reach a small receiver that parses them as our notify view will (with
werkzeug's request headers), and answers WeChat as it will: 200 when parsed, 400 when forged."""
from __future__ import annotations

import base64
import re
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from werkzeug.wrappers import Request

from app.payments.providers import ForgedNotification, PaidNotice, PaymentRequest, ProviderError, RefundResult
from app.payments.providers.wechat import (
    PAYMENT_SETTINGS,
    WechatPayProvider,
    WechatRefused,
    configured,
    openid_configured,
)
from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
from standins.serving import BackgroundServer
from standins.wechatpay import create_app
from standins.wechatpay_signing import PlatformSigner

CAMP_FEE_FEN = 398_000  # ¥3,980
DESCRIPTION = "电商成长训练营 · 2026年7月 杭州班（𠮷野老师）"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return ensure_wechatpay_keys(tmp_path_factory.mktemp("wechatpay-keys"))


@pytest.fixture(scope="module")
def standin(keys):
    with BackgroundServer(create_app(**standin_options(keys))) as server:
        yield server


@pytest.fixture(autouse=True)
def standin_back_up(standin):
    """A test that takes the stand-in down leaves it up for the next."""
    yield
    requests.post(standin.url + "/standin/outage", json={"down": False}, timeout=5)


@pytest.fixture
def provider(keys, standin):
    return WechatPayProvider(app_settings(keys, standin.url))


class NotifyReceiver:
    """Our notify endpoints' stand-in: parses what arrives at /pay and /refund, answers 200 or 400."""

    def __init__(self) -> None:
        self.provider: WechatPayProvider | None = None
        self.parsed: list = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        parse = (self.provider.parse_refund_notification if request.path == "/refund"
                 else self.provider.parse_notification)
        try:
            self.parsed.append(parse(request.headers, request.get_data()))
            status = "200 OK"
        except ForgedNotification as forged:
            self.parsed.append(forged)
            status = "400 Bad Request"
        start_response(status, [("Content-Length", "0")])
        return [b""]


@pytest.fixture(scope="module")
def receiver_server():
    receiver = NotifyReceiver()
    with BackgroundServer(receiver) as server:
        server.receiver = receiver
        yield server


@pytest.fixture
def receiver(receiver_server, provider):
    receiver_server.receiver.provider = provider
    receiver_server.receiver.parsed.clear()
    return receiver_server


def camp_order(notify_url: str, **extra) -> PaymentRequest:
    return PaymentRequest(out_trade_no="T" + uuid.uuid4().hex[:24], amount_fen=CAMP_FEE_FEN,
                          description=DESCRIPTION, notify_url=notify_url, **extra)


def pay(standin, out_trade_no: str, **body) -> requests.Response:
    return requests.post(f"{standin.url}/standin/pay/{out_trade_no}", json=body, timeout=10)


def paid_notification(standin, out_trade_no: str) -> tuple[dict, bytes]:
    """Pay the order at the stand-in; the notification it sent (headers, body)."""
    answer = pay(standin, out_trade_no)
    assert answer.status_code == 200, answer.text
    sent = answer.json()["notification"]
    return sent["headers"], sent["body"].encode("utf-8")


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


# Settings and keys ---------------------------------------------------------------------------------

def test_wechat_pay_is_offered_only_with_every_payment_setting(keys):
    settings = app_settings(keys, "http://127.0.0.1:8801")
    assert configured(settings) and openid_configured(settings)
    for name in PAYMENT_SETTINGS:
        assert not configured({**settings, name: ""}), name
        assert not configured({key: value for key, value in settings.items() if key != name}), name
    assert configured({**settings, "WECHAT_APP_SECRET": ""})
    assert not openid_configured({**settings, "WECHAT_APP_SECRET": ""})
    with pytest.raises(ProviderError, match="WECHATPAY_APIV3_KEY"):
        WechatPayProvider({**settings, "WECHATPAY_APIV3_KEY": " "})


def test_keys_are_made_once_and_then_reused(tmp_path):
    first = ensure_wechatpay_keys(tmp_path / "keys")
    private_pem = first.merchant_private_key_path.read_text()
    again = ensure_wechatpay_keys(tmp_path / "keys")
    assert again == first
    assert again.merchant_private_key_path.read_text() == private_pem
    assert first.merchant_private_key_path.stat().st_mode & 0o077 == 0  # a private key only its owner reads
    assert first.merchant_public_key_path.read_text() == public_pem_of(private_pem)
    assert ensure_wechatpay_keys(tmp_path / "other").apiv3_key != first.apiv3_key


def test_keys_given_as_pem_text_work_like_paths(keys, standin):
    settings = app_settings(keys, standin.url)
    settings["WECHATPAY_PRIVATE_KEY"] = keys.merchant_private_key_path.read_text()
    settings["WECHATPAY_PUBLIC_KEY"] = keys.platform_public_key_path.read_text()
    assert WechatPayProvider(settings).create_native(camp_order("http://127.0.0.1:9/pay")).startswith(standin.url)
    with pytest.raises(ProviderError, match="no such file"):
        WechatPayProvider({**settings, "WECHATPAY_PUBLIC_KEY": "/etc/wechatpay/missing.pem"})


# Creating orders -----------------------------------------------------------------------------------

def test_a_native_order_gives_a_code_url_whose_page_shows_the_amount(provider, standin):
    code_url = provider.create_native(camp_order("http://127.0.0.1:9/pay"))
    page = requests.get(code_url, timeout=10)
    assert page.status_code == 200
    assert "¥3,980.00" in page.text
    assert "𠮷野老师" in page.text
    assert "确认支付" in page.text
    assert 'name="viewport" content="width=device-width' in page.text


def test_jsapi_parameters_are_signed_for_weixinjsbridge(provider, keys):
    order = camp_order("http://127.0.0.1:9/pay", payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    parameters = provider.create_jsapi(order)
    assert set(parameters) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert parameters["appId"] == keys.appid
    assert parameters["signType"] == "RSA"
    assert re.fullmatch(r"prepay_id=wx\w+", parameters["package"])
    # What WeChat's client checks: the merchant key's signature of appId, timeStamp, nonceStr, package.
    merchant_key = serialization.load_pem_public_key(keys.merchant_public_key_path.read_bytes())
    signed = "".join(parameters[name] + "\n" for name in ("appId", "timeStamp", "nonceStr", "package"))
    merchant_key.verify(base64.b64decode(parameters["paySign"]), signed.encode(), PKCS1v15(), SHA256())
    with pytest.raises(InvalidSignature):
        merchant_key.verify(base64.b64decode(parameters["paySign"]), signed.replace("prepay", "PREPAY").encode(),
                            PKCS1v15(), SHA256())
    # Outside WeChat (a developer's browser) the stand-in's page pays it.
    page = requests.get(provider.standin_page_url(parameters, back_url="http://localhost/me"), timeout=10)
    assert page.status_code == 200 and "¥3,980.00" in page.text
    assert 'href="http://localhost/me"' in page.text
    real = WechatPayProvider({**app_settings(keys, "https://api.mch.weixin.qq.com")})
    assert real.standin_page_url(parameters) is None


def test_a_mini_program_order_is_made_for_the_mini_programs_app(provider, keys):
    parameters = provider.create_jsapi(camp_order("http://127.0.0.1:9/pay", payer_openid="oMini"), mini_program=True)
    assert parameters["appId"] == keys.mini_program_appid != keys.appid


def test_jsapi_needs_the_payers_openid_and_h5_the_payers_ip(provider):
    with pytest.raises(ValueError, match="openid"):
        provider.create_jsapi(camp_order("http://127.0.0.1:9/pay"))
    with pytest.raises(ValueError, match="IP"):
        provider.create_h5(camp_order("http://127.0.0.1:9/pay"))


def test_an_h5_order_gives_a_page_that_leads_back_to_us(provider):
    h5_url = provider.create_h5(camp_order("http://127.0.0.1:9/pay", client_ip="183.6.50.2"))
    back = "http://localhost/pay/done?order=42"
    page = requests.get(h5_url + "&redirect_url=" + quote(back, safe=""), timeout=10)
    assert page.status_code == 200 and "¥3,980.00" in page.text
    assert 'href="http://localhost/pay/done?order=42"' in page.text


def test_the_same_order_asked_again_is_the_same_order_and_a_changed_one_is_refused(provider):
    order = camp_order("http://127.0.0.1:9/pay")
    assert provider.create_native(order) == provider.create_native(order)  # a reloaded payment page
    changed = PaymentRequest(order.out_trade_no, CAMP_FEE_FEN - 100, order.description, order.notify_url)
    with pytest.raises(WechatRefused) as refusal:
        provider.create_native(changed)
    assert refusal.value.code == "OUT_TRADE_NO_USED"


# Paying and the notification -----------------------------------------------------------------------

def test_paying_notifies_our_notify_url_with_a_notice_that_parses(provider, standin, receiver):
    order = camp_order(receiver.url + "/pay")
    provider.create_native(order)
    before = datetime.now(UTC)
    answer = pay(standin, order.out_trade_no).json()
    assert answer["notified"] and answer["notify_status"] == 200
    [notice] = receiver.receiver.parsed
    assert isinstance(notice, PaidNotice)
    assert notice.out_trade_no == order.out_trade_no
    assert notice.amount_fen == CAMP_FEE_FEN
    assert notice.transaction_id == answer["transaction_id"]
    assert notice.paid_at.tzinfo is not None
    assert before - timedelta(seconds=2) <= notice.paid_at <= datetime.now(UTC) + timedelta(seconds=1)
    headers, body = answer["notification"]["headers"], answer["notification"]["body"].encode()
    assert provider.parse_notification(headers, body) == notice


def test_the_payers_confirm_button_pays_and_notifies(provider, standin, receiver):
    order = camp_order(receiver.url + "/pay")
    browser = requests.Session()
    page = browser.get(provider.create_native(order), timeout=10)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    done = browser.post(standin.url + action, timeout=10)
    assert done.status_code == 200
    assert "支付成功" in done.text and "已通知商户" in done.text
    [notice] = receiver.receiver.parsed
    assert notice.out_trade_no == order.out_trade_no and notice.amount_fen == CAMP_FEE_FEN
    assert "该订单已支付" in browser.get(page.url, timeout=10).text
    queried = provider.query(order.out_trade_no)
    assert (queried.transaction_id, queried.amount_fen, queried.paid_at) == (
        notice.transaction_id, CAMP_FEE_FEN, notice.paid_at)


def test_a_notify_url_that_does_not_answer_2xx_is_reported(keys, provider, standin, receiver):
    order = camp_order(receiver.url + "/pay")
    provider.create_native(order)
    # A receiver that trusts another platform key refuses the notice, as our view refuses a forged one.
    receiver.receiver.provider = WechatPayProvider(
        {**app_settings(keys, standin.url), "WECHATPAY_PUBLIC_KEY": public_pem_of(new_private_key_pem())})
    answer = pay(standin, order.out_trade_no).json()
    assert answer["notify_status"] == 400 and not answer["notified"]
    assert isinstance(receiver.receiver.parsed[0], ForgedNotification)


def test_query_says_unpaid_before_the_payment_and_paid_after(provider, standin):
    order = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(order)
    assert provider.query(order.out_trade_no) is None
    assert provider.query("NEVER" + uuid.uuid4().hex[:20]) is None  # unknown to WeChat: not paid
    headers, body = paid_notification(standin, order.out_trade_no)
    notice = provider.parse_notification(headers, body)
    queried = provider.query(order.out_trade_no)
    assert isinstance(queried, PaidNotice)
    assert (queried.out_trade_no, queried.transaction_id, queried.amount_fen, queried.paid_at) == (
        notice.out_trade_no, notice.transaction_id, notice.amount_fen, notice.paid_at)


def test_a_replayed_notification_parses_to_the_same_notice(provider, standin):
    order = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(order)
    headers, body = paid_notification(standin, order.out_trade_no)
    first = provider.parse_notification(headers, body)
    assert provider.parse_notification(headers, body) == first
    # WeChat's retry of the same payment: signed anew, the same transaction.
    retry_headers, retry_body = paid_notification(standin, order.out_trade_no)
    assert retry_headers["Wechatpay-Nonce"] != headers["Wechatpay-Nonce"]
    retried = provider.parse_notification(retry_headers, retry_body)
    assert (retried.transaction_id, retried.amount_fen, retried.paid_at) == (
        first.transaction_id, first.amount_fen, first.paid_at)


def test_the_notification_headers_are_found_whatever_their_case(provider, standin):
    order = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(order)
    headers, body = paid_notification(standin, order.out_trade_no)
    expected = provider.parse_notification(headers, body)
    lower = {name.lower(): value for name, value in headers.items()}  # ASGI frameworks
    wsgi = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}  # Django's META
    assert provider.parse_notification(lower, body) == expected
    assert provider.parse_notification(wsgi, body) == expected


def _forged(headers: dict, body: bytes, keys) -> list[tuple[str, dict, bytes]]:
    """Notifications that must not be believed, each from a genuine one."""
    other_key = serialization.load_pem_private_key(new_private_key_pem().encode(), password=None)
    resigned = other_key.sign(f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode()
                              + body + b"\n", PKCS1v15(), SHA256())
    return [
        ("tampered body", headers, body.replace("支付成功".encode(), "支付失败".encode())),
        ("tampered resource", headers, re.sub(rb'"ciphertext": "(.)', lambda m: b'"ciphertext": "'
                                              + (b"A" if m.group(1) != b"A" else b"B"), body)),
        ("signed by another key", {**headers, "Wechatpay-Signature": base64.b64encode(resigned).decode()}, body),
        ("unknown serial", {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0114232014102800000000000000000"}, body),
        ("no signature", {name: value for name, value in headers.items() if name != "Wechatpay-Signature"}, body),
        ("garbled signature", {**headers, "Wechatpay-Signature": "not base64 at all!"}, body),
        ("other algorithm", {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body),
        ("not UTF-8", headers, b"\xff\xfe" + body),
    ]


def test_a_notification_that_does_not_verify_is_forged(provider, standin, keys):
    order = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(order)
    headers, body = paid_notification(standin, order.out_trade_no)
    assert provider.parse_notification(headers, body).out_trade_no == order.out_trade_no  # the genuine one
    for case, forged_headers, forged_body in _forged(headers, body, keys):
        with pytest.raises(ForgedNotification):
            provider.parse_notification(forged_headers, forged_body)
            pytest.fail(f"{case}: believed")


def _platform(keys, apiv3_key: str | None = None) -> PlatformSigner:
    return PlatformSigner(keys.platform_private_key_path.read_text(), keys.platform_public_key_id,
                          apiv3_key or keys.apiv3_key)


def _transaction(keys, **changes) -> dict:
    return {"mchid": keys.mchid, "appid": keys.appid, "out_trade_no": "T" + uuid.uuid4().hex[:20],
            "transaction_id": "4200000000000000000000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "success_time": "2026-07-01T10:34:56+08:00", "amount": {"total": CAMP_FEE_FEN, "currency": "CNY"},
            **changes}


def test_a_signed_notice_that_does_not_decrypt_or_is_not_ours_is_forged(provider, keys):
    # Signed with the platform key, but encrypted with another APIv3 key: it cannot be read.
    headers, body = _platform(keys, apiv3_key="0" * 32).notification(
        "TRANSACTION.SUCCESS", "支付成功", "transaction", _transaction(keys))
    with pytest.raises(ForgedNotification):
        provider.parse_notification(headers, body.encode())
    headers, body = _platform(keys).notification(
        "TRANSACTION.SUCCESS", "支付成功", "transaction", _transaction(keys, mchid="1900000001"))
    with pytest.raises(ForgedNotification, match="another merchant"):
        provider.parse_notification(headers, body.encode())
    # The same genuine notice for our merchant is believed: the refusals above are for their reason.
    headers, body = _platform(keys).notification("TRANSACTION.SUCCESS", "支付成功", "transaction",
                                                 _transaction(keys, out_trade_no="T-genuine-0001"))
    notice = provider.parse_notification(headers, body.encode())
    assert notice.out_trade_no == "T-genuine-0001"
    assert notice.paid_at == datetime(2026, 7, 1, 2, 34, 56, tzinfo=UTC)  # Beijing 10:34:56 is 02:34:56 UTC


def test_a_verified_notice_that_is_not_a_successful_payment_is_none(provider, keys):
    headers, body = _platform(keys).notification("TRANSACTION.SUCCESS", "支付失败", "transaction",
                                                 _transaction(keys, trade_state="PAYERROR"))
    assert provider.parse_notification(headers, body.encode()) is None
    refund = {"mchid": keys.mchid, "out_trade_no": "T1", "transaction_id": "42", "out_refund_no": "R1",
              "refund_id": "50", "refund_status": "SUCCESS", "amount": {"total": 1, "refund": 1}}
    headers, body = _platform(keys).notification("REFUND.SUCCESS", "退款成功", "refund", refund)
    assert provider.parse_notification(headers, body.encode()) is None  # a refund notice at the payment URL
    headers, body = _platform(keys).notification("TRANSACTION.SUCCESS", "支付成功", "transaction",
                                                 _transaction(keys))
    assert provider.parse_refund_notification(headers, body.encode()) is None


# Refunds and closing -------------------------------------------------------------------------------

def _paid_order(provider, standin) -> PaymentRequest:
    order = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(order)
    assert pay(standin, order.out_trade_no).status_code == 200
    return order


def test_refunds_up_to_the_paid_amount_and_not_beyond(provider, standin):
    order = _paid_order(provider, standin)
    first = provider.refund(order.out_trade_no, order.out_trade_no + "R1", 100_000, CAMP_FEE_FEN, "学员退课")
    assert isinstance(first, RefundResult)
    assert (first.out_refund_no, first.amount_fen, first.status) == (order.out_trade_no + "R1", 100_000, "PROCESSING")
    # The same refund asked again (a retry after a timeout) is the same refund, not a second one.
    again = provider.refund(order.out_trade_no, order.out_trade_no + "R1", 100_000, CAMP_FEE_FEN, "学员退课")
    assert again.refund_id == first.refund_id
    rest = provider.refund(order.out_trade_no, order.out_trade_no + "R2", 298_000, CAMP_FEE_FEN, "学员退课")
    assert rest.amount_fen == 298_000
    with pytest.raises(WechatRefused) as beyond:
        provider.refund(order.out_trade_no, order.out_trade_no + "R3", 1, CAMP_FEE_FEN, "多退一分")
    assert (beyond.value.status, beyond.value.code) == (400, "INVALID_REQUEST")
    assert provider.query(order.out_trade_no).amount_fen == CAMP_FEE_FEN  # still a paid order (REFUND)


def test_a_refund_larger_than_the_payment_or_of_an_unpaid_order_is_refused(provider, standin):
    order = _paid_order(provider, standin)
    with pytest.raises(ProviderError, match="INVALID_REQUEST"):
        provider.refund(order.out_trade_no, "R" + uuid.uuid4().hex[:20], CAMP_FEE_FEN + 1, CAMP_FEE_FEN, "退款")
    unpaid = camp_order("http://127.0.0.1:9/pay")
    provider.create_native(unpaid)
    with pytest.raises(ProviderError):
        provider.refund(unpaid.out_trade_no, "R" + uuid.uuid4().hex[:20], 100, CAMP_FEE_FEN, "退款")


def test_the_refund_notification_tells_the_refunds_outcome(provider, standin, receiver):
    order = _paid_order(provider, standin)
    refund = provider.refund(order.out_trade_no, order.out_trade_no + "R1", CAMP_FEE_FEN, CAMP_FEE_FEN, "开营取消",
                             notify_url=receiver.url + "/refund")
    assert provider.query_refund(refund.out_refund_no).status == "PROCESSING"
    completed = requests.post(f"{standin.url}/standin/refunds/{refund.out_refund_no}/complete", timeout=10).json()
    assert completed["notified"]
    [notice] = receiver.receiver.parsed
    assert (notice.out_refund_no, notice.refund_id, notice.amount_fen, notice.status) == (
        refund.out_refund_no, refund.refund_id, CAMP_FEE_FEN, "SUCCESS")
    assert provider.query_refund(refund.out_refund_no).status == "SUCCESS"


def test_closing_an_unpaid_order_stops_its_payment(provider, standin):
    order = camp_order("http://127.0.0.1:9/pay")
    code_url = provider.create_native(order)
    assert provider.close(order.out_trade_no) is True
    refused = pay(standin, order.out_trade_no)
    assert refused.status_code == 409 and refused.json()["code"] == "ORDER_CLOSED"
    assert "订单已关闭" in requests.get(code_url, timeout=10).text
    assert provider.query(order.out_trade_no) is None
    paid = _paid_order(provider, standin)
    assert provider.close(paid.out_trade_no) is False  # paid meanwhile: not closed, and the payment stands
    assert provider.query(paid.out_trade_no) is not None


def test_an_order_cannot_be_paid_after_its_hold_ends(provider, standin):
    order = camp_order("http://127.0.0.1:9/pay", expires_at=datetime.now(UTC) + timedelta(seconds=2))
    code_url = provider.create_native(order)
    assert "确认支付" in requests.get(code_url, timeout=10).text
    time.sleep(2.5)
    assert "订单已过期" in requests.get(code_url, timeout=10).text
    refused = pay(standin, order.out_trade_no)
    assert refused.status_code == 409
    assert provider.query(order.out_trade_no) is None


# WeChat Pay away, and keys that do not match ------------------------------------------------------

def test_wechat_pay_down_is_a_provider_error(provider, standin):
    paid = _paid_order(provider, standin)
    requests.post(standin.url + "/standin/outage", json={"down": True}, timeout=5)
    with pytest.raises(ProviderError):
        provider.create_native(camp_order("http://127.0.0.1:9/pay"))
    with pytest.raises(ProviderError):
        provider.query(paid.out_trade_no)
    with pytest.raises(ProviderError):
        provider.refund(paid.out_trade_no, paid.out_trade_no + "R1", 100, CAMP_FEE_FEN, "退款")
    with pytest.raises(ProviderError):
        provider.openid_from_code("any-code")
    assert provider.close(paid.out_trade_no) is False
    requests.post(standin.url + "/standin/outage", json={"down": False}, timeout=5)
    assert provider.query(paid.out_trade_no).out_trade_no == paid.out_trade_no


def test_wechat_pay_unreachable_is_a_provider_error(keys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = {**app_settings(keys, f"http://127.0.0.1:{closed_port}"), "WECHATPAY_TIMEOUT_SECONDS": 2}
    unreachable = WechatPayProvider(settings)
    with pytest.raises(ProviderError, match="could not be reached"):
        unreachable.create_native(camp_order("http://127.0.0.1:9/pay"))
    with pytest.raises(ProviderError, match="could not be reached"):
        unreachable.query("T0000001")
    with pytest.raises(ProviderError, match="could not be reached") as openid_error:
        unreachable.openid_from_code("code")
    assert keys.app_secret not in str(openid_error.value)  # the URL carries the AppSecret


def test_requests_not_signed_by_our_merchant_key_are_refused(keys, standin):
    unsigned = requests.post(standin.url + "/v3/pay/transactions/native", json={"mchid": keys.mchid}, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"
    impostor = WechatPayProvider({**app_settings(keys, standin.url), "WECHATPAY_PRIVATE_KEY": new_private_key_pem()})
    with pytest.raises(WechatRefused) as refusal:
        impostor.create_native(camp_order("http://127.0.0.1:9/pay"))
    assert (refusal.value.status, refusal.value.code) == (401, "SIGN_ERROR")


def test_answers_not_signed_by_the_platform_key_we_trust_are_refused(keys, standin):
    wary = WechatPayProvider({**app_settings(keys, standin.url),
                              "WECHATPAY_PUBLIC_KEY": public_pem_of(new_private_key_pem())})
    with pytest.raises(ProviderError, match="not accepted"):
        wary.create_native(camp_order("http://127.0.0.1:9/pay"))


# The payer's openid --------------------------------------------------------------------------------

def test_web_authorisation_gives_the_browsers_openid(provider, standin, keys):
    back = "http://localhost/pay/wechat/return?booking=7"
    url = provider.oauth_authorize_url(back, "s7Kq2")
    assert url.endswith("#wechat_redirect")
    parameters = parse_qsl(urlsplit(url).query)
    assert [name for name, _ in parameters] == ["appid", "redirect_uri", "response_type", "scope", "state"]
    assert dict(parameters) == {"appid": keys.appid, "redirect_uri": back, "response_type": "code",
                                "scope": "snsapi_base", "state": "s7Kq2"}

    def authorise(browser: requests.Session) -> str:
        answer = browser.get(url.split("#")[0], allow_redirects=False, timeout=10)
        assert answer.status_code == 302 and answer.headers["Location"].startswith(back + "&")
        returned = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert returned["state"] == ["s7Kq2"] and returned["booking"] == ["7"]
        return returned["code"][0]

    student = requests.Session()
    code = authorise(student)
    openid = provider.openid_from_code(code)
    assert re.fullmatch(r"o[\w-]{27}", openid)
    assert provider.openid_from_code(authorise(student)) == openid  # the same person, the same openid
    assert provider.openid_from_code(authorise(requests.Session())) != openid
    with pytest.raises(WechatRefused) as used:
        provider.openid_from_code(code)  # a code is good once (a reloaded return page)
    assert used.value.code == "40163"
    with pytest.raises(WechatRefused) as invalid:
        provider.openid_from_code("made-up")
    assert invalid.value.code == "40029"
    with pytest.raises(ValueError):
        provider.oauth_authorize_url(back, "not/a&state")


def test_a_mini_program_login_code_gives_the_users_openid(provider, standin, keys):
    def login_code(user: str, appid: str = keys.mini_program_appid) -> str:
        answer = requests.post(standin.url + "/standin/jscode", json={"appid": appid, "user": user}, timeout=5)
        return answer.json()["js_code"]

    openid = provider.openid_from_login_code(login_code("student-1"))
    assert openid == provider.openid_from_login_code(login_code("student-1"))
    assert openid != provider.openid_from_login_code(login_code("student-2"))
    with pytest.raises(ProviderError):  # a code wx.login gave the official account's app is not this app's
        provider.openid_from_login_code(login_code("student-1", appid=keys.appid))
    with pytest.raises(ProviderError):
        provider.openid_from_login_code("made-up")
