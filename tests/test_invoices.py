"""发票 requests as a student makes them and staff issue them: who may ask (a paid registration's
person, once at a time), what they type (个人 or 企业, 抬头 exactly as typed, 税号 as pasted from
WeChat and checked), who may see and download the PDF, staff issuing it with a real PDF (and
nothing else), sending it back or voiding it, and the email and audit entry of each change. On
SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import io
from decimal import Decimal

import pytest
from pypdf import PdfWriter
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.booking.models import Registration
from app.extensions import db
from app.invoices import service, tax_ids
from app.invoices.errors import AlreadyIssued, AlreadyRequested, InvoiceRequestNotFound, NotRequested
from app.invoices.models import InvoiceKind, InvoiceRequest, InvoiceStatus
from app.invoices.service import InvoiceDetails
from app.mail.models import OutboxMessage
from tests.factories import book, make_user, new_session, pay, png_bytes, settle, staff_refund
from tests.helpers import client_of, csrf_token_from, field_errors, outbox_messages, run_together, submit_form, text_of

COMPANY = "杭州玺承网络科技有限公司"
TAX_ID = "91330100716105852F"  # a real 统一社会信用代码 (its check character is right)


def invoice_pdf(text: str = "Invoice No. 24332000000012345678") -> bytes:
    """A one-page PDF, as the tax platform's download is (reportlab, like the site's own PDFs)."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture
def paid(app, student):
    """The student's registration for a ¥3,980.00 camp, paid by WeChat Pay."""
    session_id = new_session(app, price="3980.00", label="第12期")
    registration_id = book(app, student, session_id)
    pay(app, registration_id, "4200000001")
    return registration_id


def form_url(registration_id: int) -> str:
    return f"/me/registrations/{registration_id}/invoice"


def ask(client, registration_id: int, **fields):
    data = {"kind": "personal", "title": "张喆", "tax_id": "", "email": "student@example.com", **fields}
    return submit_form(client, form_url(registration_id), data)


def requests_of(app, registration_id: int) -> list[InvoiceRequest]:
    with app.app_context():
        found = list(db.session.scalars(select(InvoiceRequest).where(InvoiceRequest.registration_id == registration_id)
                                        .order_by(InvoiceRequest.id)))
        for request in found:
            db.session.expunge(request)
        return found


def audit_actions(app, registration_id: int) -> list[AuditAction]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.registration_id == registration_id)
                                       .order_by(AuditEntry.id)))


def invoice_emails(app) -> list:
    return [m for m in outbox_messages(app) if m.subject.startswith(("发票", "发票申请"))]


def issue(app, request_id: int, staff_id: int, data: bytes | None = None, number: str = "") -> None:
    from werkzeug.datastructures import FileStorage

    with app.test_request_context():
        upload = FileStorage(io.BytesIO(data or invoice_pdf()), filename="发票.pdf", content_type="application/pdf")
        service.issue_invoice(request_id, upload, number, db.session.get(User, staff_id))
        db.session.remove()


def request_as(app, registration_id: int, user_id: int, **fields) -> int:
    details = {"kind": InvoiceKind.COMPANY, "title": COMPANY, "tax_id": TAX_ID, "email": "caiwu@example.com", **fields}
    with app.test_request_context():
        made = service.request_invoice(registration_id, db.session.get(User, user_id), InvoiceDetails(**details))
        request_id = made.id
        db.session.remove()
    return request_id


# --- asking ---------------------------------------------------------------------------------------

def test_a_student_asks_for_a_personal_invoice_of_what_they_paid(app, student_client, paid):
    page = student_client.get("/me/registrations")
    assert f'href="/me/registrations/{paid}/invoice"' in text_of(page) and "申请发票" in text_of(page)
    form = text_of(student_client.get(form_url(paid)))
    assert 'value="student@example.com"' in form and 'value="张喆"' in form  # the account's, to start from

    response = ask(student_client, paid)

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/me/registrations#r{paid}")
    [made] = requests_of(app, paid)
    assert (made.kind, made.title, made.tax_id, made.email) == (InvoiceKind.PERSONAL, "张喆", "", "student@example.com")
    assert made.amount == Decimal("3980.00") and made.status is InvoiceStatus.REQUESTED
    assert audit_actions(app, paid)[-1] is AuditAction.INVOICE_REQUEST
    assert "发票待开具" in text_of(student_client.get("/me/registrations"))


@pytest.mark.parametrize("typed", [
    TAX_ID,
    "９１３３０１００７１６１０５８５２Ｆ",  # full-width, from a Chinese keyboard
    "91330100716105852f",  # lower case
    " 9133 0100 7161 0585 2F ",  # in groups, as a 开票信息 card prints it
    "913301\u200b00716105852F\u3000",  # a zero-width space and an ideographic space from a WeChat copy
    "税号：91330100716105852F",  # the label copied along
    "9133-0100-7161-0585-2F",
])
def test_a_company_tax_id_is_stored_as_the_tax_platform_knows_it(app, student_client, paid, typed):
    response = ask(student_client, paid, kind="company", title=COMPANY, tax_id=typed, email="caiwu@example.com")

    assert response.status_code == 302, field_errors(response)
    [made] = requests_of(app, paid)
    assert (made.kind, made.title, made.tax_id) == (InvoiceKind.COMPANY, COMPANY, TAX_ID)


@pytest.mark.parametrize(("typed", "message"), [
    ("", "企业发票请填写税号（统一社会信用代码）"),
    ("91330100716105852E", "税号校验位不符"),
    ("91330100716105825F", "税号校验位不符"),  # two digits swapped
    ("9133010071610585", "您填写的是 16 位"),
    ("91330100MA2CO0XX1T", "统一社会信用代码中没有字母 O"),
    ("杭州91330100716105852F", "税号只能包含数字和字母"),
    ("91330100716105852F；开户行：工商银行", "税号只能包含数字和字母"),
])
def test_a_wrong_tax_id_is_refused_with_the_reason(app, student_client, paid, typed, message):
    response = ask(student_client, paid, kind="company", title=COMPANY, tax_id=typed)

    assert response.status_code == 200
    [error] = field_errors(response)
    assert message in error
    assert requests_of(app, paid) == []


def test_an_old_style_tax_id_is_accepted_and_marked_for_staff(app, student_client, staff_client, paid):
    shop = "杭州某某个体商行"
    # 18 characters is a 统一社会信用代码, whose check character this ID card number fails.
    assert ask(student_client, paid, kind="company", title=shop, tax_id="330106198001011234").status_code == 200
    response = ask(student_client, paid, kind="company", title=shop, tax_id="33010619800101123401")

    assert response.status_code == 302
    [made] = requests_of(app, paid)
    assert made.tax_id == "33010619800101123401"
    assert "旧版税号" in text_of(staff_client.get(f"/staff/invoices/{made.id}"))


def test_a_person_has_no_tax_id_even_if_one_was_typed(app, student_client, paid):
    """Switching from 企业 to 个人 leaves the typed 税号 in the hidden field: it is not kept."""
    assert ask(student_client, paid, kind="personal", title="张喆", tax_id="whatever").status_code == 302
    assert requests_of(app, paid)[0].tax_id == ""


def test_tax_id_check_characters_of_real_codes():
    for code in ("91350100M000100Y43", "91330100716105852F", "9144030071526726XG", "91110000802100433B"):
        assert tax_ids.parse(code) == tax_ids.TaxId(code, legacy=False)
        assert tax_ids.uscc_check_character(code[:-1]) == code[-1]


# --- who may ask ------------------------------------------------------------------------------------

def test_a_free_registration_is_told_it_needs_no_invoice(app, student, student_client):
    registration = book(app, student, new_session(app))

    page = text_of(student_client.get(form_url(registration)))
    assert "这是免费课程，没有付款，无需开具发票" in page and 'name="title"' not in page
    assert "申请发票" not in text_of(student_client.get("/me/registrations"))
    response = ask(student_client, registration)
    assert response.status_code == 200 and "无需开具发票" in text_of(response)
    assert requests_of(app, registration) == []


def test_a_seat_not_paid_yet_cannot_ask(app, student, student_client):
    registration = book(app, student, new_session(app, price="3980.00"))

    assert "还没有付款，付款后才能申请发票" in text_of(student_client.get(form_url(registration)))
    assert "还没有付款" in text_of(ask(student_client, registration))
    assert requests_of(app, registration) == []


def test_money_all_given_back_needs_no_invoice_and_part_of_it_is_invoiced_less(app, student_client, staff, paid):
    [first] = staff_refund(app, paid, "980.00", "课程调整补偿", staff)
    settle(app, first, "50300000001")
    assert ask(student_client, paid).status_code == 302
    assert requests_of(app, paid)[0].amount == Decimal("3000.00")
    submit_form(student_client, f"/me/invoices/{requests_of(app, paid)[0].id}/withdraw", {}, form_page=form_url(paid))

    staff_refund(app, paid, "3000.00", "学员退课", staff)  # decided: counted as given back at once
    assert "款项已全部退回" in text_of(student_client.get(form_url(paid)))
    assert "款项已全部退回" in text_of(ask(student_client, paid))


def test_someone_elses_registration_does_not_exist(app, paid):
    other = make_user(app, "other@example.com", Role.STUDENT, "李四", "13800000011")
    client = client_of_user(app, "other@example.com")

    assert client.get(form_url(paid)).status_code == 404
    with app.test_request_context(), pytest.raises(Exception) as refused:
        service.request_invoice(paid, db.session.get(User, other),
                                InvoiceDetails(InvoiceKind.PERSONAL, "李四", "", "other@example.com"))
    assert refused.value.code == "registration_not_found"
    assert requests_of(app, paid) == []


def client_of_user(app, email: str):
    from tests.factories import PASSWORD
    from tests.helpers import login

    client = app.test_client()
    assert login(client, email, PASSWORD).status_code == 302
    return client


# --- one open request at a time -------------------------------------------------------------------

def test_asking_again_changes_the_waiting_request_instead_of_adding_one(app, student_client, paid):
    assert ask(student_client, paid).status_code == 302
    response = ask(student_client, paid, kind="company", title=COMPANY, tax_id=TAX_ID, email="caiwu@example.com")

    assert response.status_code == 302
    [changed] = requests_of(app, paid)
    assert (changed.kind, changed.title, changed.tax_id, changed.email) == (
        InvoiceKind.COMPANY, COMPANY, TAX_ID, "caiwu@example.com")
    assert audit_actions(app, paid)[-2:] == [AuditAction.INVOICE_REQUEST, AuditAction.INVOICE_CHANGE]


def test_a_second_request_while_one_is_open_is_refused(app, student, paid):
    request_as(app, paid, student)
    with pytest.raises(AlreadyRequested):
        request_as(app, paid, student, title="另一家公司")
    assert len(requests_of(app, paid)) == 1


def test_two_requests_at_the_same_moment_make_one(app, student, paid):
    def attempt(title: str):
        def call():
            try:
                return service.request_invoice(paid, db.session.get(User, student),
                                               InvoiceDetails(InvoiceKind.COMPANY, title, TAX_ID, "a@example.com")).id
            except AlreadyRequested:
                return "refused"
        return call

    results, _ = run_together(app, [attempt("甲公司"), attempt("乙公司"), attempt("丙公司")])

    assert sorted(results, key=str).count("refused") == 2
    assert len(requests_of(app, paid)) == 1


def test_the_database_refuses_a_second_open_request(app, student, paid):
    """The partial unique index is the last word, whatever code forgets to check."""
    from sqlalchemy.exc import IntegrityError

    request_as(app, paid, student)
    with app.app_context():
        db.session.add(InvoiceRequest(registration_id=paid, requester_id=student, kind=InvoiceKind.PERSONAL,
                                      title="张喆", email="s@example.com", amount=Decimal("1.00")))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_requester_withdraws_and_may_ask_again(app, student, student_client, paid):
    request_id = request_as(app, paid, student)

    response = submit_form(student_client, f"/me/invoices/{request_id}/withdraw", {}, form_page=form_url(paid))

    assert response.status_code == 302
    assert requests_of(app, paid)[0].status is InvoiceStatus.CANCELLED
    assert ask(student_client, paid).status_code == 302
    assert [r.status for r in requests_of(app, paid)] == [InvoiceStatus.CANCELLED, InvoiceStatus.REQUESTED]
    assert AuditAction.INVOICE_WITHDRAW in audit_actions(app, paid)


def test_another_student_cannot_withdraw_it(app, student, paid):
    request_id = request_as(app, paid, student)
    make_user(app, "other@example.com", Role.STUDENT, "李四", "13800000011")
    other = client_of_user(app, "other@example.com")

    response = submit_form(other, f"/me/invoices/{request_id}/withdraw", {}, form_page="/me/registrations")

    assert response.status_code == 404
    assert requests_of(app, paid)[0].status is InvoiceStatus.REQUESTED


# --- staff issue it ---------------------------------------------------------------------------------

def staff_issue(staff_client, request_id: int, data: bytes, filename: str = "发票.pdf", number: str = ""):
    page = staff_client.get(f"/staff/invoices/{request_id}")
    return staff_client.post(f"/staff/invoices/{request_id}/issue", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(text_of(page)), "issue-pdf": (io.BytesIO(data), filename),
        "issue-invoice_number": number})


def test_staff_issue_it_with_the_pdf_and_the_requester_gets_it_by_email(app, staff, staff_client, student,
                                                                         student_client, paid):
    request_id = request_as(app, paid, student)
    pdf = invoice_pdf()

    response = staff_issue(staff_client, request_id, pdf, number="2433 2000 0000 1234 5678")

    assert response.status_code == 302, field_errors(response)
    [issued] = requests_of(app, paid)
    assert issued.status is InvoiceStatus.ISSUED and issued.issued_by_id == staff
    assert issued.invoice_number == "24332000000012345678" and issued.pdf_size == len(pdf)
    assert audit_actions(app, paid)[-1] is AuditAction.INVOICE_ISSUE
    [email] = invoice_emails(app)
    assert email.to_address == "caiwu@example.com" and email.subject == "发票已开具：快速玩转小红书成长特训营"
    assert COMPANY in email.body_text and TAX_ID in email.body_text and "¥3,980.00" in email.body_text
    assert f"/invoices/{request_id}/pdf" in email.body_text
    [attachment] = email.attachments
    assert attachment["content_type"] == "application/pdf" and base64.b64decode(attachment["data_b64"]) == pdf

    assert "下载发票" in text_of(student_client.get("/me/registrations"))
    download = student_client.get(f"/invoices/{request_id}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == pdf
    assert download.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(("data", "filename", "message"), [
    (png_bytes(), "发票.pdf", "这不是有效的 PDF 文件"),  # an image named .pdf
    (b"%PDF-1.7\n" + b"\x00garbage" * 100, "发票.pdf", "这不是有效的 PDF 文件"),  # the magic, then nothing readable
    (b"%PDF-1.4\n%%EOF\n", "发票.pdf", "这不是有效的 PDF 文件"),
    ("发票".encode() * 10, "发票.pdf", "这不是有效的 PDF 文件"),
    (b"", "发票.pdf", "请选择发票的 PDF 文件"),
])
def test_anything_but_a_readable_pdf_is_refused(app, student, staff_client, paid, data, filename, message):
    request_id = request_as(app, paid, student)

    response = staff_issue(staff_client, request_id, data, filename)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response)), field_errors(response)
    assert requests_of(app, paid)[0].status is InvoiceStatus.REQUESTED
    assert invoice_emails(app) == []


def test_a_pdf_that_needs_a_password_is_refused(app, student, staff_client, paid):
    from pypdf import PdfReader

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(invoice_pdf())))
    writer.encrypt(user_password="123456", owner_password="owner")
    locked = io.BytesIO()
    writer.write(locked)
    request_id = request_as(app, paid, student)

    response = staff_issue(staff_client, request_id, locked.getvalue())

    assert "设置了打开密码" in " ".join(field_errors(response))
    assert requests_of(app, paid)[0].status is InvoiceStatus.REQUESTED


def test_a_pdf_over_the_cap_is_refused(app, student, staff_client, paid, monkeypatch):
    monkeypatch.setitem(app.config, "INVOICE_PDF_MAX_BYTES", 64 * 1024)
    request_id = request_as(app, paid, student)
    big = invoice_pdf() + b"%" + b"x" * (64 * 1024)

    response = staff_issue(staff_client, request_id, big)

    assert "PDF 文件太大，最大 0.0625 MB" in " ".join(field_errors(response))
    assert requests_of(app, paid)[0].status is InvoiceStatus.REQUESTED


def test_issued_is_final_for_the_requester(app, student, staff, student_client, paid):
    request_id = request_as(app, paid, student)
    issue(app, request_id, staff)

    page = text_of(student_client.get(form_url(paid)))
    assert "发票开具后不能修改" in page and 'name="title"' not in page
    with app.test_request_context(), pytest.raises(AlreadyIssued):
        service.change_request(request_id, db.session.get(User, student),
                               InvoiceDetails(InvoiceKind.PERSONAL, "张喆", "", "s@example.com"))
    with app.test_request_context(), pytest.raises(AlreadyIssued):
        service.withdraw_request(request_id, db.session.get(User, student))
    with pytest.raises(NotRequested):
        issue(app, request_id, staff)  # a second PDF is not how an invoice is corrected
    assert len(invoice_emails(app)) == 1


def test_a_refund_before_issuing_invoices_what_is_kept_then(app, student, staff, staff_client, paid):
    request_id = request_as(app, paid, student)
    [refund] = staff_refund(app, paid, "980.00", "课程调整补偿", staff)
    settle(app, refund, "50300000001")
    assert "申请后金额有变化：现实收 ¥3,000.00" in text_of(staff_client.get(f"/staff/invoices/{request_id}"))

    issue(app, request_id, staff)

    assert requests_of(app, paid)[0].amount == Decimal("3000.00")
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.INVOICE_ISSUE)).one()
        assert (entry.before["amount"], entry.after["amount"]) == ("3980.00", "3000.00")


# --- staff send it back, or void it -----------------------------------------------------------------

def test_staff_send_a_request_back_with_a_reason_the_student_reads(app, student, staff_client, student_client, paid):
    request_id = request_as(app, paid, student)
    page = staff_client.get(f"/staff/invoices/{request_id}")

    empty = staff_client.post(f"/staff/invoices/{request_id}/cancel",
                              data={"csrf_token": csrf_token_from(text_of(page)), "cancel-reason": "  "})
    assert "请填写原因" in " ".join(field_errors(empty))
    response = staff_client.post(f"/staff/invoices/{request_id}/cancel", data={
        "csrf_token": csrf_token_from(text_of(page)), "cancel-reason": "税号与公司名称不符"})

    assert response.status_code == 302
    assert requests_of(app, paid)[0].status is InvoiceStatus.CANCELLED
    assert audit_actions(app, paid)[-1] is AuditAction.INVOICE_REJECT
    [email] = invoice_emails(app)
    assert email.to_address == "student@example.com" and "税号与公司名称不符" in email.body_text
    form = text_of(student_client.get(form_url(paid)))
    assert "上次的申请未通过：税号与公司名称不符" in form
    assert f'value="{COMPANY}"' in form and f'value="{TAX_ID}"' in form  # only the wrong part to fix
    assert "重新申请发票" in text_of(student_client.get("/me/registrations"))


def test_staff_void_an_issued_invoice_and_reopen_it_for_the_right_pdf(app, student, staff, staff_client,
                                                                      student_client, paid):
    request_id = request_as(app, paid, student)
    wrong = invoice_pdf("somebody else's invoice")
    issue(app, request_id, staff, wrong)
    page = staff_client.get(f"/staff/invoices/{request_id}")
    assert "作废发票（红冲）" in text_of(page)

    response = staff_client.post(f"/staff/invoices/{request_id}/cancel", data={
        "csrf_token": csrf_token_from(text_of(page)), "cancel-reason": "上传错了文件", "cancel-reopen": "y"})

    voided, reopened = requests_of(app, paid)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/invoices/{reopened.id}")
    assert voided.status is InvoiceStatus.CANCELLED and voided.voided and voided.cancel_reason == "上传错了文件"
    assert (reopened.status, reopened.title, reopened.tax_id, reopened.email) == (
        InvoiceStatus.REQUESTED, COMPANY, TAX_ID, "caiwu@example.com")
    assert audit_actions(app, paid)[-2:] == [AuditAction.INVOICE_VOID, AuditAction.INVOICE_REQUEST]
    # The voided PDF stays for the record, for staff only.
    assert staff_client.get(f"/invoices/{voided.id}/pdf").data == wrong
    assert student_client.get(f"/invoices/{voided.id}/pdf").status_code == 404
    assert "工作人员已按原信息重新提交申请" in invoice_emails(app)[-1].body_text

    right = invoice_pdf("the right one")
    assert staff_issue(staff_client, reopened.id, right).status_code == 302
    assert student_client.get(f"/invoices/{reopened.id}/pdf").data == right


# --- who may see it -----------------------------------------------------------------------------------

def test_only_the_requester_staff_and_admins_download_it(app, student, staff, admin, paid):
    request_id = request_as(app, paid, student)
    url = f"/invoices/{request_id}/pdf"
    make_user(app, "other@example.com", Role.STUDENT, "李四", "13800000011")
    other = client_of_user(app, "other@example.com")
    requester = client_of(app, paid)

    assert requester.get(url).status_code == 404  # nothing to download before it is issued
    issue(app, request_id, staff)

    assert requester.get(url).status_code == 200
    assert client_of_user(app, "staff@example.com").get(url).status_code == 200
    assert client_of_user(app, "admin@example.com").get(url).status_code == 200
    assert other.get(url).status_code == 404
    assert other.get(form_url(paid)).status_code == 404
    assert other.get(f"/invoices/{request_id + 1000}/pdf").status_code == 404
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]


@pytest.mark.parametrize("url", ["/staff/invoices/", "/staff/invoices/1"])
def test_the_staff_pages_are_for_staff_and_admins(client, student_client, staff_client, admin_client, url):
    assert client.get(url).status_code == 302
    assert student_client.get(url).status_code == 403
    assert staff_client.get("/staff/invoices/").status_code == 200
    assert admin_client.get("/staff/invoices/").status_code == 200


def test_the_staff_list_filters_by_status_and_session_and_finds_a_title_or_tax_id(app, student, staff, staff_client,
                                                                                   paid):
    other_session = new_session(app, price="1980.00", label="第13期")
    someone = make_user(app, "wang@example.com", Role.STUDENT, "王𠮷", "13800000012")
    second = book(app, someone, other_session)
    pay(app, second, "4200000002")
    waiting = request_as(app, paid, student)
    done = request_as(app, second, someone, kind=InvoiceKind.PERSONAL, title="王𠮷", tax_id="")
    issue(app, done, staff)

    def listed(**args) -> str:
        return text_of(staff_client.get("/staff/invoices/", query_string=args))

    assert COMPANY in listed() and "王𠮷" not in listed()  # waiting ones by default
    assert "王𠮷" in listed(status="issued") and COMPANY not in listed(status="issued")
    assert "待开票 1" in listed() and "已开票 1" in listed()
    assert COMPANY not in listed(status="all", session=other_session) and "王𠮷" in listed(status="all",
                                                                                           session=other_session)
    assert COMPANY in listed(status="all", q="玺承") and "王𠮷" not in listed(status="all", q="玺承")
    assert COMPANY in listed(status="all", q="9133 0100 7161 0585 2f")  # typed as pasted
    assert "王𠮷" in listed(status="all", q="𠮷")
    assert f"/staff/invoices/{waiting}" in listed()
    assert staff_client.get("/staff/invoices/", query_string={"q": "a\x00"}).status_code == 400
    assert staff_client.get("/staff/invoices/", query_string={"session": "99999999999999999999",
                                                              "status": "x", "page": "-1"}).status_code == 200


def test_the_roster_row_and_the_registration_page_lead_to_the_request(app, student, staff_client, paid):
    request_id = request_as(app, paid, student)
    with app.app_context():
        session_id = db.session.get(Registration, paid).session_id

    roster = text_of(staff_client.get(f"/staff/sessions/{session_id}/roster"))
    assert f'href="/staff/invoices/{request_id}"' in roster and "待开票" in roster
    assert f'href="/staff/invoices/?session={session_id}&amp;status=all"' in roster
    assert 'href="/staff/invoices/"' in text_of(staff_client.get("/staff/"))  # the staff home
    registration_page = text_of(staff_client.get(f"/staff/registrations/{paid}"))
    assert f'href="/staff/invoices/{request_id}"' in registration_page
    # The history names the request in words.
    assert "申请发票" in registration_page and f"企业 · {COMPANY} · 税号 {TAX_ID} · ¥3,980.00" in registration_page


def test_the_receipt_and_the_ticket_offer_it_right_after_paying(app, student_client, paid):
    assert f'href="/me/registrations/{paid}/invoice"' in text_of(student_client.get(f"/registrations/{paid}/receipt"))
    assert f'href="/me/registrations/{paid}/invoice"' in text_of(student_client.get(f"/me/registrations/{paid}"))


# --- hostile input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("title", [
    "王𠮷", "䶮科技有限公司",
    "\uf900\u8c48 兼容汉字",  # a compatibility ideograph, which NFC would rewrite as U+8C48
    "Nguye\u0302\u0303n Thi\u0323 Ha\u0300",  # decomposed, as macOS types it
    "杭州（玺承）网络科技有限公司", "A&B <Co.> \"Ltd\""])
def test_a_title_is_stored_exactly_as_typed(app, student_client, staff_client, paid, title):
    assert ask(student_client, paid, title=f"  {title}\u3000").status_code == 302

    [made] = requests_of(app, paid)
    assert made.title == title
    assert ask(student_client, paid, title=title).status_code == 302  # unchanged on a second save
    assert requests_of(app, paid)[0].title == title


@pytest.mark.parametrize(("field", "value"), [("title", "王\x00喆"), ("tax_id", "9133\x00"), ("email", "a\x00@b.c"),
                                               ("title", "\x1b[31m")])
def test_a_control_character_is_400_with_the_reason(app, student_client, paid, field, value):
    response = ask(student_client, paid, **{"kind": "company", "title": COMPANY, "tax_id": TAX_ID, field: value})

    assert response.status_code == 400 and "含有不可见的控制字符" in text_of(response)
    assert requests_of(app, paid) == []


def test_long_and_huge_values_are_refused_never_a_500(app, student_client, student, staff_client, paid):
    long_title = ask(student_client, paid, title="长" * 101)
    assert long_title.status_code == 200 and "发票抬头最多 100 个字" in " ".join(field_errors(long_title))
    long_tax_id = ask(student_client, paid, kind="company", title=COMPANY, tax_id="9" * 5000)
    assert "您填写的是 5000 位" in " ".join(field_errors(long_tax_id))
    huge = "长" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8
    token = csrf_token_from(text_of(student_client.get(form_url(paid))))
    for field in ("title", "tax_id", "email"):
        response = student_client.post(form_url(paid), data={"kind": "company", "title": COMPANY, "tax_id": TAX_ID,
                                                              "email": "a@example.com", field: huge,
                                                              "csrf_token": token})
        assert 400 <= response.status_code < 500, field
    assert requests_of(app, paid) == []

    request_id = request_as(app, paid, student)
    page = staff_client.get(f"/staff/invoices/{request_id}")
    response = staff_client.post(f"/staff/invoices/{request_id}/cancel", data={
        "csrf_token": csrf_token_from(text_of(page)), "cancel-reason": "因" * 201})
    assert "原因最多 200 个字" in " ".join(field_errors(response))
    response = staff_issue(staff_client, request_id, invoice_pdf(), number="1" * 40)
    assert "发票号码最多 32 位" in " ".join(field_errors(response))
    assert requests_of(app, paid)[0].status is InvoiceStatus.REQUESTED


def test_a_kind_that_is_not_one_is_a_form_error(app, student_client, paid):
    response = ask(student_client, paid, kind="government")
    assert response.status_code == 200 and requests_of(app, paid) == []


def test_nothing_is_emailed_when_issuing_fails(app, student, staff, paid):
    request_id = request_as(app, paid, student)
    with app.test_request_context():
        service.withdraw_request(request_id, db.session.get(User, student))
        db.session.remove()
    with pytest.raises(NotRequested):
        issue(app, request_id, staff)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2  # the booking's and payment's
    with pytest.raises(InvoiceRequestNotFound):
        issue(app, request_id + 1000, staff)
