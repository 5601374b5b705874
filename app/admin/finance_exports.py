"""The ledger as a file to reconcile with the providers' statements (WeChat Pay's and Alipay's
bills, the bank's): every payment, then every refund, of a range of Shanghai days, CSV (streamed)
or XLSX, each with its provider, its ids on both sides, its amount, its time in Shanghai, and the
registration, person and session it was for; then the totals. The 发票 requests of the same days
(asked for or issued then) are a second sheet of the XLSX and a CSV of their own: an invoice is
no money in or out, so it never counts in the ledger's totals.

The totals are added up from the very rows written (exact Decimal yuan), so the file always
agrees with itself: 收款合计 − 退款合计 = 净额 = the sum of the 金额 column above them (refunds
are written negative). Rows are streamed from one query per kind (yield_per), like the roster's.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.admin.finance_queries import ZERO, LedgerRange, ProviderTotals, payment_rows, refund_rows
from app.common.time import site_zone
from app.extensions import db
from app.invoices import queries as invoice_queries
from app.invoices.models import InvoiceStatus, status_label
from app.payments.models import Payment, PaymentProvider, Refund
from app.roster.exports import csv_stream, xlsx_cell

BATCH_SIZE = 500


def ledger_header() -> list[str]:
    return [_("类型"), _("时间（北京时间）"), _("渠道"), _("金额（元）"), _("交易号"), _("商户订单号"), _("退款单号"),
            _("渠道退款号"), _("报名编号"), _("姓名"), _("手机号"), _("课程"), _("期次"), _("开课日期"), _("登记人"),
            _("备注")]


@dataclass(frozen=True)
class LedgerLine:
    kind: str  # 收款 / 退款
    at: str  # Shanghai time, to the second (what the providers' bills show)
    provider: str
    amount: Decimal  # a refund's is negative: the column adds up to the net
    transaction_id: str  # the payment's (a refund's: the payment it gives back)
    out_trade_no: str
    out_refund_no: str
    provider_refund_id: str
    registration_id: int
    name: str
    phone: str
    course: str
    session_label: str
    session_starts: str
    recorded_by: str
    note: str

    def values(self) -> list:
        return [self.kind, self.at, self.provider, self.amount, self.transaction_id, self.out_trade_no,
                self.out_refund_no, self.provider_refund_id, self.registration_id, self.name, self.phone,
                self.course, self.session_label, self.session_starts, self.recorded_by, self.note]


class LedgerSums(ProviderTotals):
    """What the ledger's lines add up to, written under them."""

    def rows(self) -> list[list]:
        """The lines under the ledger: label in 类型, amount in 金额 (a refund's total negative)."""
        return [
            [_("收款合计（%(n)s 笔）", n=self.payments), "", "", self.paid],
            [_("退款合计（%(n)s 笔）", n=self.refunds), "", "", -self.refunded],
            [_("净额"), "", "", self.net],
        ]


def ledger_lines(ledger_range: LedgerRange, sums: LedgerSums,
                 batch_size: int = BATCH_SIZE) -> Iterator[list[LedgerLine]]:
    """The range's payments (by time), then its refunds (by time), in batches; `sums` is added up
    as they go."""
    zone = site_zone()
    labels = {provider: provider.label for provider in PaymentProvider}
    kinds = (
        (_("收款"), payment_rows(ledger_range).order_by(Payment.paid_at, Payment.id), 1),
        (_("退款"), refund_rows(ledger_range).order_by(Refund.refunded_at, Refund.id), -1),
    )
    for kind, query, sign in kinds:
        for batch in db.session.execute(query.execution_options(yield_per=batch_size)).partitions():
            lines = []
            for row in batch:
                sums.add(row.amount, refund=sign < 0)
                lines.append(LedgerLine(
                    kind=kind, at=row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    provider=labels[row.provider], amount=row.amount * sign, transaction_id=row.transaction_id,
                    out_trade_no=row.out_trade_no or "", out_refund_no=row.out_refund_no or "",
                    provider_refund_id=row.provider_refund_id or "", registration_id=row.registration_id,
                    name=row.name or "", phone=row.phone or "", course=row.course,
                    session_label=row.session_label or "",
                    session_starts=row.starts_at.astimezone(zone).date().isoformat(),
                    recorded_by=row.recorded_by or "", note=row.note or ""))
            yield lines


def export_filename(ledger_range: LedgerRange, extension: str, what: str = "ledger") -> str:
    provider = f"-{ledger_range.provider.value}" if ledger_range.provider and what == "ledger" else ""
    return f"{what}-{ledger_range.first.isoformat()}-{ledger_range.last.isoformat()}{provider}.{extension}"


# --- 发票 requests ------------------------------------------------------------------------------

def invoice_header() -> list[str]:
    return [_("申请编号"), _("申请时间（北京时间）"), _("状态"), _("开票时间"), _("发票号码"), _("类型"), _("抬头"),
            _("税号"), _("金额（元）"), _("接收邮箱"), _("报名编号"), _("姓名"), _("手机号"), _("课程"), _("期次"),
            _("开票人"), _("退回或作废原因")]


INVOICE_AMOUNT_COLUMN = 8  # 金额（元）, where the totals' amounts go


@dataclass
class InvoiceSums:
    """The listed requests' amounts by where they stand: issued, and waiting (cancelled ones are
    listed but invoice nothing)."""

    issued: int = 0
    issued_amount: Decimal = ZERO
    waiting: int = 0
    waiting_amount: Decimal = ZERO

    def add(self, status: InvoiceStatus, amount: Decimal) -> None:
        if status is InvoiceStatus.ISSUED:
            self.issued, self.issued_amount = self.issued + 1, self.issued_amount + amount
        elif status is InvoiceStatus.REQUESTED:
            self.waiting, self.waiting_amount = self.waiting + 1, self.waiting_amount + amount

    def rows(self) -> list[list]:
        pad = [""] * (INVOICE_AMOUNT_COLUMN - 1)
        return [[_("已开票合计（%(n)s 张）", n=self.issued), *pad, self.issued_amount],
                [_("待开票合计（%(n)s 张）", n=self.waiting), *pad, self.waiting_amount]]


def invoice_lines(ledger_range: LedgerRange, sums: InvoiceSums, batch_size: int = BATCH_SIZE) -> Iterator[list[list]]:
    """The range's 发票 requests (asked for or issued in it; every provider's), by the time they
    were asked for, in batches of rows in invoice_header()'s order."""
    zone = site_zone()

    def local(moment) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    query = invoice_queries.export_rows(*ledger_range.utc_bounds()).execution_options(yield_per=batch_size)
    for batch in db.session.execute(query).partitions():
        rows = []
        for row in batch:
            sums.add(row.status, row.amount)
            rows.append([row.id, local(row.created_at), status_label(row.status, row.issued_at), local(row.issued_at),
                         row.invoice_number, row.kind.label, row.title, row.tax_id, row.amount, row.email,
                         _subject(row), row.name or "", row.phone or "", row.course, row.session_label or "",
                         row.issued_by or "", row.cancel_reason])
        yield rows


def _subject(row) -> int | str:
    """The registration a request invoices, or its group (团体报名 #3, the booker's name beside it)."""
    if row.registration_id is not None:
        return row.registration_id
    return _("团体报名 #%(id)s", id=row.group_booking_id)


def invoices_csv(ledger_range: LedgerRange) -> Iterator[bytes]:
    """The range's 发票 requests as UTF-8 CSV with a BOM (as the ledger's), their totals last."""
    sums = InvoiceSums()
    return csv_stream(invoice_header(), invoice_lines(ledger_range, sums), sums.rows)


# --- CSV -------------------------------------------------------------------------------------

def ledger_csv(ledger_range: LedgerRange) -> Iterator[bytes]:
    """UTF-8 with a BOM, one chunk per batch of rows, the totals last (roster.exports.csv_stream:
    amounts as 3980.00 / -980.00, which a spreadsheet reads as numbers; names never run as formulas)."""
    sums = LedgerSums()
    batches = ([line.values() for line in lines] for lines in ledger_lines(ledger_range, sums))
    return csv_stream(ledger_header(), batches, sums.rows)


# --- XLSX ------------------------------------------------------------------------------------

# Column widths in characters, in the order of ledger_header() (a Chinese character counts about two).
_XLSX_WIDTHS = (8, 20, 10, 12, 30, 26, 28, 30, 9, 12, 14, 28, 10, 12, 10, 30)
# And of invoice_header().
_XLSX_INVOICE_WIDTHS = (9, 20, 8, 20, 22, 6, 36, 22, 12, 26, 9, 12, 14, 28, 10, 10, 30)


def ledger_xlsx(ledger_range: LedgerRange) -> IO[bytes]:
    """The ledger as an .xlsx file (write-only, rows streamed to a temporary file), rewound."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("收支明细"))
    for index, width in enumerate(_XLSX_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_styled(sheet, title, bold) for title in ledger_header()])
    sums = LedgerSums()
    count = 0
    for lines in ledger_lines(ledger_range, sums):
        for line in lines:
            sheet.append([xlsx_cell(sheet, value) for value in line.values()])
        count += len(lines)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(_XLSX_WIDTHS))}{count + 1}"
    sheet.append([])
    for row in sums.rows():
        sheet.append([_styled(sheet, value, bold) if value != "" else None for value in row])
    _invoice_sheet(workbook, ledger_range, bold)
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  (returned open: send_file closes it)
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def _invoice_sheet(workbook: Workbook, ledger_range: LedgerRange, bold: Font) -> None:
    """The second sheet: the range's 发票 requests, then their totals."""
    sheet = workbook.create_sheet(title=_("发票"))
    for index, width in enumerate(_XLSX_INVOICE_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_styled(sheet, title, bold) for title in invoice_header()])
    sums = InvoiceSums()
    count = 0
    for rows in invoice_lines(ledger_range, sums):
        for row in rows:
            sheet.append([xlsx_cell(sheet, value) for value in row])
        count += len(rows)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(_XLSX_INVOICE_WIDTHS))}{count + 1}"
    sheet.append([])
    for row in sums.rows():
        sheet.append([_styled(sheet, value, bold) if value != "" else None for value in row])


def _styled(sheet, value, font: Font) -> Cell:
    cell = xlsx_cell(sheet, value)
    if not isinstance(cell, Cell):
        cell = WriteOnlyCell(sheet, value=cell)
    cell.font = font
    return cell
