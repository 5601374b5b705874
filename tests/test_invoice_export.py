"""The finance export lists the 发票 requests of its days (asked for or issued then): a CSV of their
own and the XLSX's second sheet, each row with its registration, person, kind, 抬头, 税号, amount,
status and time of issue, and their totals; the ledger's sheet and totals stay what they were. On
SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.extensions import db
from app.invoices import service
from app.invoices.models import InvoiceKind
from app.invoices.service import InvoiceDetails
from tests.factories import book, make_person, new_session, pay
from tests.test_finance_export import DAY, at
from tests.test_invoices import TAX_ID, invoice_pdf

RANGE = {"from": DAY.isoformat(), "to": DAY.isoformat()}


def ask(app, registration_id: int, user_id: int, kind: InvoiceKind, title: str, tax_id: str, when) -> int:
    with app.test_request_context():
        made = service.request_invoice(registration_id, db.session.get(User, user_id),
                                       InvoiceDetails(kind, title, tax_id, "caiwu@example.com"), now=when).id
        db.session.remove()
        return made


def issue(app, request_id: int, staff_id: int, when, number: str) -> None:
    with app.test_request_context():
        upload = FileStorage(io.BytesIO(invoice_pdf()), filename="发票.pdf")
        service.issue_invoice(request_id, upload, number, db.session.get(User, staff_id), now=when)
        db.session.remove()


@pytest.fixture
def invoices(app, staff):
    """Four paid seats: a company invoice asked the day before and issued on DAY, a personal one
    asked on DAY and waiting, one asked on DAY whose 抬头 looks like a formula, one asked and issued
    the day after (not DAY's)."""
    camp = new_session(app, capacity=10, price="3980.00", label="第12期")
    people = {name: make_person(app, name, f"1370002{n:04d}", f"i{n}@example.com")
              for n, name in enumerate(["王𠮷", "李䶮", "张三", "赵六"])}
    r = {}
    for n, (name, user) in enumerate(people.items()):
        r[name] = book(app, user, camp)
        pay(app, r[name], f"42000001{n}", paid_at=at(DAY - timedelta(days=2), 10))
    company = ask(app, r["王𠮷"], people["王𠮷"], InvoiceKind.COMPANY, "杭州𠮷祥科技有限公司", TAX_ID,
                  at(DAY - timedelta(days=1), 23, 59, 59))
    issue(app, company, staff, at(DAY, 0, 30), "24332000000012345678")
    ask(app, r["李䶮"], people["李䶮"], InvoiceKind.PERSONAL, "李䶮", "", at(DAY, 9))
    ask(app, r["张三"], people["张三"], InvoiceKind.PERSONAL, "=HYPERLINK(\"x\")", "", at(DAY, 10))
    later = ask(app, r["赵六"], people["赵六"], InvoiceKind.PERSONAL, "赵六", "", at(DAY + timedelta(days=1), 0, 0))
    issue(app, later, staff, at(DAY + timedelta(days=1), 1), "")
    return r


def read_csv(client, url: str, **args) -> list[list[str]]:
    response = client.get(url, query_string=args)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "private, no-store"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_invoice_csv_lists_the_days_requests_with_what_finance_matches_on(admin_client, invoices):
    rows = read_csv(admin_client, "/admin/finance/invoices.csv", **RANGE)
    blank = rows.index([])
    header, listed, totals = rows[0], rows[1:blank], rows[blank + 1:]
    column = {name: header.index(name) for name in header}

    assert [row[column["抬头"]] for row in listed] == ["杭州𠮷祥科技有限公司", "李䶮", "'=HYPERLINK(\"x\")"]
    company = listed[0]
    assert company[column["类型"]] == "企业" and company[column["税号"]] == TAX_ID
    assert company[column["状态"]] == "已开票" and company[column["开票时间"]] == f"{DAY.isoformat()} 00:30:00"
    assert company[column["申请时间（北京时间）"]] == f"{(DAY - timedelta(days=1)).isoformat()} 23:59:59"
    assert company[column["发票号码"]] == "24332000000012345678" and company[column["开票人"]] == "李助教"
    assert company[column["报名编号"]] == str(invoices["王𠮷"]) and company[column["姓名"]] == "王𠮷"
    assert company[column["课程"]] == "快速玩转小红书成长特训营" and company[column["期次"]] == "第12期"
    assert company[column["金额（元）"]] == "3980.00" and company[column["接收邮箱"]] == "caiwu@example.com"
    assert listed[1][column["状态"]] == "待开票" and listed[1][column["开票时间"]] == ""
    assert [(row[0], row[column["金额（元）"]]) for row in totals] == [
        ("已开票合计（1 张）", "3980.00"), ("待开票合计（2 张）", "7960.00")]


def test_the_xlsx_has_the_requests_on_a_second_sheet_and_the_ledger_unchanged(app, admin_client, invoices):
    response = admin_client.get("/admin/finance/ledger.xlsx", query_string=RANGE)
    workbook = load_workbook(io.BytesIO(response.get_data()))

    assert workbook.sheetnames == ["收支明细", "发票"]
    assert workbook.active.title == "收支明细"
    sheet = [[cell.value for cell in row] for row in workbook["发票"].iter_rows()]
    blank = sheet.index([None] * len(sheet[0]))
    assert [row[6] for row in sheet[1:blank]] == ["杭州𠮷祥科技有限公司", "李䶮", "=HYPERLINK(\"x\")"]
    assert workbook["发票"]["G4"].data_type == "s"  # a formula-looking 抬头 stays text
    assert [(row[0], Decimal(str(row[8]))) for row in sheet[blank + 1:]] == [
        ("已开票合计（1 张）", Decimal("3980.00")), ("待开票合计（2 张）", Decimal("7960.00"))]
    # The ledger's sheet has the money, not the invoices: the payments were two days before DAY.
    ledger = [[cell.value for cell in row] for row in workbook["收支明细"].iter_rows()]
    assert [row[0] for row in ledger[2:]] == ["收款合计（0 笔）", "退款合计（0 笔）", "净额"]


def test_the_finance_page_links_the_waiting_requests_and_the_export(admin_client, invoices):
    html = admin_client.get("/admin/finance/", query_string=RANGE).get_data(as_text=True)
    section = html[html.index('id="invoices"'):html.index('id="open-refunds"')]

    assert "待开票 2 张" in section and 'href="/staff/invoices/"' in section
    assert f'href="/admin/finance/invoices.csv?from={DAY.isoformat()}&amp;to={DAY.isoformat()}"' in section


def test_the_invoice_export_is_for_admins_and_named_for_its_range(client, staff_client, admin_client):
    assert client.get("/admin/finance/invoices.csv").status_code == 302
    assert staff_client.get("/admin/finance/invoices.csv").status_code == 403
    response = admin_client.get("/admin/finance/invoices.csv", query_string={"from": "2026-11-01", "to": "2026-11-30",
                                                                             "provider": "alipay"})
    disposition = response.headers["Content-Disposition"]
    assert 'filename="invoices-2026-11-01-2026-11-30.csv"' in disposition
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8%E7%94%B3%E8%AF%B7-2026-11-01-2026-11-30.csv" in disposition
