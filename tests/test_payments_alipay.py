"""Alipay through the real SDK against the local stand-in of Alipay's gateway (standins/alipay.py),
served on a real port, with keys made for this test run. A small receiver plays our notify_url and
return_url: it parses what the stand-in sends with the provider, as the app's views will."""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from Cryptodome.PublicKey import RSA
from flask import Flask, request

from app.common.time import utcnow
from app.payments.providers import ForgedNotification, PaidNotice, PaymentRequest, ProviderError
from app.payments.providers.alipay import (
    NOTIFICATION_ANSWER,
    AlipayProvider,
    AlipayRefused,
    configured,
    fen_to_yuan,
    from_alipay_time,
    yuan_to_fen,
)
from standins.alipay import create_app, standin_of
from standins.alipay_keys import ensure_keys, signed_notification
from standins.serving import BackgroundServer

CAMP_FEN = 398_000  # ¥3,980.00
DESCRIPTION = "跨境电商训练营 · 𠮷䶮 / 9月班 & 复训"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return ensure_keys(tmp_path_factory.mktemp("alipay-keys"))


@pytest.fixture(scope="module")
def standin_app(keys):
    return create_app(keys)


@pytest.fixture(scope="module")
def standin(standin_app):
    server = BackgroundServer(standin_app)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(keys, standin):
    return keys.app_settings(standin.url + "/gateway.do")


@pytest.fixture(scope="module")
def provider(settings):
    return AlipayProvider(settings)


class Receiver:
    """Our side of the notifications and returns: what each notification parsed to (a PaidNotice,
    None, or "forged"), by order number, and the orders the browser came back for."""

    def __init__(self, provider: AlipayProvider) -> None:
        self.url = ""
        self.returns: list[str] = []
        self._notices: list[tuple[str, PaidNotice | None | str]] = []
        self._lock = threading.Lock()
        self.app = Flask("alipay_receiver")

        @self.app.post("/alipay/notify")
        def notify():
            try:
                notice: PaidNotice | None | str = provider.parse_notification(request.form)
            except ForgedNotification:
                notice = "forged"
            with self._lock:
                self._notices.append((request.form.get("out_trade_no", ""), notice))
            return ("fail", 400) if notice == "forged" else NOTIFICATION_ANSWER

        @self.app.get("/alipay/back")
        def back():
            out_trade_no = provider.parse_return(request.args)
            with self._lock:
                self.returns.append(out_trade_no)
            return f"返回：{out_trade_no}"

    def notices_for(self, out_trade_no: str) -> list[PaidNotice | None | str]:
        with self._lock:
            return [notice for number, notice in self._notices if number == out_trade_no]

    def wait_for(self, count: int, out_trade_no: str) -> list[PaidNotice | None | str]:
        """The order's notices once there are `count` (refund notices come a little later)."""
        deadline = time.monotonic() + 10
        while len(notices := self.notices_for(out_trade_no)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(notices)} notifications for {out_trade_no}, not {count}")
            time.sleep(0.02)
        return notices


@pytest.fixture(scope="module")
def receiver(provider):
    receiver = Receiver(provider)
    server = BackgroundServer(receiver.app)
    receiver.url = server.url
    yield receiver
    server.stop()


def new_order_number() -> str:
    return "A" + uuid.uuid4().hex[:24]


def payment(receiver, out_trade_no: str, amount_fen: int = CAMP_FEN, expires_in=timedelta(minutes=15)):
    return PaymentRequest(
        out_trade_no=out_trade_no,
        amount_fen=amount_fen,
        description=DESCRIPTION,
        notify_url=f"{receiver.url}/alipay/notify",
        expires_at=utcnow() + expires_in,
        return_url=f"{receiver.url}/alipay/back",
    )


def url_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def open_cashier(url: str) -> requests.Response:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    return page


def paid_order(provider, receiver, standin, amount_fen: int = CAMP_FEN) -> tuple[str, dict]:
    """An order opened at the cashier and paid; its notification as the stand-in sent it."""
    out_trade_no = new_order_number()
    open_cashier(provider.page_pay_url(payment(receiver, out_trade_no, amount_fen)))
    answer = requests.post(f"{standin.url}/standin/pay/{out_trade_no}", timeout=15)
    assert answer.status_code == 200, answer.text
    return out_trade_no, answer.json()


# -- the payer's browser -----------------------------------------------------------------------


def test_page_pay_url_is_a_signed_request_that_opens_the_cashier(provider, receiver, settings):
    out_trade_no = new_order_number()
    order = payment(receiver, out_trade_no)
    url = provider.page_pay_url(order)

    assert url.startswith(settings["ALIPAY_GATEWAY"] + "?")
    params = url_params(url)
    trade = json.loads(params["biz_content"])
    assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2"
    assert params["notify_url"] == order.notify_url and params["return_url"] == order.return_url
    assert trade["total_amount"] == "3980.00" and trade["product_code"] == "FAST_INSTANT_TRADE_PAY"
    # Deadline and timestamp in Beijing time, whatever the server's own zone is.
    beijing_deadline = order.expires_at + timedelta(hours=8)
    assert trade["time_expire"] == beijing_deadline.strftime("%Y-%m-%d %H:%M:%S")
    assert abs(from_alipay_time(params["timestamp"]) - utcnow()) < timedelta(minutes=1)

    page = open_cashier(url).text
    assert "确认付款" in page and "¥3980.00" in page
    # Alipay's subject may not hold / & =: they come out full-width, the rare characters intact.
    assert "跨境电商训练营 · 𠮷䶮 ／ 9月班 ＆ 复训" in page


def test_wap_pay_url_opens_the_phone_cashier_with_a_way_back(provider, receiver):
    order = payment(receiver, new_order_number())
    url = provider.wap_pay_url(order)

    params = url_params(url)
    assert params["method"] == "alipay.trade.wap.pay"
    assert json.loads(params["biz_content"])["product_code"] == "QUICK_WAP_PAY"
    page = open_cashier(url).text
    assert 'name="viewport"' in page and "确认付款" in page and "¥3980.00" in page
    assert f'href="{order.return_url}"' in page  # 返回商家 (quit_url)


def test_paying_at_the_cashier_notifies_us_then_brings_the_browser_back(provider, receiver, standin, standin_app):
    out_trade_no = new_order_number()
    page = open_cashier(provider.page_pay_url(payment(receiver, out_trade_no))).text
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)

    confirmed = requests.post(standin.url + action, allow_redirects=False, timeout=15)

    assert confirmed.status_code == 302
    [notice] = receiver.notices_for(out_trade_no)
    assert (notice.out_trade_no, notice.amount_fen) == (out_trade_no, CAMP_FEN)
    assert notice.transaction_id == standin_of(standin_app).trade(out_trade_no).trade_no
    assert abs(notice.paid_at - utcnow()) < timedelta(minutes=1)
    sent = [d for d in standin_of(standin_app).notifications() if d["params"]["out_trade_no"] == out_trade_no]
    assert [d["answer"] for d in sent] == ["success"]

    back = confirmed.headers["Location"]
    assert back.startswith(f"{receiver.url}/alipay/back?")
    assert provider.parse_return(url_params(back)) == out_trade_no
    assert requests.get(back, timeout=10).status_code == 200 and receiver.returns[-1] == out_trade_no


def test_a_browser_return_that_is_not_signed_by_alipay_is_refused(provider, receiver, standin):
    out_trade_no = new_order_number()
    page = open_cashier(provider.page_pay_url(payment(receiver, out_trade_no))).text
    action = re.search(r'action="([^"]+)"', page).group(1)
    back = url_params(requests.post(standin.url + action, allow_redirects=False, timeout=15).headers["Location"])

    other_order = {**back, "out_trade_no": new_order_number()}
    with pytest.raises(ForgedNotification):
        provider.parse_return(other_order)
    with pytest.raises(ForgedNotification):  # the WAP cashier's quit_url: no signature at all
        provider.parse_return({})


def test_notify_and_return_urls_with_parameters_of_ours_are_refused(provider, receiver):
    # Alipay's parameters go to return_url; ours beside them would fail its signature on the way back.
    order = payment(receiver, new_order_number())
    with pytest.raises(ValueError, match="return_url"):
        provider.page_pay_url(replace(order, return_url=order.return_url + "?order=1"))
    with pytest.raises(ValueError, match="notify_url"):
        provider.wap_pay_url(replace(order, notify_url=order.notify_url + "?order=1"))


def test_a_deadline_passed_cannot_be_paid_and_one_ahead_can(provider, receiver, standin):
    late = new_order_number()
    page = requests.get(provider.page_pay_url(payment(receiver, late, expires_in=timedelta(minutes=-1))), timeout=10)
    assert "ACQ.TRADE_HAS_CLOSE" in page.text and "确认付款" not in page.text

    # Fifteen minutes ahead is payable: read in another zone (UTC as Beijing) it would be long past.
    _, paid = paid_order(provider, receiver, standin)
    assert paid["notify_answer"] == "success"


# -- notifications ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_fen", "yuan"),
    [(CAMP_FEN, "3980.00"), (1, "0.01"), (10, "0.10"), (399_999, "3999.99"), (10_000_000_000, "100000000.00")],
)
def test_amounts_cross_exactly(provider, receiver, standin, amount_fen, yuan):
    out_trade_no, paid = paid_order(provider, receiver, standin, amount_fen)

    assert paid["notification"]["total_amount"] == yuan
    notice = provider.parse_notification(paid["notification"])
    assert notice.amount_fen == amount_fen
    assert provider.query(out_trade_no).amount_fen == amount_fen


def test_fen_and_yuan_convert_exactly_both_ways():
    for fen in [*range(1, 1001), 398_000, 399_999, 123_456_789, 10_000_000_000]:
        yuan = fen_to_yuan(fen)
        assert yuan == f"{fen // 100}.{fen % 100:02d}"
        assert yuan_to_fen(yuan) == fen
    for not_fen in (0, -1, 1.5, True, "398000"):
        with pytest.raises(ValueError):
            fen_to_yuan(not_fen)
    for not_an_amount in ("0.001", "abc", "NaN", "-1.00", "Infinity", ""):
        with pytest.raises(ValueError):
            yuan_to_fen(not_an_amount)


def test_the_notification_parses_to_the_payment(provider, receiver, standin):
    out_trade_no, paid = paid_order(provider, receiver, standin)

    notice = provider.parse_notification(paid["notification"])
    assert notice == PaidNotice(
        out_trade_no=out_trade_no,
        transaction_id=paid["trade_no"],
        amount_fen=CAMP_FEN,
        paid_at=from_alipay_time(paid["notification"]["gmt_payment"]),
        raw=paid["notification"],
    )
    assert paid["notify_answer"] == NOTIFICATION_ANSWER == "success"


def test_a_tampered_amount_is_forged(provider, receiver, standin):
    _, paid = paid_order(provider, receiver, standin)

    with pytest.raises(ForgedNotification):
        provider.parse_notification({**paid["notification"], "total_amount": "0.01"})


def test_a_wrong_or_missing_signature_is_forged(provider, receiver, standin, keys):
    _, paid = paid_order(provider, receiver, standin)
    genuine = paid["notification"]
    unsigned = {k: v for k, v in genuine.items() if k not in ("sign", "sign_type")}
    signed_by_someone_else = signed_notification(unsigned, RSA.import_key(keys.app_private_key))

    for forged in (
        signed_by_someone_else,
        unsigned,
        {**genuine, "sign": "bm90IGEgc2lnbmF0dXJl"},
        {**genuine, "sign": "%%% not base64"},
        {**genuine, "sign_type": "RSA"},
    ):
        with pytest.raises(ForgedNotification):
            provider.parse_notification(forged)


def test_a_genuine_notification_for_another_app_is_refused(provider, receiver, standin, keys):
    _, paid = paid_order(provider, receiver, standin)
    unsigned = {k: v for k, v in paid["notification"].items() if k not in ("sign", "sign_type")}
    alipay_key = RSA.import_key(keys.alipay_private_key)

    other_app_id = "2021000000009999"
    another_app = signed_notification({**unsigned, "app_id": other_app_id, "auth_app_id": other_app_id}, alipay_key)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(another_app)
    # Re-signed by Alipay for our app it is accepted: the app id alone was refused above.
    assert provider.parse_notification(signed_notification(unsigned, alipay_key)).transaction_id == paid["trade_no"]


def test_a_genuine_notice_of_an_unpaid_trade_is_none(provider, receiver, standin, keys):
    _, paid = paid_order(provider, receiver, standin)
    unsigned = {k: v for k, v in paid["notification"].items() if k not in ("sign", "sign_type")}
    alipay_key = RSA.import_key(keys.alipay_private_key)

    for status in ("WAIT_BUYER_PAY", "TRADE_CLOSED"):
        genuine = signed_notification({**unsigned, "trade_status": status}, alipay_key)
        assert provider.parse_notification(genuine) is None
    finished = signed_notification({**unsigned, "trade_status": "TRADE_FINISHED"}, alipay_key)
    assert provider.parse_notification(finished).transaction_id == paid["trade_no"]


def test_alipay_resending_a_notification_parses_to_the_same_notice(provider, receiver, standin):
    out_trade_no, first = paid_order(provider, receiver, standin)
    again = requests.post(f"{standin.url}/standin/pay/{out_trade_no}", timeout=15).json()

    assert again["notification"] == first["notification"]
    assert again["trade_no"] == first["trade_no"]
    assert first["notify_answer"] == again["notify_answer"] == "success"
    first_notice, second_notice = receiver.notices_for(out_trade_no)
    assert isinstance(first_notice, PaidNotice) and first_notice == second_notice


# -- query, refund, close --------------------------------------------------------------------


def test_query_says_paid_only_once_paid(provider, receiver, standin):
    out_trade_no = new_order_number()
    assert provider.query(out_trade_no) is None  # the payer never opened the cashier
    open_cashier(provider.page_pay_url(payment(receiver, out_trade_no)))
    assert provider.query(out_trade_no) is None  # waiting for the payer

    paid = requests.post(f"{standin.url}/standin/pay/{out_trade_no}", timeout=15).json()

    notice = provider.query(out_trade_no)
    assert (notice.out_trade_no, notice.transaction_id, notice.amount_fen, notice.paid_at) == (
        out_trade_no, paid["trade_no"], CAMP_FEN, from_alipay_time(paid["notification"]["gmt_payment"])
    )


def test_partial_then_full_refund_and_nothing_beyond(provider, receiver, standin, standin_app):
    out_trade_no, paid = paid_order(provider, receiver, standin)

    first = provider.refund(out_trade_no, "R" + out_trade_no[1:], 100_000, "学员改期，退一部分")
    assert (first.status, first.amount_fen) == ("SUCCESS", 100_000)
    assert first.refund_id == f"{paid['trade_no']}:R{out_trade_no[1:]}"
    assert provider.query(out_trade_no).amount_fen == CAMP_FEN  # still paid

    with pytest.raises(AlipayRefused) as beyond:
        provider.refund(out_trade_no, "S" + out_trade_no[1:], 298_001, "")
    assert beyond.value.sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"

    rest = provider.refund(out_trade_no, "T" + out_trade_no[1:], 298_000, "取消报名")
    assert (rest.status, rest.amount_fen) == ("SUCCESS", 298_000)
    assert provider.query(out_trade_no) is None  # closed by the full refund
    assert standin_of(standin_app).trade(out_trade_no).as_json()["refunded"] == "3980.00"

    # Alipay notifies both refunds: the partial one reads as the payment again, the full one as none.
    payment_notice, *refund_notices = receiver.wait_for(3, out_trade_no)
    assert payment_notice.transaction_id == paid["trade_no"]
    partial_notice, full_notice = sorted(refund_notices, key=lambda n: n is None)
    assert replace(partial_notice, raw={}) == replace(payment_notice, raw={})
    assert partial_notice.raw["refund_fee"] == "1000.00" and full_notice is None


def test_asking_again_for_a_refund_refunds_once(provider, receiver, standin, standin_app):
    out_trade_no, _ = paid_order(provider, receiver, standin)
    refund_no = "R" + out_trade_no[1:]

    first = provider.refund(out_trade_no, refund_no, 50_000, "退款")
    retry = provider.refund(out_trade_no, refund_no, 50_000, "退款")

    assert first.raw["fund_change"] == "Y" and retry.raw["fund_change"] == "N"
    assert (retry.status, retry.amount_fen, retry.refund_id) == ("SUCCESS", 50_000, first.refund_id)
    assert standin_of(standin_app).trade(out_trade_no).as_json()["refunded"] == "500.00"


def test_refunds_beyond_the_payment_or_of_unpaid_orders_are_refused(provider, receiver, standin):
    out_trade_no, _ = paid_order(provider, receiver, standin, amount_fen=1)
    with pytest.raises(AlipayRefused) as beyond:
        provider.refund(out_trade_no, "R" + out_trade_no[1:], 2, "")
    assert beyond.value.sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert provider.refund(out_trade_no, "S" + out_trade_no[1:], 1, "").amount_fen == 1

    unpaid = new_order_number()
    open_cashier(provider.page_pay_url(payment(receiver, unpaid)))
    with pytest.raises(AlipayRefused) as not_paid:
        provider.refund(unpaid, "R" + unpaid[1:], 100, "")
    assert not_paid.value.sub_code == "ACQ.TRADE_STATUS_ERROR"


def test_close_stops_an_unpaid_trade_and_leaves_a_paid_one(provider, receiver, standin):
    out_trade_no = new_order_number()
    url = provider.page_pay_url(payment(receiver, out_trade_no))
    assert provider.close(out_trade_no) is False  # no trade at Alipay until the cashier is opened
    open_cashier(url)

    assert provider.close(out_trade_no) is True
    refused = requests.post(f"{standin.url}/standin/pay/{out_trade_no}", timeout=15)
    assert refused.status_code == 409 and refused.json()["sub_code"] == "ACQ.TRADE_HAS_CLOSE"
    assert "ACQ.TRADE_HAS_CLOSE" in requests.get(url, timeout=10).text
    assert provider.query(out_trade_no) is None

    paid_no, _ = paid_order(provider, receiver, standin)
    assert provider.close(paid_no) is False
    assert provider.query(paid_no).amount_fen == CAMP_FEN


# -- Alipay down, or not who it says ---------------------------------------------------------


def test_an_outage_is_a_provider_error(provider, receiver, standin):
    out_trade_no, _ = paid_order(provider, receiver, standin)
    requests.post(f"{standin.url}/standin/outage", timeout=5).raise_for_status()
    try:
        with pytest.raises(ProviderError):
            provider.query(out_trade_no)
        with pytest.raises(ProviderError):
            provider.refund(out_trade_no, "R" + out_trade_no[1:], 100, "")
        assert provider.close(out_trade_no) is False
        assert requests.get(provider.page_pay_url(payment(receiver, new_order_number())), timeout=10).status_code == 503
    finally:
        requests.delete(f"{standin.url}/standin/outage", timeout=5).raise_for_status()
    assert provider.query(out_trade_no).amount_fen == CAMP_FEN  # back up


def test_nothing_listening_is_a_provider_error(settings):
    probe = BackgroundServer(Flask("nothing"))
    closed_port_url = probe.url
    probe.stop()
    provider = AlipayProvider({**settings, "ALIPAY_GATEWAY": closed_port_url + "/gateway.do", "ALIPAY_TIMEOUT": 2})

    with pytest.raises(ProviderError):
        provider.query(new_order_number())


def test_answers_not_signed_with_alipays_key_are_not_trusted(settings, keys, receiver, standin):
    out_trade_no = new_order_number()
    # Configured with the wrong public key, the provider cannot tell the stand-in's answers from a fake.
    deceived = AlipayProvider({**settings, "ALIPAY_PUBLIC_KEY": keys.app_public_key})
    open_cashier(deceived.page_pay_url(payment(receiver, out_trade_no)))

    with pytest.raises(ProviderError):
        deceived.query(out_trade_no)


def test_requests_not_signed_with_our_key_are_refused(settings, receiver):
    impostor_key = RSA.generate(2048).export_key().decode()
    impostor = AlipayProvider({**settings, "ALIPAY_PRIVATE_KEY": impostor_key})

    page = requests.get(impostor.page_pay_url(payment(receiver, new_order_number())), timeout=10)
    assert page.status_code == 400 and "isv.invalid-signature" in page.text
    with pytest.raises(ProviderError, match="isv.invalid-signature"):
        impostor.query(new_order_number())


# -- configuration ---------------------------------------------------------------------------


def test_configured_needs_the_app_id_and_both_keys(settings):
    assert configured(settings)
    for missing in ("ALIPAY_APPID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"):
        assert not configured({**settings, missing: ""})
        with pytest.raises(ValueError):
            AlipayProvider({**settings, missing: " "})
    assert not configured({})


def test_keys_are_read_as_pem_text_paths_or_bare_base64(settings, keys, receiver, standin):
    def bare_base64(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    for private_key, public_key in (
        (keys.app_private_key, keys.alipay_public_key),  # PEM text
        (settings["ALIPAY_PRIVATE_KEY"], settings["ALIPAY_PUBLIC_KEY"]),  # paths
        (bare_base64(keys.app_private_key), bare_base64(keys.alipay_public_key)),  # Alipay's key tool
        (keys.app_private_key.replace("\n", "\\n"), keys.alipay_public_key.replace("\n", "\\n")),  # one .env line
    ):
        provider = AlipayProvider({**settings, "ALIPAY_PRIVATE_KEY": private_key, "ALIPAY_PUBLIC_KEY": public_key})
        out_trade_no, _ = paid_order(provider, receiver, standin)
        assert provider.query(out_trade_no).amount_fen == CAMP_FEN


def test_keys_in_the_wrong_place_are_refused_without_showing_them(settings, keys):
    swapped = {**settings, "ALIPAY_PRIVATE_KEY": keys.alipay_public_key, "ALIPAY_PUBLIC_KEY": keys.app_private_key}
    with pytest.raises(ValueError, match="ALIPAY_PRIVATE_KEY"):
        AlipayProvider(swapped)
    with pytest.raises(ValueError, match="ALIPAY_PUBLIC_KEY"):
        AlipayProvider({**settings, "ALIPAY_PUBLIC_KEY": keys.alipay_private_key})
    secret_line = keys.app_private_key.splitlines()[1]
    with pytest.raises(ValueError) as unreadable:
        AlipayProvider({**settings, "ALIPAY_PRIVATE_KEY": secret_line + "!"})
    assert secret_line not in str(unreadable.value)


def test_key_generation_is_idempotent(keys):
    assert ensure_keys(keys.directory) == keys
