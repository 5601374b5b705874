"""Demo 发票 requests on the 小红书 camp's paid seats, made through the invoices service: one
company's invoice waiting for staff (a seat of the upcoming camp), one issued with its PDF (the
demo student's seat of the finished 2025 cohort, so student@example.com can download it)."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A5, landscape
from reportlab.pdfgen import canvas
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.common.fonts import pdf_fonts
from app.common.money import format_money
from app.common.time import site_zone, utcnow
from app.extensions import db
from app.invoices import service
from app.invoices.models import InvoiceKind, InvoiceRequest
from app.invoices.service import InvoiceDetails

# Made-up companies with well-formed 统一社会信用代码 (their check characters are right).
WAITING = InvoiceDetails(InvoiceKind.COMPANY, "杭州晓燕电子商务有限公司", "91330108MA27YL4D84",
                         "caiwu@xiaoyan.example.com")
ISSUED = InvoiceDetails(InvoiceKind.COMPANY, "杭州喆然网络科技有限公司", "91330106MA2H3K7Q5U",
                        "finance@zheran.example.com")


def seed_invoices(xhs_slug: str, demo_student: User, staff: User) -> int:
    """The two requests, unless their registrations have one already; how many were made."""
    made = 0
    camps = list(db.session.scalars(select(CampSession).join(Course).where(Course.slug == xhs_slug)
                                    .order_by(CampSession.starts_at)))
    finished, upcoming = camps[0], camps[-1]
    waiting_seat = _first_paid_seat(upcoming)
    if waiting_seat is not None and not _has_request(waiting_seat):
        service.request_invoice(waiting_seat.id, waiting_seat.user, WAITING)
        made += 1
    issued_seat = _first_paid_seat(finished, user=demo_student)
    if issued_seat is not None and not _has_request(issued_seat):
        request = service.request_invoice(issued_seat.id, demo_student, ISSUED)
        upload = FileStorage(io.BytesIO(demo_invoice_pdf(request)), filename="发票.pdf", content_type="application/pdf")
        service.issue_invoice(request.id, upload, "24332000000012345678", staff)
        made += 1
    return made


def _first_paid_seat(camp: CampSession, user: User | None = None) -> Registration | None:
    query = select(Registration).where(Registration.session_id == camp.id,
                                       Registration.status == RegistrationStatus.CONFIRMED,
                                       Registration.amount_paid > Registration.amount_refunded)
    if user is not None:
        query = query.where(Registration.user_id == user.id)
    return db.session.scalar(query.order_by(Registration.id).limit(1))


def _has_request(registration: Registration) -> bool:
    return db.session.scalar(select(InvoiceRequest.id).where(InvoiceRequest.registration_id == registration.id)
                             .limit(1)) is not None


def demo_invoice_pdf(request: InvoiceRequest) -> bytes:
    """A small stand-in for the tax platform's 电子发票 PDF (the real one is downloaded from it)."""
    buffer = io.BytesIO()
    width, height = landscape(A5)
    page = canvas.Canvas(buffer, pagesize=(width, height))
    page.setFont(pdf_fonts().main, 16)
    page.drawCentredString(width / 2, height - 50, "电子发票（普通发票）· 演示")
    page.setFont(pdf_fonts().main, 10)
    lines = [f"发票号码：24332000000012345678    开票日期：{utcnow().astimezone(site_zone()):%Y年%m月%d日}",
             f"购买方名称：{request.title}", f"统一社会信用代码/纳税人识别号：{request.tax_id}",
             f"项目名称：*培训服务*{request.registration.session.course.title}",
             f"价税合计：{format_money(request.amount)}", "（演示数据，不是真实发票）"]
    for number, line in enumerate(lines):
        page.drawString(40, height - 90 - number * 22, line)
    page.showPage()
    page.save()
    return buffer.getvalue()
