"""团体报名 paid once through the pages and the API, with the providers' real SDKs talking HTTP to
their local stand-ins and the stand-ins' notifications reaching this app over HTTP; the group's
receipt and its 发票, requested by its booker. On SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from app.accounts.models import User
from app.booking import groups
from app.booking.groups import AttendeeInput
from app.booking.models import Registration, RegistrationStatus
from app.extensions import db
from app.invoices import service as invoices
from app.invoices.models import InvoiceRequest, InvoiceStatus
from app.payments.models import Payment, PaymentOrder
from app.roster.service import local_today
from tests.factories import make_person, new_session
from tests.helpers import API, bearer, csrf_token_from, outbox_messages, text_of, token_for

DESKTOP = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"}
PRICE = Decimal("3980.00")
TEAM = [AttendeeInput("王喆", "13800138001", "wangzhe@example.com"),
        AttendeeInput("李堃", "13800138002"),
        AttendeeInput("𠮷田䶮", "13800138003", "jitian@example.com")]


def book_group(app, booker_email: str = "student@example.com") -> tuple[int, list[int]]:
    session_id = new_session(app, capacity=5, price=str(PRICE))
    with app.test_request_context():
        booker = db.session.scalar(select(User).where(User.email == booker_email))
        outcome = groups.book_group(booker, session_id, TEAM)
        return outcome.group.id, [r.id for r in outcome.registrations]


def group_order(app, group_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(PaymentOrder.out_trade_no).where(PaymentOrder.group_booking_id == group_id)
                                 .order_by(PaymentOrder.id.desc()))


def statuses(app, registration_ids):
    with app.app_context():
        return [db.session.get(Registration, rid).status for rid in registration_ids]


def choose(client, group_id: int, method: str):
    page = client.get(f"/me/groups/{group_id}/pay", headers=DESKTOP)
    return client.post(f"/me/groups/{group_id}/pay", headers=DESKTOP,
                       data={"method": method, "csrf_token": csrf_token_from(text_of(page))})


def test_one_wechat_payment_of_the_group_confirms_all_three(app, student, student_client, providers):
    group_id, members = book_group(app)

    page = text_of(student_client.get(f"/me/groups/{group_id}/pay", headers=DESKTOP))
    assert "¥11,940.00" in page and "名额为您保留至" in page and "𠮷田䶮" in page
    assert 'value="wechat_native"' in page and 'value="bank_transfer"' in page
    chosen = choose(student_client, group_id, "wechat_native")
    assert chosen.status_code == 200 and "<svg" in text_of(chosen)
    paid = providers.pay_wechat(group_order(app, group_id))  # WeChat's notification, verified by the SDK

    assert paid["notified"] is True and paid["notify_status"] == 204
    assert statuses(app, members) == [RegistrationStatus.CONFIRMED] * 3
    with app.app_context():
        rows = db.session.scalars(select(Payment).order_by(Payment.registration_id)).all()
        assert [(p.registration_id, p.amount) for p in rows] == [(rid, PRICE) for rid in members]
        assert {p.transaction_id for p in rows} == {paid["transaction_id"]}
    assert student_client.get(f"/me/groups/{group_id}/pay/status").get_json()["paid"] is True
    done = text_of(student_client.get(f"/me/groups/{group_id}/pay"))
    assert "全部参会人的报名已确认" in done and "申请发票" in done
    receipt = text_of(student_client.get(f"/me/groups/{group_id}/receipt"))
    assert "微信支付" in receipt and "实收合计：¥11,940.00" in receipt and "李堃" in receipt
    # A second notification of the same payment (WeChat retries) changes nothing.
    again = requests.post(f"{providers.wechat_url}/standin/pay/{group_order(app, group_id)}", timeout=10)
    with app.app_context():
        assert len(db.session.scalars(select(Payment)).all()) == 3
    assert again.status_code in (200, 409)


def test_the_group_email_links_to_the_group_pay_page(app, student):
    group_id, _members = book_group(app)

    [booked] = [m for m in outbox_messages(app) if m.template == "group_booked"]

    assert "为全组付款：http://" in booked.body_text and f"/me/groups/{group_id}/pay\n" in booked.body_text


@pytest.mark.parametrize("path", ["/me/groups/{id}/pay", "/me/groups/{id}/receipt", "/me/groups/{id}/pay/status",
                                  "/me/groups/{id}/invoice"])
def test_someone_elses_group_is_not_found(app, student_client, path):
    make_person(app, "赵经理", "13600000001", "manager@example.com")
    group_id, _members = book_group(app, "manager@example.com")

    assert student_client.get(path.format(id=group_id)).status_code == 404


def test_the_booker_requests_one_invoice_for_what_the_group_paid(app, student, student_client, providers, staff,
                                                                  staff_client):
    group_id, members = book_group(app)
    choose(student_client, group_id, "wechat_native")
    providers.pay_wechat(group_order(app, group_id))

    # An attendee's own seat was paid by the group: the booker invoices it, not the attendee.
    with app.test_request_context():
        refusal = invoices.refusal_of(db.session.get(Registration, members[0]))
        assert refusal is not None and refusal.code == "invoice_paid_by_group"
    form = text_of(student_client.get(f"/me/groups/{group_id}/invoice"))
    assert "¥11,940.00" in form
    sent = student_client.post(f"/me/groups/{group_id}/invoice", data={
        "csrf_token": csrf_token_from(form), "kind": "company", "title": "杭州𠮷田科技有限公司",
        "tax_id": "91330100716105852F", "email": "finance@example.com"})
    assert sent.status_code == 302, text_of(sent)

    with app.app_context():
        [invoice] = db.session.scalars(select(InvoiceRequest)).all()
        assert (invoice.group_booking_id, invoice.registration_id) == (group_id, None)
        assert invoice.amount == 3 * PRICE and invoice.status is InvoiceStatus.REQUESTED
    listed = text_of(staff_client.get("/staff/invoices/"))
    assert "杭州𠮷田科技有限公司" in listed and "团体报名 · 3 人" in listed
    detail = text_of(staff_client.get(f"/staff/invoices/{invoice.id}"))
    assert "𠮷田䶮" in detail and "¥11,940.00" in detail


def test_the_mini_program_pays_for_the_group(app, client, student, providers):
    group_id, members = book_group(app)
    headers = bearer(token_for(client, "student@example.com"))
    code = requests.post(f"{providers.wechat_url}/standin/jscode",
                         json={"appid": app.config["WECHAT_MINIPROGRAM_APPID"], "user": "zhangzhe"},
                         timeout=5).json()["js_code"]

    before = client.get(f"{API}/groups/{group_id}/payment", headers=headers).get_json()
    assert (before["amount"], before["paid"], len(before["attendees"])) == ("11940.00", False, 3)
    parameters = client.post(f"{API}/groups/{group_id}/pay", json={"login_code": code}, headers=headers)
    assert parameters.status_code == 200, parameters.get_json()
    assert set(parameters.get_json()) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    providers.pay_wechat(group_order(app, group_id))
    after = client.post(f"{API}/groups/{group_id}/pay/check", headers=headers).get_json()

    assert (after["paid"], after["amount"], after["amount_kept"]) == (True, "0.00", "11940.00")
    assert statuses(app, members) == [RegistrationStatus.CONFIRMED] * 3
    nobody = client.get(f"{API}/groups/{group_id + 1000}/payment", headers=headers)
    assert (nobody.status_code, nobody.get_json()["code"]) == (404, "group_not_found")


def test_staff_record_the_groups_transfer_from_an_attendees_page(app, student, staff_client):
    group_id, members = book_group(app)
    with app.app_context():
        today = local_today().isoformat()
    page = text_of(staff_client.get(f"/staff/registrations/{members[1]}"))
    assert f"登记全组对公转账（团体 #{group_id}）" in page and "¥11,940.00" in page

    response = staff_client.post(f"/staff/registrations/{members[1]}/group-transfer", data={
        "group_transfer-amount": "11940.00", "group_transfer-reference": "ICBC20261208-0009",
        "group_transfer-received_on": today,
        "csrf_token": csrf_token_from(page)})

    assert response.status_code == 302
    assert statuses(app, members) == [RegistrationStatus.CONFIRMED] * 3
    again = staff_client.post(f"/staff/registrations/{members[1]}/group-transfer", data={
        "group_transfer-amount": "11940.00", "group_transfer-reference": "ICBC20261208-0009",
        "group_transfer-received_on": today,
        "csrf_token": csrf_token_from(page)})
    assert again.status_code == 200 and "这个银行流水号已经登记过一笔付款" in text_of(again)  # recorded once
    with app.app_context():
        assert len(db.session.scalars(select(Payment)).all()) == 3
