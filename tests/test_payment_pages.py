"""A student pays for a held seat through the pages, with the providers' real SDKs talking HTTP to
their local stand-ins, and the stand-ins' notifications reaching this app over HTTP."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import func, select

from app.booking.models import Registration, RegistrationStatus
from app.extensions import db
from app.payments import worker
from app.payments.models import Payment, PaymentOrder, Refund, RefundRequest, RefundStatus
from tests.factories import new_session
from tests.helpers import csrf_token_from, outbox_messages, submit_form, text_of

DESKTOP = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"}
PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"}
WECHAT = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36 MicroMessenger/8.0.50.2701"}


def _book(app, client, capacity: int = 5) -> tuple[int, int]:
    session_id = new_session(app, capacity=capacity, price="3980.00")
    response = submit_form(client, f"/sessions/{session_id}/book", {})
    assert response.status_code == 302
    registration_id = int(re.search(r"/registrations/(\d+)/pay", response.headers["Location"]).group(1))
    return session_id, registration_id


def _choose(client, registration_id: int, method: str, headers: dict):
    page = client.get(f"/registrations/{registration_id}/pay", headers=headers)
    return client.post(f"/registrations/{registration_id}/pay", headers=headers,
                       data={"method": method, "csrf_token": csrf_token_from(text_of(page))})


def _registration(app, registration_id: int) -> Registration:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def _order(app, registration_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(PaymentOrder.out_trade_no)
                                 .where(PaymentOrder.registration_id == registration_id)
                                 .order_by(PaymentOrder.id.desc()))


def test_booking_a_paid_session_leads_to_the_pay_page_with_the_ways_this_browser_can_pay(
        app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)

    desktop = text_of(student_client.get(f"/registrations/{registration_id}/pay", headers=DESKTOP))
    phone = text_of(student_client.get(f"/registrations/{registration_id}/pay", headers=PHONE))
    in_wechat = text_of(student_client.get(f"/registrations/{registration_id}/pay", headers=WECHAT))

    assert "¥3,980.00" in desktop and "名额为您保留至" in desktop and "退款规则" in desktop
    assert 'value="wechat_native"' in desktop and 'value="alipay_page"' in desktop
    assert 'value="bank_transfer"' in desktop
    assert 'value="wechat_h5"' in phone and 'value="alipay_wap"' in phone
    assert 'value="wechat_jsapi"' in in_wechat and "alipay" not in in_wechat.split("选择支付方式")[1]


def test_paying_by_wechat_native_confirms_the_seat_when_the_notification_arrives(
        app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)

    page = _choose(student_client, registration_id, "wechat_native", DESKTOP)
    assert page.status_code == 200 and "<svg" in text_of(page) and "扫一扫" in text_of(page)
    paid = providers.pay_wechat(_order(app, registration_id))

    assert paid["notified"] is True and paid["notify_status"] == 204
    assert _registration(app, registration_id).status is RegistrationStatus.CONFIRMED
    status = student_client.get(f"/registrations/{registration_id}/pay/status").get_json()
    assert status["paid"] is True
    receipt = text_of(student_client.get(f"/registrations/{registration_id}/receipt"))
    assert "微信支付" in receipt and "¥3,980.00" in receipt
    assert [m.template for m in outbox_messages(app)] == ["booking_held", "booking_paid"]


def test_paying_by_alipay_on_a_phone_and_coming_back(app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)

    page = _choose(student_client, registration_id, "alipay_wap", PHONE)
    go = re.search(r'data-go="([^"]+)"', text_of(page)).group(1).replace("&amp;", "&")
    assert go.startswith(providers.alipay_url)
    cashier = requests.get(go, timeout=10)
    assert cashier.status_code == 200 and "3980.00" in cashier.text
    # 确认付款 at the cashier: Alipay notifies the site, then sends the browser back (signed).
    paid = requests.post(f"{providers.alipay_url}/cashier/{_order(app, registration_id)}/pay", allow_redirects=False,
                         timeout=10)

    assert _registration(app, registration_id).status is RegistrationStatus.CONFIRMED
    back = requests.get(paid.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/registrations/{registration_id}/pay")
    tampered = requests.get(paid.headers["Location"].replace("out_trade_no=", "out_trade_no=X"), timeout=10)
    assert tampered.status_code == 400


def test_inside_wechat_the_openid_is_asked_silently_then_the_pay_sheet_opens(
        app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)

    asked = _choose(student_client, registration_id, "wechat_jsapi", WECHAT)
    assert asked.status_code == 302
    authorize = student_client.get(asked.headers["Location"], headers=WECHAT)
    wechat_oauth = authorize.headers["Location"]
    assert wechat_oauth.startswith(providers.wechat_url) and "snsapi_base" in wechat_oauth
    to_callback = requests.get(authorize.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    callback = urlparse(to_callback)
    student_client.get(f"{callback.path}?{callback.query}", headers=WECHAT)

    page = _choose(student_client, registration_id, "wechat_jsapi", WECHAT)
    assert page.status_code == 200
    assert "getBrandWCPayRequest" not in text_of(page)  # the script is a file; the parameters are data
    jsapi = re.search(r'data-jsapi="([^"]+)"', text_of(page)).group(1)
    assert "prepay_id=" in jsapi and "paySign" in jsapi


def test_a_forged_notification_is_refused_and_changes_nothing(app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)
    _choose(student_client, registration_id, "wechat_native", DESKTOP)
    genuine = requests.post(f"{providers.wechat_url}/standin/pay/{_order(app, registration_id)}",
                            json={"notify": False}, timeout=10).json()
    client = app.test_client()

    headers = dict(genuine["notification"]["headers"])
    body = genuine["notification"]["body"].replace('"', "'", 1)  # one byte changed
    forged = client.post("/payments/notify/wechat", data=body.encode(), headers=headers)
    alipay_forged = client.post("/payments/notify/alipay", data={"out_trade_no": "A1", "trade_status": "TRADE_SUCCESS",
                                                                 "total_amount": "3980.00", "sign": "AAAA"})

    assert forged.status_code == 401 and alipay_forged.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_provider_that_is_down_keeps_the_seat_held(app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)
    providers.outage(True)
    try:
        answer = _choose(student_client, registration_id, "wechat_native", DESKTOP)
        assert answer.status_code == 302, text_of(answer)[:3000]
        page = text_of(student_client.get(answer.headers["Location"]))
    finally:
        providers.outage(False)

    assert "支付服务暂时不可用" in page
    assert _registration(app, registration_id).status is RegistrationStatus.PENDING_PAYMENT


def test_i_have_paid_just_after_the_hold_ended_still_confirms_a_payment_made_in_time(
        app, student_client, providers, monkeypatch):
    _session_id, registration_id = _book(app, student_client)
    page = _choose(student_client, registration_id, "wechat_native", DESKTOP)
    requests.post(f"{providers.wechat_url}/standin/pay/{_order(app, registration_id)}", json={"notify": False},
                  timeout=10)
    with app.app_context():  # the hold ends before the notification arrives
        registration = db.session.get(Registration, registration_id)
        registration.hold_expires_at = registration.created_at
        db.session.commit()

    student_client.post(f"/registrations/{registration_id}/pay/check",
                        data={"csrf_token": csrf_token_from(text_of(page))})

    assert _registration(app, registration_id).status is RegistrationStatus.CONFIRMED


def test_i_have_paid_asks_the_provider_when_the_notification_is_lost(
        app, student_client, providers, monkeypatch):
    _session_id, registration_id = _book(app, student_client)
    page = _choose(student_client, registration_id, "wechat_native", DESKTOP)
    requests.post(f"{providers.wechat_url}/standin/pay/{_order(app, registration_id)}", json={"notify": False},
                  timeout=10)
    assert _registration(app, registration_id).status is RegistrationStatus.PENDING_PAYMENT

    checked = student_client.post(f"/registrations/{registration_id}/pay/check",
                                  data={"csrf_token": csrf_token_from(text_of(page))})

    assert checked.status_code == 302 and "/me/registrations/" in checked.headers["Location"]
    assert _registration(app, registration_id).status is RegistrationStatus.CONFIRMED


def test_choosing_a_bank_transfer_shows_the_account_and_a_reference(app, student_client, providers):
    _session_id, registration_id = _book(app, student_client)

    page = text_of(_choose(student_client, registration_id, "bank_transfer", DESKTOP))
    reference = _order(app, registration_id)

    assert reference.startswith("XC") and reference in page and "测试银行杭州分行" in page
    again = text_of(student_client.get(f"/registrations/{registration_id}/pay", headers=DESKTOP))
    assert reference in again  # the pay page keeps showing it


def test_the_worker_sends_a_cancellations_refund_to_the_provider(app, student_client, providers):
    session_id, registration_id = _book(app, student_client)
    _choose(student_client, registration_id, "wechat_native", DESKTOP)
    providers.pay_wechat(_order(app, registration_id))
    page = text_of(student_client.get("/me/registrations"))
    cancelled = student_client.post(f"/me/registrations/{registration_id}/cancel",
                                    data={"csrf_token": csrf_token_from(page)})
    assert cancelled.status_code == 302

    with app.app_context():
        # WeChat answers PROCESSING first: nothing is settled, nobody is told the money is back.
        assert worker.send_refunds() == (0, 0)
        request = db.session.scalar(select(RefundRequest))
        assert request.status is RefundStatus.PENDING and db.session.scalar(select(Refund)) is None
        out_refund_no = request.out_refund_no
    requests.post(f"{providers.wechat_url}/standin/refunds/{out_refund_no}/complete", json={}, timeout=10)
    with app.app_context():
        assert worker.send_refunds() == (1, 0)  # asked again: SUCCESS now
        refund = db.session.scalar(select(Refund))
        request = db.session.scalar(select(RefundRequest))
        assert refund.amount == request.amount and request.status is RefundStatus.DONE
        assert refund.provider_refund_id
    assert "payments_refunded" not in [m.template for m in outbox_messages(app)]  # rendered at once, no template
    assert any("退款" in m.subject for m in outbox_messages(app))


@pytest.mark.parametrize("path", ["/registrations/999999/pay", "/registrations/999999/receipt",
                                  "/registrations/999999/pay/status"])
def test_someone_elses_or_a_missing_registration_is_not_found(student_client, path):
    assert student_client.get(path).status_code == 404


def test_inside_wechat_its_pay_is_offered_only_when_the_openid_can_be_had(
        app, student_client, providers, monkeypatch):
    _session_id, registration_id = _book(app, student_client)
    monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", "")

    page = text_of(student_client.get(f"/registrations/{registration_id}/pay", headers=WECHAT))

    assert 'value="wechat_jsapi"' not in page and 'value="bank_transfer"' in page
