"""The finance page (/admin/finance/) and its export, as an admin reconciling with the providers'
statements reads them: every payment and refund of a range of Shanghai days with its provider, ids,
amount, time and person; totals that are the ledger's (payments minus refunds, exactly, to the fen);
the refunds still to be done; who may open it. On SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.payments import refunds
from app.payments import service as payments
from app.payments.models import Payment, PaymentProvider, Refund
from tests.factories import book, make_person, new_session, pay, settle, staff_refund
from tests.helpers import text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)  # a Shanghai day the ledger below spreads around


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Shanghai wall-clock time, as the UTC timestamp the ledger keeps."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def transfer(app, registration_id: int, reference: str, amount: Decimal, paid_at: datetime, staff_id: int) -> None:
    with app.test_request_context():
        payments.record_transfer(registration_id, reference, amount, paid_at, db.session.get(User, staff_id))
        db.session.remove()


def by_hand(app, request_id: int, reference: str, staff_id: int, when: datetime) -> None:
    with app.test_request_context():
        refunds.record_refund_by_hand(request_id, reference, db.session.get(User, staff_id), now=when)
        db.session.remove()


def give_up(app, request_id: int, error: str) -> None:
    with app.test_request_context():
        refunds.refund_failed(request_id, error, give_up=True)
        db.session.remove()


@pytest.fixture
def ledger(app, staff):
    """Money of every kind around DAY, by WeChat Pay, Alipay and bank transfer, for people whose names
    most fonts lack, in amounts from one fen to ¥3,980.00."""
    camp = new_session(app, capacity=10, price="3980.00", label="第12期")
    cheap = new_session(app, capacity=10, price="0.01", label="体验课")
    people = {name: make_person(app, name, f"1370001{n:04d}", f"p{n}@example.com")
              for n, name in enumerate(["王𠮷", "李䶮", "张三", "赵六", "钱七", "=HYPERLINK(\"x\")"])}
    r = {name: book(app, user, cheap if name == "李䶮" else camp) for name, user in people.items()}
    # 23:59:59 on the day before, in Shanghai (15:59:59 UTC): not DAY's.
    pay(app, r["赵六"], "4200000000", provider=PaymentProvider.WECHAT, paid_at=at(DAY - timedelta(days=1), 23, 59, 59))
    # 00:30 on DAY in Shanghai, still the day before in UTC: DAY's.
    pay(app, r["王𠮷"], "4200000001", provider=PaymentProvider.WECHAT, paid_at=at(DAY, 0, 30))
    pay(app, r["李䶮"], "2026112022001", provider=PaymentProvider.ALIPAY, paid_at=at(DAY, 9, 15, 7))
    pay(app, r["=HYPERLINK(\"x\")"], "4200000005", paid_at=at(DAY, 11))
    transfer(app, r["张三"], "ICBC20261120-0001", Decimal("3980.00"), at(DAY, 0, 0), staff)
    [partial] = staff_refund(app, r["王𠮷"], "980.00", "课程调整补偿", staff)
    settle(app, partial, "50300000001", at=at(DAY, 18, 5))
    [cheap_back] = staff_refund(app, r["李䶮"], "0.01", "体验课退款", staff)
    settle(app, cheap_back, "2026112099001", at=at(DAY, 20))
    [fen_back] = staff_refund(app, r["张三"], "0.01", "找零", staff)
    by_hand(app, fen_back, "ICBC-BACK-1", staff, at(DAY, 23, 59, 59))
    [next_day] = staff_refund(app, r["王𠮷"], "3000.00", "余款", staff)
    settle(app, next_day, "50300000002", at=at(DAY + timedelta(days=1), 0, 0))  # the next day's
    [waiting] = staff_refund(app, r["赵六"], "100.00", "补偿", staff)  # decided, not yet sent: not in the ledger
    [failed] = staff_refund(app, r["赵六"], "200.00", "学员退课", staff)
    give_up(app, failed, "NOT_ENOUGH: 商户余额不足")
    return {"registrations": r, "waiting": waiting, "failed": failed, "people": people}


def ledger_sums(app, first: date, last: date, provider: PaymentProvider | None = None) -> tuple[Decimal, Decimal]:
    """What the ledger's own rows add up to between two Shanghai days (in Python, from every row)."""
    start, end = at(first, 0), at(last + timedelta(days=1), 0)
    with app.app_context():
        paid = [p for p in db.session.scalars(select(Payment)) if start <= p.paid_at < end
                and provider in (None, p.provider)]
        refunded = [r for r in db.session.scalars(select(Refund)) if start <= r.refunded_at < end
                    and provider in (None, r.payment.provider)]
        return sum((p.amount for p in paid), Decimal("0")), sum((r.amount for r in refunded), Decimal("0"))


def read_csv(client, **args) -> list[list[str]]:
    response = client.get("/admin/finance/ledger.csv", query_string=args)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def split(rows: list[list[str]]) -> tuple[list[str], list[list[str]], dict[str, str]]:
    """Header, ledger rows, and the totals under the blank line (label -> amount)."""
    blank = rows.index([])
    return rows[0], rows[1:blank], {row[0]: row[3] for row in rows[blank + 1:]}


def read_xlsx(client, **args):
    response = client.get("/admin/finance/ledger.xlsx", query_string=args)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.get_data())).active


# --- who may ------------------------------------------------------------------------------------

URLS = ["/admin/finance/", "/admin/finance/ledger.csv", "/admin/finance/ledger.xlsx"]


@pytest.mark.parametrize("url", URLS)
def test_only_admins_see_the_money_of_the_whole_site(client, student_client, staff_client, admin_client, url):
    visitor = client.get(url)
    assert visitor.status_code == 302 and "/account/login" in visitor.headers["Location"]
    assert student_client.get(url).status_code == 403
    assert staff_client.get(url).status_code == 403
    assert admin_client.get(url).status_code == 200


# --- the export ------------------------------------------------------------------------------------

def test_the_exports_totals_are_the_ledgers_payments_minus_refunds(app, admin_client, ledger):
    header, rows, totals = split(read_csv(admin_client, **{"from": DAY.isoformat(), "to": DAY.isoformat()}))
    paid, refunded = ledger_sums(app, DAY, DAY)

    assert (paid, refunded) == (Decimal("11940.01"), Decimal("980.02"))  # the fixture's, worked out by hand
    assert header[:4] == ["类型", "时间（北京时间）", "渠道", "金额（元）"]
    amounts = [Decimal(row[3]) for row in rows]
    assert sum(amounts) == paid - refunded
    assert totals == {"收款合计（4 笔）": "11940.01", "退款合计（3 笔）": "-980.02", "净额": "10959.99"}

    sheet = read_xlsx(admin_client, **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    blank = values.index([None] * len(values[0]))
    assert sum(Decimal(str(row[3])) for row in values[1:blank]) == paid - refunded
    assert [(row[0], Decimal(str(row[3]))) for row in values[blank + 1:]] == [
        ("收款合计（4 笔）", paid), ("退款合计（3 笔）", -refunded), ("净额", paid - refunded)]


def test_each_row_says_what_a_providers_statement_is_matched_on(app, admin_client, ledger):
    header, rows, _totals = split(read_csv(admin_client, **{"from": DAY.isoformat(), "to": DAY.isoformat()}))
    column = {name: header.index(name) for name in header}
    by_id = {(row[column["类型"]], row[column["交易号"]], row[column["金额（元）"]]): row for row in rows}
    r = ledger["registrations"]

    wechat = by_id[("收款", "4200000001", "3980.00")]
    assert wechat[column["时间（北京时间）"]] == f"{DAY.isoformat()} 00:30:00"
    assert wechat[column["渠道"]] == "微信支付" and wechat[column["商户订单号"]].startswith("W")
    assert wechat[column["姓名"]] == "王𠮷" and wechat[column["报名编号"]] == str(r["王𠮷"])
    assert wechat[column["课程"]] == "快速玩转小红书成长特训营" and wechat[column["期次"]] == "第12期"
    alipay = by_id[("收款", "2026112022001", "0.01")]
    assert alipay[column["姓名"]] == "李䶮" and alipay[column["渠道"]] == "支付宝"
    assert alipay[column["时间（北京时间）"]] == f"{DAY.isoformat()} 09:15:07" and alipay[column["期次"]] == "体验课"
    bank = by_id[("收款", "ICBC20261120-0001", "3980.00")]
    assert bank[column["渠道"]] == "对公转账" and bank[column["登记人"]] == "李助教"
    assert bank[column["商户订单号"]].startswith("XC")  # the order staff opened for the transfer
    refund = by_id[("退款", "4200000001", "-980.00")]  # the payment it gives back
    assert refund[column["渠道退款号"]] == "50300000001" and refund[column["退款单号"]].startswith("R")
    assert refund[column["商户订单号"]] == wechat[column["商户订单号"]] and refund[column["备注"]] == "课程调整补偿"
    by_hand_row = by_id[("退款", "ICBC20261120-0001", "-0.01")]
    assert by_hand_row[column["渠道退款号"]] == "ICBC-BACK-1" and by_hand_row[column["登记人"]] == "李助教"
    assert by_hand_row[column["时间（北京时间）"]] == f"{DAY.isoformat()} 23:59:59"
    # A name that looks like a formula stays text.
    assert "'=HYPERLINK(\"x\")" in [row[column["姓名"]] for row in rows]
    # Payments by time, then refunds by time.
    assert [row[0] for row in rows] == ["收款"] * 4 + ["退款"] * 3
    assert [row[1] for row in rows[:4]] == sorted(row[1] for row in rows[:4])


def test_a_payment_counts_on_its_shanghai_day(app, admin_client, ledger):
    day_before = split(read_csv(admin_client, **{"from": (DAY - timedelta(days=1)).isoformat(),
                                                 "to": (DAY - timedelta(days=1)).isoformat()}))
    next_day = split(read_csv(admin_client, **{"from": (DAY + timedelta(days=1)).isoformat(),
                                               "to": (DAY + timedelta(days=1)).isoformat()}))

    assert [row[4] for row in day_before[1]] == ["4200000000"]  # 23:59:59 in Shanghai
    assert day_before[1][0][1] == f"{(DAY - timedelta(days=1)).isoformat()} 23:59:59"
    assert [(row[0], row[3]) for row in next_day[1]] == [("退款", "-3000.00")]
    three_days = split(read_csv(admin_client, **{"from": (DAY - timedelta(days=1)).isoformat(),
                                                 "to": (DAY + timedelta(days=1)).isoformat()}))
    paid, refunded = ledger_sums(app, DAY - timedelta(days=1), DAY + timedelta(days=1))
    assert three_days[2]["净额"] == str(paid - refunded) == "11939.99"


@pytest.mark.parametrize(("provider", "label", "net"), [
    ("wechat", "微信支付", "6980.00"), ("alipay", "支付宝", "0.00"), ("bank", "对公转账", "3979.99")])
def test_one_providers_ledger_for_its_statement(app, admin_client, ledger, provider, label, net):
    _header, rows, totals = split(read_csv(admin_client, provider=provider, **{"from": DAY.isoformat(),
                                                                               "to": DAY.isoformat()}))
    paid, refunded = ledger_sums(app, DAY, DAY, PaymentProvider(provider))

    assert {row[2] for row in rows} == {label}
    assert totals["净额"] == str(paid - refunded) == net


def test_the_file_is_named_for_its_range(admin_client, ledger):
    response = admin_client.get("/admin/finance/ledger.xlsx",
                                query_string={"from": "2026-11-01", "to": "2026-11-30", "provider": "alipay"})
    disposition = response.headers["Content-Disposition"]
    assert 'filename="ledger-2026-11-01-2026-11-30-alipay.xlsx"' in disposition
    assert "filename*=UTF-8''%E6%94%B6%E6%94%AF%E6%98%8E%E7%BB%86-2026-11-01-2026-11-30-alipay.xlsx" in disposition
    assert response.headers["Cache-Control"] == "private, no-store"


# --- the page ---------------------------------------------------------------------------------------

def test_the_page_shows_totals_per_provider_the_ledger_and_the_refunds_to_do(app, admin_client, ledger):
    html = text_of(admin_client.get("/admin/finance/", query_string={"from": DAY.isoformat(), "to": DAY.isoformat()}))

    assert '<span class="stat-value">¥11,940.01</span><span class="stat-label">收款 4 笔</span>' in html
    assert "¥980.02" in html and '<span class="stat-value">¥10,959.99</span>' in html
    assert "王𠮷" in html and "李䶮" in html and "4200000001" in html and "ICBC20261120-0001" in html
    open_refunds = html[html.index('id="open-refunds"'):html.index('id="payments"')]
    assert "共 2 笔，¥300.00" in open_refunds
    assert "退款失败，需人工处理" in open_refunds and "商户余额不足" in open_refunds
    failed_badge, waiting_badge = ('<span class="badge badge-failed">退款失败，需人工处理',
                                   '<span class="badge badge-pending">等待原路退回')
    assert open_refunds.index(failed_badge) < open_refunds.index(waiting_badge)  # failed ones first
    registration = ledger["registrations"]["赵六"]
    assert f'/staff/registrations/{registration}#refund-{ledger["failed"]}' in open_refunds
    assert 'href="/admin/finance/ledger.csv?from=2026-11-20&amp;to=2026-11-20"' in html


@pytest.mark.parametrize("args", [
    {"from": "not-a-date"}, {"from": "0001-01-01", "to": "9999-12-31"}, {"provider": "paypal"},
    {"from": "2026-11-30", "to": "2026-11-01"}, {"from": "99999999999999999999"}, {"to": "2026-13-45"},
])
def test_a_range_typed_by_hand_is_a_page_not_an_error(admin_client, ledger, args):
    for url in URLS:
        assert admin_client.get(url, query_string=args).status_code == 200


def test_days_given_the_wrong_way_round_are_swapped(admin_client, ledger):
    swapped = split(read_csv(admin_client, **{"from": (DAY + timedelta(days=1)).isoformat(),
                                              "to": (DAY - timedelta(days=1)).isoformat()}))
    assert swapped[2]["净额"] == "11939.99"


def test_a_nul_in_the_query_string_is_refused(admin_client):
    assert admin_client.get("/admin/finance/?from=2026-11-01%00").status_code == 400
