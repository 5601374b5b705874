"""The roster of one session as rows for staff to take away: CSV (streamed) and XLSX.

Built for sessions of thousands of registrations without holding them in memory: the rows come
from one query (registrations joined to their people), read in batches (`yield_per`), with the
attendance and the registration questions' answers of each batch fetched by one `IN` query each;
waitlist positions are counted in the same pass (the waitlisted rows arrive in waitlist order), not
asked of the database row by row. The printable sign-in sheet is app/roster/signin_sheet.py.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration, RegistrationStatus
from app.booking.tickets import format_ticket_code
from app.catalog.models import CampSession
from app.common.money import plain_amount
from app.common.time import site_zone, utcnow
from app.extensions import db
from app.roster.answers import AnswerColumn, answer_columns, answer_texts
from app.roster.display import source_label
from app.roster.models import Attendance
from app.roster.payment_state import payment_state
from app.roster.queries import ROSTER_STATUS_ORDER, session_sources, source_articles
from app.roster.service import session_days, status_label

BATCH_SIZE = 500
PRESENT = "✓"
UTF8_BOM = "\ufeff"  # without it Excel reads a CSV as the local ANSI code page and garbles Chinese

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection): a name or
# an email address typed by a student must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def session_for_export(session_id: int) -> CampSession | None:
    return db.session.get(CampSession, session_id, options=[joinedload(CampSession.course)])


def parse_status(value: str | None) -> RegistrationStatus | None:
    """The roster page's `status=` filter: confirmed / waitlisted / cancelled; `all`, empty or
    anything unknown is everyone, as on the roster page itself."""
    try:
        return RegistrationStatus(value)
    except ValueError:
        return None


def day_heading(day: date) -> str:
    return _("%(month)d月%(day)d日 签到", month=day.month, day=day.day)


def export_filename(camp: CampSession, what: str, extension: str) -> str:
    """快速玩转小红书成长特训营-第12期-2026-09-17-名单.csv"""
    first_day, _last = camp.local_dates()
    parts = [camp.course.title, camp.label, first_day.isoformat(), what]
    name = "-".join(_UNSAFE_IN_FILENAME.sub("_", part).strip() for part in parts if part)
    return f"{name}.{extension}"


def group_label(group_id: int | None, booker_name: str | None) -> str:
    """A registration's group as the exports write it (the roster page says the same words)."""
    if group_id is None:
        return ""
    return _("团体 #%(id)s（%(name)s 代报）", id=group_id, name=booker_name or "")


@dataclass(frozen=True)
class RosterRow:
    name: str
    phone: str
    email: str
    status: str
    waitlist_position: int | None
    booked_at: str  # Shanghai time
    source: str
    group: str  # 团体报名: "团体 #12（赵经理代报）", "" for a booking of one's own
    ticket_code: str
    # Money (app/roster/payment_state.py): None for a registration that never held any (a free one).
    amount_due: Decimal | None
    amount_paid: Decimal | None
    amount_refunded: Decimal | None
    payment_status: str  # 待支付, 候补名额待支付, 已支付, 部分退款, 已退款, 已过期 or ""
    answers: tuple[str, ...]  # the registration questions' answers, one per answer column ("": none)
    attendance: tuple[str, ...]  # ✓ or "" per session day

    def values(self) -> list:
        return [self.name, self.phone, self.email, self.status, self.waitlist_position, self.booked_at,
                self.source, self.group, self.ticket_code, self.amount_due, self.amount_paid, self.amount_refunded,
                self.payment_status, *self.answers, *self.attendance]


def roster_header(camp: CampSession, columns: list[AnswerColumn]) -> list[str]:
    """The columns: the person and the booking, the money, one per registration question (as asked:
    answer_columns), one per day."""
    return [_("姓名"), _("手机号"), _("邮箱"), _("状态"), _("候补顺位"), _("报名时间"), _("来源"), _("团体报名"),
            _("票码"), _("应付金额"), _("已付金额"), _("已退金额"), _("支付状态"),
            *(column.label for column in columns), *(day_heading(day) for day in session_days(camp))]


def roster_batches(camp: CampSession, status: RegistrationStatus | None = None, batch_size: int = BATCH_SIZE,
                   columns: list[AnswerColumn] | None = None) -> Iterator[list[RosterRow]]:
    """The session's registrations as rows, `batch_size` at a time, in roster order: one streamed
    query for the rows, plus one attendance query and one answers query per batch, whatever the
    batch's size. `columns`: the answer columns (default: the session's, answer_columns)."""
    days = session_days(camp)
    columns = answer_columns(camp.id) if columns is None else columns
    zone = site_zone()
    statuses = {member: status_label(member) for member in RegistrationStatus}
    # Every source named once, up front: two queries (the session's distinct sources, then their
    # articles' titles), not one per row or per batch.
    articles = source_articles(session_sources(camp.id), utcnow())
    sources: dict[str, str] = {}
    booker = aliased(User)
    query = (
        select(Registration.id, Registration.status, Registration.waitlist_number, Registration.ticket_code,
               Registration.source, Registration.created_at, Registration.amount_due, Registration.amount_paid,
               Registration.amount_refunded, Registration.hold_expires_at, User.name, User.phone, User.email,
               Registration.group_id, booker.name.label("booker_name"))
        .join(User, User.id == Registration.user_id)
        .outerjoin(GroupBooking, GroupBooking.id == Registration.group_id)
        .outerjoin(booker, booker.id == GroupBooking.booker_id)
        .where(Registration.session_id == camp.id)
        .order_by(ROSTER_STATUS_ORDER, Registration.waitlist_number, Registration.created_at, Registration.id)
        # Streams: a server-side cursor on PostgreSQL, row by row from SQLite.
        .execution_options(yield_per=batch_size)
    )
    if status is not None:
        query = query.where(Registration.status == status)
    waitlisted_so_far = 0  # the position is the rank among waitlisted rows, which come in waitlist order
    for batch in db.session.execute(query).partitions():
        present = _days_present([row.id for row in batch])
        given = answer_texts([row.id for row in batch]) if columns else {}
        rows = []
        for row in batch:
            position = None
            if row.status is RegistrationStatus.WAITLISTED:
                waitlisted_so_far += 1
                position = waitlisted_so_far
            if row.source not in sources:
                sources[row.source] = source_label(row.source, articles)
            attended = present.get(row.id, ())
            money = payment_state(row.status, row.amount_due, row.amount_paid, row.amount_refunded,
                                  row.hold_expires_at)
            free = row.amount_due is None and not money.paid
            rows.append(RosterRow(
                name=row.name or "",
                phone=row.phone or "",
                email=row.email or "",
                status=statuses[row.status],
                waitlist_position=position,
                booked_at=row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                source=sources[row.source],
                group=group_label(row.group_id, row.booker_name),
                ticket_code=format_ticket_code(row.ticket_code),
                amount_due=row.amount_due,
                amount_paid=None if free else money.paid,
                amount_refunded=None if free else money.refunded,
                payment_status=money.label,
                answers=tuple(given.get(row.id, {}).get(column.question_id, "") for column in columns),
                attendance=tuple(PRESENT if day in attended else "" for day in days),
            ))
        yield rows


def _days_present(registration_ids: list[int]) -> dict[int, set[date]]:
    present: dict[int, set[date]] = defaultdict(set)
    if registration_ids:
        for registration_id, day in db.session.execute(
            select(Attendance.registration_id, Attendance.day).where(Attendance.registration_id.in_(registration_ids))
        ):
            present[registration_id].add(day)
    return present


# --- CSV -------------------------------------------------------------------------------------

def text_cell(value):
    """A student's text as a spreadsheet shows it, never run as a formula (OWASP: prefix a quote)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_cell(value):
    """A value as a CSV cell: text never run as a formula, an amount as 3980.00 (no ¥, no separators:
    a spreadsheet reads it as a number), None as an empty cell."""
    if isinstance(value, Decimal):
        return plain_amount(value)
    return text_cell(value)


def csv_stream(header: list[str], batches: Iterable[list[list]],
               footer: Callable[[], list[list]] = list) -> Iterator[bytes]:
    """A spreadsheet as UTF-8 CSV with a BOM (Excel reads Chinese right), streamed: the header, one
    chunk per batch of rows (a few dozen kB each), then `footer()`'s rows after an empty line, if
    any (asked once the batches are through: totals added up as they went)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    buffer.write(UTF8_BOM)
    writer.writerow(header)
    yield flush()
    for rows in batches:
        writer.writerows([csv_cell(value) for value in row] for row in rows)
        yield flush()
    closing = footer()
    if closing:
        writer.writerow([])
        writer.writerows([csv_cell(value) for value in row] for row in closing)
        yield flush()


def roster_csv(camp: CampSession, status: RegistrationStatus | None = None) -> Iterator[bytes]:
    """The roster as UTF-8 CSV with a BOM, one chunk per batch of rows."""
    columns = answer_columns(camp.id)
    batches = ([list(row.values()) for row in rows] for rows in roster_batches(camp, status, columns=columns))
    return csv_stream(roster_header(camp, columns), batches)


# --- XLSX ------------------------------------------------------------------------------------

# Column widths in characters (a Chinese character counts about two): 姓名, 手机号, 邮箱, 状态,
# 候补顺位, 报名时间, 来源, 团体报名, 票码, 应付金额, 已付金额, 已退金额, 支付状态, then one per registration
# question and one per day.
_XLSX_WIDTHS = (14, 14, 28, 8, 10, 18, 14, 20, 17, 11, 11, 11, 14)
_XLSX_ANSWER_WIDTH = 20
# Amounts as numbers a spreadsheet can add up, shown with two decimals.
AMOUNT_FORMAT = "#,##0.00"
_XLSX_DAY_WIDTH = 14


def roster_xlsx(camp: CampSession, status: RegistrationStatus | None = None) -> IO[bytes]:
    """The roster as an .xlsx file, rewound and ready to send (deleted when closed).

    openpyxl's write-only mode streams each row to a temporary file instead of keeping a cell
    object per value, so memory stays flat however long the roster is."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("名单"))
    columns = answer_columns(camp.id)
    header = roster_header(camp, columns)
    widths = (*_XLSX_WIDTHS, *[_XLSX_ANSWER_WIDTH] * len(columns),
              *[_XLSX_DAY_WIDTH] * (len(header) - len(_XLSX_WIDTHS) - len(columns)))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for title in header:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for rows in roster_batches(camp, status, columns=columns):
        for row in rows:
            sheet.append([xlsx_cell(sheet, value) for value in row.values()])
        count += len(rows)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count + 1}"
    file = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115  (returned open: send_file closes it)
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def xlsx_cell(sheet, value):
    """A value as a write-only sheet's cell: nothing for an empty one, an amount as a number shown
    with two decimals, text as text (never a formula)."""
    if value == "" or value is None:
        return None  # an empty cell, not an empty string: nothing written for it
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = AMOUNT_FORMAT
        return cell
    # openpyxl stores any string starting with "=" as a formula; keep such a value as plain text.
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
