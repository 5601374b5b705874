"""The staff side of paid seats, through the pages staff use: the roster's 付款 column and its
待支付 / 已支付 / 已退款 filters, the exports' money columns, and on a registration's page its
payments, refunds and history, a bank transfer recorded (对公转账), a refund in full or in part,
and a refund sent back by hand (已转账退回). On SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.common.db import begin_write
from app.common.time import utcnow
from app.extensions import db
from app.payments import refunds
from app.payments import service as payments
from app.payments.errors import RefundNotPending
from app.payments.models import Payment, PaymentOrder, PaymentProvider, Refund, RefundRequest, RefundStatus
from app.roster.payment_state import PAYMENT_FILTERS, PaymentKind, kinds_of_filter, payment_filter, payment_state
from tests.factories import book, make_person, new_session, pay, staff_refund
from tests.helpers import csrf_token_from, outbox_messages, run_together, stored_registration, text_of

PRICE = Decimal("3980.00")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PENDING, OFFERED, EXPIRED = (RegistrationStatus.PENDING_PAYMENT, RegistrationStatus.OFFERED,
                             RegistrationStatus.EXPIRED)
CONFIRMED, WAITLISTED, CANCELLED = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED,
                                    RegistrationStatus.CANCELLED)


# --- building money -----------------------------------------------------------------------------

def paid_session(app, capacity: int = 4, **fields) -> int:
    return new_session(app, capacity=capacity, price=str(PRICE), label="第12期", **fields)


def person(app, name: str, n: int) -> int:
    return make_person(app, name, f"1390000{n:04d}", f"student{n}@example.com")


def choose_transfer(app, registration_id: int) -> str:
    """The student chose 对公转账 on the pay page: the reference code for the transfer's 附言."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        order = payments.open_order(registration_id, db.session.get(User, registration.user_id),
                                    PaymentProvider.BANK, "transfer")
        code = order.out_trade_no
        db.session.remove()
    return code


def release_holds(app, session_id: int, at: datetime) -> None:
    with app.app_context():
        booking.release_lapsed_holds(session_id, now=at)
        db.session.remove()


def rows_of(app, model, **where) -> list:
    with app.app_context():
        rows = db.session.scalars(select(model).filter_by(**where).order_by(model.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_actions(app, registration_id: int) -> list[tuple[str, int | None]]:
    with app.app_context():
        return [(entry.action.value, entry.actor_id) for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.registration_id == registration_id).order_by(AuditEntry.id))]


# --- the pages --------------------------------------------------------------------------------------

def page(client, registration_id: int) -> str:
    response = client.get(f"/staff/registrations/{registration_id}")
    assert response.status_code == 200
    return text_of(response)


def post_money(client, registration_id: int, action: str, prefix: str, **fields):
    """Fill in one of the money forms of the registration's page (its fields carry `prefix`) and send it."""
    token = csrf_token_from(page(client, registration_id))
    data = {f"{prefix}-csrf_token": token, **{f"{prefix}-{name}": value for name, value in fields.items()}}
    return client.post(f"/staff/registrations/{registration_id}/{action}", data=data)


def record_transfer(client, registration_id: int, amount="3980.00", reference="ICBC20261205001",
                    received_on=None, **extra):
    received_on = received_on or utcnow().astimezone(SHANGHAI).date().isoformat()
    return post_money(client, registration_id, "transfer", "transfer", amount=amount, reference=reference,
                      received_on=received_on, **extra)


def refund_through_page(client, registration_id: int, amount: str, reason: str = "课程调整补偿"):
    return post_money(client, registration_id, "refund", "refund", amount=amount, reason=reason)


def returned_by_hand(client, registration_id: int, request_id: int, reference: str = "ICBC-BACK-0001"):
    return post_money(client, registration_id, f"refunds/{request_id}/returned", f"returned-{request_id}",
                      reference=reference)


def field_errors_of(html: str) -> list[str]:
    return re.findall(r'<p class="field-error" role="alert">(.*?)</p>', html)


def flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="status">(.*?)</div>', html, re.S)


def roster(client, session_id: int, **args) -> str:
    response = client.get(f"/staff/sessions/{session_id}/roster", query_string=args)
    assert response.status_code == 200
    return text_of(response)


def roster_row(html: str, registration_id: int) -> str:
    start = html.index(f'/staff/registrations/{registration_id}"')
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def roster_names(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="person"><a href="[^"]+">([^<]+)</a></th>', html)


# --- a session with money in every state -----------------------------------------------------------

@pytest.fixture
def cohort(app, staff):
    """A paid session of 4 seats (¥3,980.00): 王𠮷 paid by WeChat; 李䶮 paid by Alipay and was given
    ¥980.00 back; 陈一 held a seat and let it lapse (已过期), so 黄三, who was waiting, has it
    offered (候补名额待支付); 周四 holds a seat, paying (待支付)."""
    session_id = paid_session(app, capacity=4)
    start = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    names = ["王𠮷", "李䶮", "陈一", "周四", "黄三"]
    people = {name: person(app, name, n) for n, name in enumerate(names)}
    ids = {"陈一": book(app, people["陈一"], session_id, at=start)}  # its hold ends first
    for n, name in enumerate(["王𠮷", "李䶮", "周四", "黄三"], start=1):
        ids[name] = book(app, people[name], session_id, at=start + timedelta(seconds=n))
    pay(app, ids["王𠮷"], "4200000001")
    pay(app, ids["李䶮"], "2026120522001", provider=PaymentProvider.ALIPAY)
    staff_refund(app, ids["李䶮"], "980.00", "课程调整补偿", staff)
    release_holds(app, session_id, stored_registration(app, ids["陈一"]).hold_expires_at)
    statuses = {name: stored_registration(app, rid).status for name, rid in ids.items()}
    assert statuses == {"王𠮷": CONFIRMED, "李䶮": CONFIRMED, "陈一": EXPIRED, "周四": PENDING, "黄三": OFFERED}
    return {"session": session_id, "ids": ids, "people": people}


def test_the_roster_shows_each_registrations_money(app, staff_client, cohort):
    ids = cohort["ids"]
    html = roster(staff_client, cohort["session"])

    assert "<th>付款</th>" in html
    paid = roster_row(html, ids["王𠮷"])
    assert "已支付 ¥3,980.00" in paid and "已退款" not in paid
    part_refunded = roster_row(html, ids["李䶮"])
    assert "已支付 ¥3,980.00" in part_refunded and "已退款 ¥980.00" in part_refunded
    due = roster_row(html, ids["周四"])
    hold_end = stored_registration(app, ids["周四"]).hold_expires_at.astimezone(SHANGHAI)
    assert ">待支付</span> <span class=\"nowrap\">¥3,980.00</span>" in due
    assert f"保留至 {hold_end.month}月{hold_end.day}日 {hold_end:%H:%M}" in due
    offered = roster_row(html, ids["黄三"])
    assert ">候补名额待支付</span> <span class=\"nowrap\">¥3,980.00</span>" in offered
    assert ">已过期</span>" in roster_row(html, ids["陈一"]).split('class="money"')[1]
    # Seats held for a payment come after the confirmed and before the rest.
    assert roster_names(html) == ["王𠮷", "李䶮", "周四", "黄三", "陈一"]


def test_the_payment_filters_show_who_owes_who_paid_and_who_was_given_money_back(staff_client, cohort):
    session_id = cohort["session"]

    assert roster_names(roster(staff_client, session_id, payment="due")) == ["周四", "黄三"]
    assert roster_names(roster(staff_client, session_id, payment="paid")) == ["王𠮷", "李䶮"]
    assert roster_names(roster(staff_client, session_id, payment="refunded")) == ["李䶮"]
    html = roster(staff_client, session_id)
    assert re.search(r">待支付 2</a>", html) and re.search(r">已支付 2</a>", html) and re.search(r">已退款 1</a>", html)
    # Together with the other filters, which keep it.
    assert roster_names(roster(staff_client, session_id, payment="paid", q="李")) == ["李䶮"]
    assert roster_names(roster(staff_client, session_id, payment="due", status="confirmed")) == []
    assert 'payment=paid' in roster(staff_client, session_id, payment="paid").split('aria-label="按状态筛选"')[1]
    # Anything else typed into the address is everyone.
    assert len(roster_names(roster(staff_client, session_id, payment="'; DROP TABLE payments;--"))) == 5


def test_a_free_sessions_roster_has_no_money_column(app, staff_client):
    session_id = new_session(app, capacity=5)
    book(app, person(app, "张喆", 1), session_id)

    html = roster(staff_client, session_id)

    assert "<th>付款</th>" not in html and "按付款筛选" not in html


CASES = [  # status, paid, refunded -> the state the rule gives
    (PENDING, "0", "0", PaymentKind.DUE),
    (PENDING, "398.00", "398.00", PaymentKind.DUE),  # a wrong amount, given back: still to pay
    (OFFERED, "0", "0", PaymentKind.OFFERED),
    (CONFIRMED, "3980.00", "0", PaymentKind.PAID),
    (CONFIRMED, "3980.00", "0.01", PaymentKind.PART_REFUNDED),
    (CONFIRMED, "3980.00", "3980.00", PaymentKind.REFUNDED),
    (CANCELLED, "3980.00", "1990.00", PaymentKind.PART_REFUNDED),
    (CANCELLED, "3980.00", "0", PaymentKind.PAID),  # cancelled too late for a refund: the money is kept
    (CANCELLED, "0", "0", PaymentKind.NONE),
    (EXPIRED, "0", "0", PaymentKind.EXPIRED),
    (EXPIRED, "3980.00", "3980.00", PaymentKind.REFUNDED),  # paid after it lapsed: given back
    (CONFIRMED, "0", "0", PaymentKind.NONE),  # a free session's
]


def test_the_roster_filters_in_sql_agree_with_the_rule_in_python(app):
    """The filters repeat payment_state's rule in SQL: on a table of cases, each filter finds exactly
    the registrations whose state it names."""
    session_id = paid_session(app, capacity=20)
    with app.app_context():
        begin_write()
        hold_end = utcnow() + timedelta(hours=1)
        for n, (status, paid, refunded, _kind) in enumerate(CASES):
            user = User(email=f"case{n}@example.com", name=f"学员{n}", phone=f"1370000{n:04d}", role=Role.STUDENT,
                        password_hash="x")
            db.session.add(user)
            db.session.flush()
            db.session.add(Registration(
                session_id=session_id, user_id=user.id, status=status, ticket_code=f"CASE{n:04d}",
                amount_due=None if status is CONFIRMED and paid == "0" else PRICE,
                amount_paid=Decimal(paid), amount_refunded=Decimal(refunded),
                hold_expires_at=hold_end if status in (PENDING, OFFERED, EXPIRED) else None))
        db.session.commit()
        registrations = db.session.scalars(select(Registration).order_by(Registration.id)).all()
        states = {r.id: payment_state(r.status, r.amount_due, r.amount_paid, r.amount_refunded, r.hold_expires_at)
                  for r in registrations}
        assert [states[r.id].kind for r in registrations] == [case[3] for case in CASES]
        for name in PAYMENT_FILTERS:
            found = set(db.session.scalars(select(Registration.id).where(payment_filter(name))))
            assert found == {rid for rid, state in states.items() if state.kind in kinds_of_filter(name)}, name


# --- the exports ---------------------------------------------------------------------------------------

def test_the_roster_exports_carry_what_each_registration_owes_paid_and_got_back(staff_client, cohort):
    session_id = cohort["session"]
    response = staff_client.get(f"/staff/sessions/{session_id}/roster.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    header = rows[0]
    money_columns = [header.index(name) for name in ("应付金额", "已付金额", "已退金额", "支付状态")]
    assert money_columns == [9, 10, 11, 12]  # after 票码, before the days to sign in
    money = {row[0]: [row[i] for i in money_columns] for row in rows[1:]}

    assert money == {
        "王𠮷": ["3980.00", "3980.00", "0.00", "已支付"],
        "李䶮": ["3980.00", "3980.00", "980.00", "部分退款"],
        "周四": ["3980.00", "0.00", "0.00", "待支付"],
        "黄三": ["3980.00", "0.00", "0.00", "候补名额待支付"],
        "陈一": ["3980.00", "0.00", "0.00", "已过期"],
    }

    sheet = load_workbook(io.BytesIO(staff_client.get(f"/staff/sessions/{session_id}/roster.xlsx").get_data())).active
    by_name = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    paid_cell, refunded_cell = by_name["李䶮"][10], by_name["李䶮"][11]
    assert paid_cell.value == 3980 and refunded_cell.value == 980  # numbers a spreadsheet can add up
    assert refunded_cell.number_format == "#,##0.00"
    assert by_name["李䶮"][12].value == "部分退款"


# --- a registration's money on its page ---------------------------------------------------------------

def test_the_registration_page_lists_payments_refunds_and_readable_history(app, staff_client, cohort):
    rid = cohort["ids"]["李䶮"]

    html = page(staff_client, rid)

    money = html[html.index('id="money"'):html.index("</section>", html.index('id="money"'))]
    assert "部分退款" in money and "¥3,980.00" in money and "支付宝" in money and "2026120522001" in money
    assert "¥980.00" in money and "课程调整补偿" in money and "等待原路退回" in money  # the worker sends it
    assert "已转账退回" not in money  # Alipay gives it back, not staff
    history = html[html.index('class="history"'):]
    assert "收到付款" in history and "¥3,980.00 · 支付宝 · 交易号 2026120522001" in history
    assert "支付成功" in history and "退款" in history and "— → ¥980.00" in history
    assert "李助教" in history  # who decided the refund


def test_the_history_of_an_expired_hold_and_an_offer_reads_as_words(app, staff_client, cohort):
    expired = page(staff_client, cohort["ids"]["陈一"])
    offered = page(staff_client, cohort["ids"]["黄三"])

    assert "名额过期释放" in expired and "待支付 → 已过期" in expired
    assert "候补名额保留" in offered and "候补第 1 位 → 候补名额待支付" in offered


# --- 对公转账: staff record a transfer ----------------------------------------------------------------

def test_staff_record_a_transfer_the_student_announced_and_the_seat_is_confirmed(app, staff, staff_client):
    session_id = paid_session(app)
    rid = book(app, person(app, "王𠮷", 1), session_id)
    code = choose_transfer(app, rid)
    assert f">{code}</dd>" in page(staff_client, rid)  # the code the payer writes in the 附言

    response = record_transfer(staff_client, rid, amount="3,980", reference=" ICBC 2026 1205 0001 ",
                               received_on="2026-01-05")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/registrations/{rid}#money")
    assert stored_registration(app, rid).status is CONFIRMED
    [payment] = rows_of(app, Payment, registration_id=rid)
    assert payment.provider is PaymentProvider.BANK and payment.transaction_id == "ICBC202612050001"
    assert payment.amount == PRICE and payment.recorded_by_id == staff
    assert payment.paid_at == datetime(2026, 1, 5, tzinfo=SHANGHAI)  # the statement's day, in Shanghai
    [order] = rows_of(app, PaymentOrder, registration_id=rid)
    assert payment.order_id == order.id and order.out_trade_no == code
    assert ("payment.receive", staff) in audit_actions(app, rid)
    assert [m.template for m in outbox_messages(app)][-1] == "booking_paid"
    html = text_of(staff_client.get(response.headers["Location"]))
    assert "已登记对公转账 ¥3,980.00（流水号 ICBC202612050001），报名已确认" in html
    assert "收到付款" in html and "¥3,980.00 · 对公转账 · 交易号 ICBC202612050001" in html


def test_a_transfer_from_someone_who_never_chose_one_gets_its_order_opened_by_staff(app, staff, staff_client):
    session_id = paid_session(app)
    rid = book(app, person(app, "李䶮", 2), session_id)

    response = record_transfer(staff_client, rid, reference="CCB-88")

    assert response.status_code == 302
    assert stored_registration(app, rid).status is CONFIRMED
    [order] = rows_of(app, PaymentOrder, registration_id=rid)
    assert order.provider is PaymentProvider.BANK and order.channel == "transfer" and order.amount == PRICE
    [payment] = rows_of(app, Payment, registration_id=rid)
    assert payment.order_id == order.id
    assert [action for action, _ in audit_actions(app, rid)][-3:] == [
        "payment.transfer", "payment.receive", "registration.pay"]


def test_the_same_bank_reference_cannot_be_recorded_twice(app, staff_client):
    session_id = paid_session(app)
    first = book(app, person(app, "王𠮷", 1), session_id)
    second = book(app, person(app, "李䶮", 2), session_id)
    assert record_transfer(staff_client, first, reference="ICBC-1").status_code == 302

    response = record_transfer(staff_client, second, reference="ICBC-1")

    assert response.status_code == 200
    assert field_errors_of(text_of(response)) == ["这个银行流水号已经登记过一笔付款"]
    assert stored_registration(app, second).status is PENDING
    assert rows_of(app, Payment, registration_id=second) == []
    assert rows_of(app, PaymentOrder, registration_id=second) == []  # the order opened for it was rolled back


def test_two_staff_recording_the_same_transfer_at_once_record_it_once(app, staff):
    session_id = paid_session(app)
    rid = book(app, person(app, "王𠮷", 1), session_id)

    def record():
        with app.test_request_context():
            try:
                payments.record_transfer(rid, "ICBC-RACE", PRICE, utcnow(), db.session.get(User, staff))
            except payments.TransferReferenceUsed:
                return "used"
            return "recorded"

    results, _ = run_together(app, [record, record, record])

    assert sorted(results) == ["recorded", "used", "used"]
    assert len(rows_of(app, Payment, registration_id=rid)) == 1
    assert len(rows_of(app, PaymentOrder, registration_id=rid)) == 1
    assert stored_registration(app, rid).amount_paid == PRICE


HOSTILE_AMOUNTS = [
    ("1e400", "请填写金额，例如 3980 或 3980.00"),
    ("NaN", "请填写金额，例如 3980 或 3980.00"),
    ("Infinity", "请填写金额，例如 3980 或 3980.00"),
    ("-3980", "金额必须大于 0"),
    ("0", "金额必须大于 0"),
    ("0.001", "金额最多两位小数（精确到分）"),
    ("99999999999999999999", "金额太大"),
    ("", "请填写金额"),
    ("三千九百八", "请填写金额，例如 3980 或 3980.00"),
]


@pytest.mark.parametrize(("amount", "message"), HOSTILE_AMOUNTS)
def test_an_amount_that_is_not_one_is_a_form_error(app, staff_client, amount, message):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))

    transfer = record_transfer(staff_client, rid, amount=amount)
    assert transfer.status_code == 200
    assert message in field_errors_of(text_of(transfer))

    pay(app, rid, "4200000009")
    refund = refund_through_page(staff_client, rid, amount)
    assert refund.status_code == 200
    assert message in field_errors_of(text_of(refund))
    assert stored_registration(app, rid).amount_paid == PRICE and stored_registration(app, rid).amount_refunded == 0
    assert rows_of(app, RefundRequest) == []


@pytest.mark.parametrize("typed", ["￥3,980.00", "３９８０", "3980元", "3980.", " 3 980 ", "003980.0"])
def test_an_amount_as_people_type_it_is_read(app, staff_client, typed):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))

    assert record_transfer(staff_client, rid, amount=typed).status_code == 302

    assert rows_of(app, Payment)[0].amount == PRICE
    assert stored_registration(app, rid).status is CONFIRMED


def test_a_nul_byte_is_refused_with_the_reason_and_stores_nothing(app, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))

    response = record_transfer(staff_client, rid, reference="ICBC\x00001", amount="3980\x00")

    assert response.status_code == 400
    assert "含有不可见的控制字符，请删除后重试" in field_errors_of(text_of(response))
    assert rows_of(app, Payment) == []


def test_a_huge_reference_or_a_future_date_is_a_form_error(app, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    tomorrow = (utcnow().astimezone(SHANGHAI).date() + timedelta(days=1)).isoformat()

    errors = field_errors_of(text_of(record_transfer(staff_client, rid, reference="8" * 100_000,
                                                     received_on=tomorrow)))

    assert errors == ["流水号最多 64 个字符", "到账日期不能晚于今天"]
    assert field_errors_of(text_of(record_transfer(staff_client, rid, received_on="9999-12-31")))
    assert field_errors_of(text_of(record_transfer(staff_client, rid, received_on="2026-02-30")))
    assert rows_of(app, Payment) == []


def test_an_amount_that_would_not_confirm_the_seat_is_recorded_only_when_staff_confirm(app, staff, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))

    asked = record_transfer(staff_client, rid, amount="398.00")
    assert asked.status_code == 200
    assert "这笔款不会确认名额（应付 ¥3,980.00" in text_of(asked)
    assert rows_of(app, Payment) == []

    confirmed = record_transfer(staff_client, rid, amount="398.00", confirm_give_back="y")

    assert confirmed.status_code == 302
    registration = stored_registration(app, rid)
    assert registration.status is PENDING  # still to pay
    assert registration.amount_paid == Decimal("398.00") and registration.amount_refunded == Decimal("398.00")
    [request] = rows_of(app, RefundRequest, registration_id=rid)
    assert request.amount == Decimal("398.00") and request.status is RefundStatus.PENDING
    html = text_of(staff_client.get(f"/staff/registrations/{rid}"))
    assert "已登记到账 ¥398.00，但这笔款未能确认名额：付款金额与应付金额不符" in html
    assert "待工作人员转账退回" in html and f'id="refund-{request.id}"' in html


def test_nothing_to_pay_is_said_on_the_page_not_an_error_page(app, staff_client):
    rid = book(app, person(app, "王𠮷", 1), new_session(app, capacity=5))  # free: confirmed at once

    response = record_transfer(staff_client, rid, confirm_give_back="y")

    assert response.status_code == 200
    assert "这条报名没有待支付的款项" in flashes(text_of(response))
    assert rows_of(app, PaymentOrder) == []


def test_a_transfer_after_the_hold_lapsed_is_recorded_and_given_back(app, staff, staff_client):
    session_id = paid_session(app, capacity=1)
    rid = book(app, person(app, "王𠮷", 1), session_id)
    choose_transfer(app, rid)
    release_holds(app, session_id, utcnow() + timedelta(days=30))
    assert stored_registration(app, rid).status is EXPIRED
    html = page(staff_client, rid)
    assert "此报名已不在等待付款" in html  # the form is there, with its warning

    response = record_transfer(staff_client, rid, reference="ICBC-LATE", confirm_give_back="y")

    assert response.status_code == 302
    registration = stored_registration(app, rid)
    assert registration.status is EXPIRED and registration.amount_refunded == PRICE
    [request] = rows_of(app, RefundRequest, registration_id=rid)
    assert "名额已释放" in request.reason


# --- refunds ---------------------------------------------------------------------------------------------

def test_staff_refund_in_part_then_the_rest_never_more(app, staff, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    pay(app, rid, "4200000010")

    first = refund_through_page(staff_client, rid, "980.00", "课程调整补偿")
    assert first.status_code == 302
    too_much = refund_through_page(staff_client, rid, "3000.01", "太多")
    assert too_much.status_code == 200
    assert field_errors_of(text_of(too_much)) == ["退款金额不能超过已付金额减去已退金额"]
    rest = refund_through_page(staff_client, rid, "3000", "余款")
    assert rest.status_code == 302

    registration = stored_registration(app, rid)
    assert registration.amount_refunded == PRICE and registration.status is CONFIRMED
    requests = rows_of(app, RefundRequest, registration_id=rid)
    assert [(r.amount, r.reason, r.requested_by_id) for r in requests] == [
        (Decimal("980.00"), "课程调整补偿", staff), (Decimal("3000.00"), "余款", staff)]
    html = page(staff_client, rid)
    assert '<span class="badge badge-muted">已退款</span>' in html
    assert f'action="/staff/registrations/{rid}/refund"' not in html  # nothing left to give back


def test_a_refund_needs_a_reason(app, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    pay(app, rid, "4200000011")

    response = refund_through_page(staff_client, rid, "100", reason="   ")

    assert field_errors_of(text_of(response)) == ["请填写退款原因"]
    assert rows_of(app, RefundRequest) == []


def test_a_transfers_refund_is_sent_back_by_staff_and_recorded_once(app, staff, staff_client):
    rid = book(app, person(app, "李䶮", 2), paid_session(app))
    assert record_transfer(staff_client, rid, reference="ICBC-IN-1").status_code == 302
    refund_through_page(staff_client, rid, "0.01", "找零")
    [request] = rows_of(app, RefundRequest, registration_id=rid)
    assert "待工作人员转账退回" in page(staff_client, rid)

    response = returned_by_hand(staff_client, rid, request.id, reference="ICBC BACK 0001")

    assert response.status_code == 302
    [refund] = rows_of(app, Refund, registration_id=rid)
    assert refund.amount == Decimal("0.01") and refund.provider_refund_id == "ICBCBACK0001"
    assert refund.request_id == request.id and refund.recorded_by_id == staff
    assert rows_of(app, RefundRequest, registration_id=rid)[0].status is RefundStatus.DONE
    assert stored_registration(app, rid).amount_refunded == Decimal("0.01")  # counted once, when decided
    assert ("payment.refund_paid", staff) in audit_actions(app, rid)
    told = outbox_messages(app)[-1]
    assert told.to_address == "student2@example.com" and told.subject.startswith("退款通知")
    assert "¥0.01" in told.body_text and "找零" in told.body_text
    html = text_of(staff_client.get(response.headers["Location"]))
    assert "已登记退回 ¥0.01（流水号 ICBCBACK0001）" in html
    assert "退款已退回" in html and "¥0.01 · 流水号 ICBCBACK0001" in html

    again = returned_by_hand(staff_client, rid, request.id, reference="ICBC-BACK-0002")
    assert again.status_code == 200 and "这笔退款已经处理过了" in flashes(text_of(again))
    assert len(rows_of(app, Refund)) == 1


def test_two_staff_marking_the_same_refund_returned_at_once_record_it_once(app, staff):
    rid = book(app, person(app, "李䶮", 2), paid_session(app))
    pay(app, rid, "ICBC-IN-RACE", provider=PaymentProvider.BANK)
    [request_id] = staff_refund(app, rid, "3980.00", "学员退课", staff)

    def returned(reference: str):
        with app.test_request_context():
            try:
                refunds.record_refund_by_hand(request_id, reference, db.session.get(User, staff))
            except RefundNotPending:
                return "already"
            return "recorded"

    results, _ = run_together(app, [lambda: returned("ICBC-A"), lambda: returned("ICBC-B")])

    assert sorted(results) == ["already", "recorded"]
    assert len(rows_of(app, Refund, registration_id=rid)) == 1
    assert stored_registration(app, rid).amount_refunded == PRICE


def test_a_refund_the_provider_refused_for_good_is_sent_back_by_hand(app, staff, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    pay(app, rid, "4200000012")
    [request_id] = staff_refund(app, rid, "3980.00", "学员退课", staff)
    with app.test_request_context():
        refunds.refund_failed(request_id, "NOT_ENOUGH: 商户余额不足", give_up=True)
        db.session.remove()
    assert stored_registration(app, rid).amount_refunded == 0  # promised back, never sent
    html = page(staff_client, rid)
    assert "退款失败，需人工处理" in html and "商户余额不足" in html

    response = returned_by_hand(staff_client, rid, request_id, reference="ICBC-MANUAL-1")

    assert response.status_code == 302
    assert stored_registration(app, rid).amount_refunded == PRICE
    [refund] = rows_of(app, Refund, registration_id=rid)
    assert refund.amount == PRICE and refund.request_id == request_id
    assert rows_of(app, RefundRequest, id=request_id)[0].status is RefundStatus.DONE


def test_a_failed_refund_already_made_again_cannot_be_sent_back_twice(app, staff, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    pay(app, rid, "4200000013")
    [failed] = staff_refund(app, rid, "3980.00", "学员退课", staff)
    with app.test_request_context():
        refunds.refund_failed(failed, "账户已注销", give_up=True)
        db.session.remove()
    staff_refund(app, rid, "3980.00", "再次退款", staff)  # staff decided it again instead

    response = returned_by_hand(staff_client, rid, failed)

    assert response.status_code == 200
    assert "退款金额不能超过已付金额减去已退金额" in flashes(text_of(response))
    assert stored_registration(app, rid).amount_refunded == PRICE
    assert rows_of(app, Refund) == []


def test_a_refund_the_provider_sends_cannot_be_marked_returned_by_hand(app, staff, staff_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    pay(app, rid, "4200000014")
    [request_id] = staff_refund(app, rid, "100", "补偿", staff)

    response = returned_by_hand(staff_client, rid, request_id)

    assert response.status_code == 200 and "这笔退款已经处理过了" in flashes(text_of(response))
    assert rows_of(app, Refund) == []


def test_a_refund_of_another_registration_is_not_found(app, staff, staff_client):
    session_id = paid_session(app)
    rid = book(app, person(app, "王𠮷", 1), session_id)
    other = book(app, person(app, "李䶮", 2), session_id)
    record_transfer(staff_client, other, reference="ICBC-OTHER")
    [request_id] = staff_refund(app, other, "100", "补偿", staff)
    token = csrf_token_from(page(staff_client, rid))

    response = staff_client.post(f"/staff/registrations/{rid}/refunds/{request_id}/returned",
                                 data={f"returned-{request_id}-csrf_token": token,
                                       f"returned-{request_id}-reference": "X1"})

    assert response.status_code == 404
    assert rows_of(app, Refund) == []


# --- who may --------------------------------------------------------------------------------------------

ACTIONS = ["transfer", "refund", "refunds/1/returned"]


@pytest.mark.parametrize("action", ACTIONS)
def test_students_are_refused_and_visitors_sent_to_login(app, client, student_client, action):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))
    token = {"X-CSRFToken": csrf_token_from(text_of(student_client.get("/account/profile")))}

    assert student_client.post(f"/staff/registrations/{rid}/{action}", headers=token).status_code == 403
    token = {"X-CSRFToken": csrf_token_from(text_of(client.get("/account/login")))}
    response = client.post(f"/staff/registrations/{rid}/{action}", headers=token)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert rows_of(app, Payment) == [] and rows_of(app, RefundRequest) == []


def test_admins_record_money_too(app, admin, admin_client):
    rid = book(app, person(app, "王𠮷", 1), paid_session(app))

    assert record_transfer(admin_client, rid).status_code == 302
    assert rows_of(app, Payment)[0].recorded_by_id == admin
