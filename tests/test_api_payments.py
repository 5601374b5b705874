"""Paid seats over the API (the WeChat mini-program): a booking holds the seat and says what to pay
by when, the pay endpoint gives wx.requestPayment's signed parameters, WeChat's notification
confirms the seat, a cancellation says what its refund is; and every refusal has its code.

The app runs the real WeChat Pay SDK against the local stand-in (standins/wechatpay.py) on a real
port, and the app itself is served on another, so the stand-in's payment notification reaches our
notify view over HTTP as WeChat's would. On SQLite and PostgreSQL.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import get_args

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from pydantic import BaseModel
from sqlalchemy import select

from app.accounts.models import User
from app.api.schemas import (
    STATUS_DESCRIPTIONS,
    CancellationOut,
    PaymentParametersOut,
    RegistrationListOut,
    RegistrationOut,
    RegistrationStatusName,
)
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.common.time import utcnow
from app.extensions import db
from app.payments import refunds
from app.payments.models import Payment, PaymentOrder, RefundRequest
from standins.keys import app_settings, ensure_wechatpay_keys, standin_options
from standins.serving import BackgroundServer
from standins.wechatpay import create_app as create_wechatpay_standin
from standins.wechatpay_records import openid_of
from tests.factories import new_session
from tests.helpers import API, api_book, assert_error, seats_taken, student_headers

PRICE = "3980.00"
PAYMENT_KEYS = {"timeStamp", "nonceStr", "package", "signType", "paySign"}
MONEY_KEYS = ("amount", "pay_by", "amount_due", "amount_paid", "amount_refunded", "paid_at")


# --- the stand-in, the app on a port, the settings ----------------------------------------------

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return ensure_wechatpay_keys(tmp_path_factory.mktemp("wechatpay-keys"))


@pytest.fixture(scope="module")
def standin(keys):
    standin_app = create_wechatpay_standin(**standin_options(keys))
    with BackgroundServer(standin_app) as server:
        server.ledger = standin_app.extensions["wechatpay_standin"]  # the orders as WeChat keeps them
        yield server


@pytest.fixture(scope="module")
def app_server(app):
    """The app itself on a real port: where the stand-in POSTs its notifications (SITE_URL)."""
    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def wechat(app, keys, standin, app_server, monkeypatch):
    """The app's WeChat Pay (and mini-program) settings pointing at the stand-in, and its public
    address at the app's own port, so the orders' notify_url reaches our notify view."""
    for name, value in app_settings(keys, standin.url).items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.config, "SITE_URL", app_server.url)
    yield standin
    requests.post(standin.url + "/standin/outage", json={"down": False}, timeout=5)


@pytest.fixture
def headers(app, client):
    return student_headers(app, client, "student@example.com", "13800000003", name="张喆")


@pytest.fixture
def document(client):
    return client.get(f"{API}/openapi.json").get_json()


def paid_session(app, capacity: int = 5, **fields) -> int:
    return new_session(app, capacity=capacity, price=PRICE, **fields)


def other_student(app, client, number: int) -> dict:
    return student_headers(app, client, f"other{number}@example.com", f"1390000{number:04d}")


# --- what the mini-program does ---------------------------------------------------------------

def login_code(standin, keys, user: str = "mini-user-1", appid: str | None = None) -> str:
    """What wx.login() gives the mini-program's user `user` (the stand-in plays WeChat)."""
    answer = requests.post(standin.url + "/standin/jscode",
                           json={"appid": appid or keys.mini_program_appid, "user": user}, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["js_code"]


def api_pay(client, registration_id: int, headers: dict, code: str):
    return client.post(f"{API}/registrations/{registration_id}/pay", json={"login_code": code}, headers=headers)


def api_cancel(client, registration_id: int, headers: dict):
    return client.delete(f"{API}/registrations/{registration_id}", headers=headers)


def mine(client, headers) -> dict[int, dict]:
    response = client.get(f"{API}/me/registrations", headers=headers)
    assert response.status_code == 200
    return {item["id"]: item for item in response.get_json()["items"]}


def one(client, registration_id: int, headers: dict) -> dict:
    response = client.get(f"{API}/registrations/{registration_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def orders_of(app, registration_id: int) -> list[PaymentOrder]:
    with app.app_context():
        orders = db.session.scalars(select(PaymentOrder).where(PaymentOrder.registration_id == registration_id)
                                    .order_by(PaymentOrder.id)).all()
        db.session.expunge_all()
        return list(orders)


def pay_at_standin(standin, out_trade_no: str) -> dict:
    """The payer confirms in WeChat's pay sheet: the stand-in marks the order paid and notifies."""
    answer = requests.post(f"{standin.url}/standin/pay/{out_trade_no}", json={}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def book_and_pay(app, client, standin, keys, headers, session_id: int) -> dict:
    """A student books a paid seat and pays for it in the mini-program: the registration after."""
    booked = api_book(client, session_id, headers).get_json()
    assert api_pay(client, booked["id"], headers, login_code(standin, keys)).status_code == 200
    paid = pay_at_standin(standin, orders_of(app, booked["id"])[-1].out_trade_no)
    assert paid["notified"], paid
    return one(client, booked["id"], headers)


def verify_pay_sign(keys, parameters: dict) -> None:
    """What WeChat's client checks before it shows the pay sheet: the merchant key's signature of the
    mini-program's appId, timeStamp, nonceStr and package."""
    merchant_key = serialization.load_pem_public_key(keys.merchant_public_key_path.read_bytes())
    signed = "".join(f"{value}\n" for value in (keys.mini_program_appid, parameters["timeStamp"],
                                                 parameters["nonceStr"], parameters["package"]))
    merchant_key.verify(base64.b64decode(parameters["paySign"]), signed.encode(), PKCS1v15(), SHA256())


def assert_documented(document: dict, method: str, path: str, response, model: type[BaseModel]) -> None:
    """The answer's status is documented for the operation, with `model`'s schema, and the body is
    exactly that model's fields and valid for it."""
    documented = document["paths"][path][method]["responses"][str(response.status_code)]
    assert documented["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
    body = response.get_json()
    assert set(body) == set(model.model_fields)
    model.model_validate(body)


def stored(app, registration_id: int) -> Registration:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        db.session.expunge(registration)
        return registration


def local_time(value: str) -> datetime:
    assert value.endswith("+08:00"), value  # the API's times are Beijing time, like every other
    return datetime.fromisoformat(value)


# --- booking a paid seat ------------------------------------------------------------------------

def test_booking_a_paid_session_holds_the_seat_and_says_what_to_pay_by_when(app, client, headers, document):
    session_id = paid_session(app)

    response = api_book(client, session_id, headers)

    assert response.status_code == 201
    assert_documented(document, "post", "/sessions/{session_id}/registrations", response, RegistrationOut)
    body = response.get_json()
    assert (body["status"], body["amount"], body["amount_due"]) == ("pending_payment", PRICE, PRICE)
    assert (body["amount_paid"], body["amount_refunded"], body["paid_at"], body["confirmed_at"]) == (
        "0.00", "0.00", None, None)
    assert local_time(body["pay_by"]) == stored(app, body["id"]).hold_expires_at
    hold = timedelta(seconds=app.config["PAYMENT_HOLD_SECONDS"])
    assert hold - timedelta(minutes=1) < local_time(body["pay_by"]) - utcnow() <= hold
    assert seats_taken(app, session_id) == 1
    # A repeat (double tap), the list and the registration itself all say the same.
    again = api_book(client, session_id, headers)
    assert again.status_code == 200
    for seen in (again.get_json(), mine(client, headers)[body["id"]], one(client, body["id"], headers)):
        assert {key: seen[key] for key in ("status", *MONEY_KEYS)} == {
            key: body[key] for key in ("status", *MONEY_KEYS)}


def test_every_status_is_in_the_document_with_what_it_means(document):
    status = document["components"]["schemas"]["RegistrationOut"]["properties"]["status"]
    names = [member.value for member in RegistrationStatus]

    # A status the app has and the API lacks would make every answer about it fail validation.
    assert sorted(get_args(RegistrationStatusName)) == sorted(names) == sorted(status["enum"])
    assert set(status["x-enumDescriptions"]) == set(names) == set(STATUS_DESCRIPTIONS)
    for name in names:
        assert name in status["description"]
    assert "pay_by" in status["x-enumDescriptions"]["offered"] and "候补" in status["x-enumDescriptions"]["offered"]
    pay = document["paths"]["/registrations/{registration_id}/pay"]["post"]
    assert set(pay["responses"]) == {"200", "400", "401", "404", "409", "422", "429", "500", "503"}
    for code in ("nothing_to_pay", "hold_expired", "payment_method_unavailable"):
        assert code in pay["responses"]["409"]["description"]
    assert "payment_service_unavailable" in pay["responses"]["503"]["description"]
    assert set(document["components"]["schemas"]["PaymentParametersOut"]["required"]) == PAYMENT_KEYS


# --- paying in the mini-program -----------------------------------------------------------------

def test_paying_in_the_mini_program_confirms_the_seat(app, client, headers, wechat, keys, document):
    session_id = paid_session(app)
    booked = api_book(client, session_id, headers).get_json()

    response = api_pay(client, booked["id"], headers, login_code(wechat, keys, user="zhangzhe"))

    assert response.status_code == 200, response.get_json()
    assert_documented(document, "post", "/registrations/{registration_id}/pay", response, PaymentParametersOut)
    parameters = response.get_json()
    assert set(parameters) == PAYMENT_KEYS and parameters["signType"] == "RSA"
    verify_pay_sign(keys, parameters)
    with pytest.raises(InvalidSignature):
        verify_pay_sign(keys, {**parameters, "package": parameters["package"] + "x"})
    # The order WeChat has: for the mini-program's app and this user's openid in it, the amount due,
    # its notification to our notify view, payable until the hold ends.
    [order] = orders_of(app, booked["id"])
    at_wechat = wechat.ledger.orders[order.out_trade_no]
    assert parameters["package"] == f"prepay_id={at_wechat.prepay_id}"
    assert (at_wechat.trade_type, at_wechat.appid) == ("JSAPI", keys.mini_program_appid)
    assert at_wechat.payer_openid == openid_of(keys.mini_program_appid, "zhangzhe")
    assert at_wechat.amount_fen == 398_000 and order.amount == Decimal(PRICE)
    assert at_wechat.notify_url == f"{app.config['SITE_URL']}/payments/notify/wechat"
    assert abs(at_wechat.time_expire - local_time(booked["pay_by"])) < timedelta(seconds=1)
    assert at_wechat.trade_state == "NOTPAY"
    assert one(client, booked["id"], headers)["status"] == "pending_payment"  # not paid until WeChat says so

    paid = pay_at_standin(wechat, order.out_trade_no)

    assert paid["notify_url"] == f"{app.config['SITE_URL']}/payments/notify/wechat"
    assert (paid["notified"], paid["notify_status"]) == (True, 204)
    after = one(client, booked["id"], headers)
    assert (after["status"], after["amount_paid"], after["amount_refunded"]) == ("confirmed", "3980.00", "0.00")
    assert (after["amount"], after["pay_by"]) == (None, None)  # nothing left to pay
    assert local_time(after["paid_at"]) <= local_time(after["confirmed_at"]) + timedelta(seconds=1)
    assert mine(client, headers)[booked["id"]] == after
    assert seats_taken(app, session_id) == 1
    with app.app_context():
        [payment] = db.session.scalars(select(Payment)).all()
        assert (payment.transaction_id, payment.amount) == (paid["transaction_id"], Decimal(PRICE))
        # The mini-program's openid is not the official account's: the account keeps none of it.
        assert db.session.scalar(select(User.wechat_openid).where(User.email == "student@example.com")) is None


def test_a_replayed_notification_records_the_payment_once(app, client, headers, wechat, keys):
    registration = book_and_pay(app, client, wechat, keys, headers, paid_session(app))
    out_trade_no = orders_of(app, registration["id"])[-1].out_trade_no

    again = pay_at_standin(wechat, out_trade_no)  # WeChat sends the same notice again

    assert again["notified"]
    assert one(client, registration["id"], headers)["amount_paid"] == "3980.00"
    with app.app_context():
        assert len(db.session.scalars(select(Payment)).all()) == 1


def test_a_paid_seat_has_nothing_more_to_pay(app, client, headers, wechat, keys):
    registration = book_and_pay(app, client, wechat, keys, headers, paid_session(app))

    assert_error(api_pay(client, registration["id"], headers, login_code(wechat, keys)), 409, "nothing_to_pay")
    assert len(orders_of(app, registration["id"])) == 1


@pytest.mark.parametrize("where", ["free", "waitlisted"])
def test_a_free_seat_or_a_place_in_the_queue_has_nothing_to_pay(app, client, headers, wechat, keys, where):
    if where == "free":
        session_id = new_session(app, capacity=5)
    else:
        session_id = paid_session(app, capacity=1)
        api_book(client, session_id, other_student(app, client, 1))
    booked = api_book(client, session_id, headers).get_json()
    assert booked["status"] == ("confirmed" if where == "free" else "waitlisted")
    assert (booked["amount"], booked["pay_by"]) == (None, None)

    assert_error(api_pay(client, booked["id"], headers, login_code(wechat, keys)), 409, "nothing_to_pay")
    assert orders_of(app, booked["id"]) == []


def test_a_hold_that_ran_out_cannot_be_paid_and_then_shows_as_expired(app, client, headers, wechat, keys):
    session_id = paid_session(app, payment_hold_seconds=1)
    booked = api_book(client, session_id, headers).get_json()
    time.sleep(1.2)

    assert_error(api_pay(client, booked["id"], headers, login_code(wechat, keys)), 409, "hold_expired")
    assert orders_of(app, booked["id"]) == []
    with app.test_request_context():
        booking.release_lapsed_holds(session_id)
    expired = one(client, booked["id"], headers)
    assert (expired["status"], expired["amount"], expired["pay_by"]) == ("expired", None, None)
    assert expired["amount_due"] == PRICE and expired["amount_paid"] == "0.00"
    assert_error(api_pay(client, booked["id"], headers, login_code(wechat, keys)), 409, "hold_expired")


def test_someone_elses_registration_is_not_found(app, client, headers, wechat, keys):
    theirs = api_book(client, paid_session(app), other_student(app, client, 1)).get_json()

    assert_error(api_pay(client, theirs["id"], headers, login_code(wechat, keys)), 404, "registration_not_found")
    assert_error(api_pay(client, 777777, headers, login_code(wechat, keys)), 404, "registration_not_found")
    assert_error(client.get(f"{API}/registrations/{theirs['id']}", headers=headers), 404, "registration_not_found")
    assert_error(client.post(f"{API}/registrations/{theirs['id']}/pay/check", headers=headers), 404,
                 "registration_not_found")
    assert orders_of(app, theirs["id"]) == []


def test_paying_needs_a_token(app, client, headers):
    booked = api_book(client, paid_session(app), headers).get_json()

    response = client.post(f"{API}/registrations/{booked['id']}/pay", json={"login_code": "abc"})

    assert_error(response, 401, "authentication_required")


@pytest.mark.parametrize("missing", ["wechat_pay", "app_secret"])
def test_without_wechat_pay_for_the_mini_program_paying_is_409_unavailable(app, client, headers, keys, standin,
                                                                           monkeypatch, missing):
    for name, value in app_settings(keys, standin.url).items():
        monkeypatch.setitem(app.config, name, value)
    if missing == "wechat_pay":
        monkeypatch.setitem(app.config, "WECHATPAY_MCHID", "")
    else:  # payments work, but the payer's openid cannot be learnt
        monkeypatch.setitem(app.config, "WECHAT_MINIPROGRAM_APP_SECRET", "")
        monkeypatch.setitem(app.config, "WECHAT_APP_SECRET", "")
    booked = api_book(client, paid_session(app), headers).get_json()

    body = assert_error(api_pay(client, booked["id"], headers, "any-code"), 409, "payment_method_unavailable")

    assert "小程序" in body["message"]
    assert orders_of(app, booked["id"]) == []
    assert one(client, booked["id"], headers)["status"] == "pending_payment"


def test_wechat_pay_down_is_503_and_the_seat_stays_held(app, client, headers, wechat, keys):
    booked = api_book(client, paid_session(app), headers).get_json()
    code = login_code(wechat, keys)
    requests.post(wechat.url + "/standin/outage", json={"down": True}, timeout=5)

    body = assert_error(api_pay(client, booked["id"], headers, code), 503, "payment_service_unavailable")

    assert "保留" in body["message"]
    held = one(client, booked["id"], headers)
    assert (held["status"], held["amount"]) == ("pending_payment", PRICE)
    # Back up: a new login code pays.
    requests.post(wechat.url + "/standin/outage", json={"down": False}, timeout=5)
    assert api_pay(client, booked["id"], headers, login_code(wechat, keys)).status_code == 200


def test_a_login_code_wechat_refuses_is_422_and_asks_to_log_in_again(app, client, headers, wechat, keys):
    booked = api_book(client, paid_session(app), headers).get_json()
    used = login_code(wechat, keys)
    assert api_pay(client, booked["id"], headers, used).status_code == 200

    for code in ("made-up-code", used, login_code(wechat, keys, appid=keys.appid)):  # the official account's
        body = assert_error(api_pay(client, booked["id"], headers, code), 422, "wechat_login_code_invalid")
        assert "login_code" in body["fields"]
    assert one(client, booked["id"], headers)["status"] == "pending_payment"


def test_paying_is_rate_limited_per_account(app, client, headers, wechat, keys, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_BOOKING", "1 per minute")
    booked = api_book(client, paid_session(app), headers).get_json()
    assert api_pay(client, booked["id"], headers, login_code(wechat, keys)).status_code == 200

    assert_error(api_pay(client, booked["id"], headers, login_code(wechat, keys)), 429, "rate_limited")
    assert len(orders_of(app, booked["id"])) == 1


# --- hostile bodies -----------------------------------------------------------------------------

HUGE = "长" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8


@pytest.mark.parametrize(("body", "content_type", "field"), [
    pytest.param('{"login_code": 12345}', "application/json", "login_code", id="number"),
    pytest.param('{"login_code": null}', "application/json", "login_code", id="null"),
    pytest.param('{"login_code": ["abc"]}', "application/json", "login_code", id="list"),
    pytest.param('{"login_code": {"code": "abc"}}', "application/json", "login_code", id="object"),
    pytest.param('{"login_code": true}', "application/json", "login_code", id="bool"),
    pytest.param("{}", "application/json", "login_code", id="missing"),
    pytest.param('{"login_code": ""}', "application/json", "login_code", id="empty"),
    pytest.param('{"login_code": "a\\u0000b"}', "application/json", "login_code", id="nul"),
    pytest.param('{"login_code": "\\ud800"}', "application/json", "login_code", id="lone-surrogate"),
    pytest.param('{"login_code": "0a3X k20"}', "application/json", "login_code", id="space"),
    pytest.param('{"login_code": "𠮷野"}', "application/json", "login_code", id="not-ascii"),
    pytest.param('{"login_code": "' + "a" * 129 + '"}', "application/json", "login_code", id="too-long"),
    pytest.param(json.dumps({"login_code": HUGE}, ensure_ascii=False), "application/json", "login_code", id="10MB"),
    pytest.param('["login_code"]', "application/json", None, id="array"),
    pytest.param('{"login_code": "abc"', "application/json", None, id="broken-json"),
    pytest.param("[" * 100_000 + "]" * 100_000, "application/json", None, id="deep-nesting"),
    pytest.param("login_code=abc", "application/x-www-form-urlencoded", None, id="form"),
])
def test_hostile_bodies_are_400_and_open_no_order(app, client, headers, wechat, body, content_type, field):
    booked = api_book(client, paid_session(app), headers).get_json()

    response = client.post(f"{API}/registrations/{booked['id']}/pay", data=body.encode("utf-8", "surrogatepass"),
                           content_type=content_type, headers=headers)

    answer = assert_error(response, 400, "invalid_request")
    if field:
        assert field in answer["fields"]
    assert orders_of(app, booked["id"]) == []


def test_a_body_over_the_size_limit_is_413_and_opens_no_order(app, client, headers, wechat):
    booked = api_book(client, paid_session(app), headers).get_json()
    body = json.dumps({"login_code": HUGE})  # escaped: 6 bytes a character, 20 MB

    response = client.post(f"{API}/registrations/{booked['id']}/pay", data=body, content_type="application/json",
                           headers=headers)

    assert_error(response, 413, "payload_too_large")
    assert orders_of(app, booked["id"]) == []


# --- a notification that does not come --------------------------------------------------------------

def test_checking_asks_wechat_when_its_notification_is_lost(app, client, headers, wechat, keys, monkeypatch,
                                                            document):
    booked = api_book(client, paid_session(app), headers).get_json()
    # Our public address is wrong for a while: WeChat's notification reaches nobody.
    monkeypatch.setitem(app.config, "SITE_URL", "http://127.0.0.1:9")
    assert api_pay(client, booked["id"], headers, login_code(wechat, keys)).status_code == 200
    paid = pay_at_standin(wechat, orders_of(app, booked["id"])[-1].out_trade_no)
    assert not paid["notified"]
    assert one(client, booked["id"], headers)["status"] == "pending_payment"
    requests.post(wechat.url + "/standin/outage", json={"down": True}, timeout=5)
    down = client.post(f"{API}/registrations/{booked['id']}/pay/check", headers=headers)
    assert (down.status_code, down.get_json()["status"]) == (200, "pending_payment")  # try again later
    requests.post(wechat.url + "/standin/outage", json={"down": False}, timeout=5)

    response = client.post(f"{API}/registrations/{booked['id']}/pay/check", headers=headers)

    assert response.status_code == 200
    assert_documented(document, "post", "/registrations/{registration_id}/pay/check", response, RegistrationOut)
    assert (response.get_json()["status"], response.get_json()["amount_paid"]) == ("confirmed", PRICE)
    assert client.post(f"{API}/registrations/{booked['id']}/pay/check", headers=headers).get_json() == \
        one(client, booked["id"], headers)  # checking a confirmed seat changes nothing


# --- offers from the waiting list, and cancelling -------------------------------------------------

def test_a_seat_freed_from_the_waiting_list_is_offered_until_pay_by_and_paid_in_the_mini_program(
        app, client, headers, wechat, keys):
    session_id = paid_session(app, capacity=1)
    holder = other_student(app, client, 1)
    held = api_book(client, session_id, holder).get_json()
    waiting = api_book(client, session_id, headers).get_json()
    assert (waiting["status"], waiting["waitlist_position"]) == ("waitlisted", 1)

    cancelled = api_cancel(client, held["id"], holder)

    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["refund_amount"]) == ("cancelled", "0.00")
    offered = mine(client, headers)[waiting["id"]]
    assert (offered["status"], offered["waitlist_position"], offered["amount"]) == ("offered", None, PRICE)
    offer = timedelta(seconds=app.config["WAITLIST_OFFER_SECONDS"])
    assert offer - timedelta(minutes=1) < local_time(offered["pay_by"]) - utcnow() <= offer

    assert api_pay(client, waiting["id"], headers, login_code(wechat, keys)).status_code == 200
    assert pay_at_standin(wechat, orders_of(app, waiting["id"])[-1].out_trade_no)["notified"]
    assert one(client, waiting["id"], headers)["status"] == "confirmed"


@pytest.mark.parametrize(("starts_in_days", "refund"), [(30, "3980.00"), (5, "1990.00"), (2, "0.00")])
def test_cancelling_a_paid_seat_says_what_the_refund_policy_gives_back(app, client, headers, wechat, keys, document,
                                                                        starts_in_days, refund):
    # The course's policy (the defaults): all back until 7 days before, half until 3 days, then nothing.
    registration = book_and_pay(app, client, wechat, keys, headers, paid_session(app, starts_in_days=starts_in_days))

    response = api_cancel(client, registration["id"], headers)

    assert response.status_code == 200
    assert_documented(document, "delete", "/registrations/{registration_id}", response, CancellationOut)
    body = response.get_json()
    assert (body["status"], body["refund_amount"], body["amount_refunded"]) == ("cancelled", refund, refund)
    assert body["amount_paid"] == PRICE
    listed = mine(client, headers)[registration["id"]]
    assert (listed["status"], listed["amount_refunded"]) == ("cancelled", refund)
    with app.app_context():
        requested = db.session.scalars(select(RefundRequest.amount)).all()
    assert requested == ([Decimal(refund)] if refund != "0.00" else [])


def test_the_refund_said_is_this_cancellations_only(app, client, headers, wechat, keys, staff):
    """Staff gave some back before: the cancellation answers with its own refund, not the total."""
    registration = book_and_pay(app, client, wechat, keys, headers, paid_session(app, starts_in_days=30))
    with app.test_request_context():
        refunds.refund(registration["id"], Decimal("980.00"), "课程调整补偿", db.session.get(User, staff))

    body = api_cancel(client, registration["id"], headers).get_json()

    assert (body["refund_amount"], body["amount_refunded"]) == ("3000.00", PRICE)


def test_my_registrations_show_each_payment_state(app, client, headers, wechat, keys, document):
    """One list with a seat to pay for, a paid one, a place in the queue and a cancelled paid one."""
    to_pay = api_book(client, paid_session(app, starts_in_days=40), headers).get_json()
    paid = book_and_pay(app, client, wechat, keys, headers, paid_session(app, starts_in_days=35))
    full = paid_session(app, capacity=1, starts_in_days=30)
    api_book(client, full, other_student(app, client, 1))
    queued = api_book(client, full, headers).get_json()
    refunded = book_and_pay(app, client, wechat, keys, headers, paid_session(app, starts_in_days=25))
    api_cancel(client, refunded["id"], headers)

    response = client.get(f"{API}/me/registrations", headers=headers)

    assert_documented(document, "get", "/me/registrations", response, RegistrationListOut)
    items = {item["id"]: item for item in response.get_json()["items"]}
    summary = {registration_id: (item["status"], item["amount"], item["amount_paid"], item["amount_refunded"])
               for registration_id, item in items.items()}
    assert summary == {
        to_pay["id"]: ("pending_payment", PRICE, "0.00", "0.00"),
        paid["id"]: ("confirmed", None, PRICE, "0.00"),
        queued["id"]: ("waitlisted", None, "0.00", "0.00"),
        refunded["id"]: ("cancelled", None, PRICE, PRICE),
    }
    assert items[to_pay["id"]]["pay_by"] and items[paid["id"]]["paid_at"] and items[refunded["id"]]["paid_at"]
    assert all(item["pay_by"] is None for key, item in items.items() if key != to_pay["id"])
    assert all(items[key]["amount_due"] == PRICE for key in (to_pay["id"], paid["id"], refunded["id"]))
    assert items[queued["id"]]["amount_due"] is None  # no seat held yet: its price is fixed when offered
