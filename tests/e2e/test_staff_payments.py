"""Journey 8: a student booked a paid camp and paid by bank transfer. On a phone and on a laptop,
staff find the registration awaiting payment, record the transfer from the bank statement (the
seat is confirmed), give part of the money back and record the transfer back; an admin then sees
both on the finance page. No page scrolls sideways, none breaks its Content-Security-Policy."""
from __future__ import annotations

from app.accounts.models import User
from app.booking import service as booking
from app.extensions import db
from tests.e2e.data import make_student, phone_number
from tests.e2e.pages import expect
from tests.factories import make_course, make_session

JOURNEY = "staff-payments"


def paid_booking(site, title: str, student_id: int) -> tuple[int, int]:
    """A paid camp (¥3,980.00) the student booked: their seat held while they pay. (session, registration)"""
    with site.app.test_request_context():
        try:
            session_id = make_session(make_course(title, platform="小红书", duration_label="3天2夜"), capacity=5,
                                      price="3980.00", label="第12期")
            return session_id, booking.book_seat(db.session.get(User, student_id), session_id).registration.id
        finally:
            db.session.remove()


def test_staff_record_a_transfer_and_a_refund_and_the_admin_sees_them(site, open_browser, width):
    name = "阿依古丽·买买提"
    student = make_student(site, f"payments{width}@example.com", name, phone_number(width, 70))
    session_id, registration = paid_booking(site, f"小红书电商三天实战营 付费 {width}", student)

    staff = open_browser("staff")
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto(f"/staff/sessions/{session_id}/roster?payment=due")
    expect(page.locator(".roster-table td.money")).to_contain_text("待支付 ¥3,980.00")
    staff.check("roster-due")

    page.goto(f"/staff/registrations/{registration}")
    transfer = page.locator("form", has=page.get_by_role("button", name="登记到账"))
    expect(transfer.get_by_label("到账金额（元）")).to_have_value("3980.00")
    transfer.get_by_label("银行流水号").fill(f"ICBC-E2E-{width}")
    staff.check("transfer-form")
    transfer.get_by_role("button", name="登记到账").click()
    expect(page.locator(".flash-success")).to_contain_text("报名已确认")
    expect(page.locator("#money")).to_contain_text("已支付")

    page.locator("#money summary", has_text="退款").click()
    refund = page.locator("form", has=page.get_by_role("button", name="退款", exact=True))
    refund.get_by_label("退款金额（元）").fill("980")
    refund.get_by_label("退款原因").fill("课程调整补偿")
    refund.get_by_role("button", name="退款", exact=True).click()  # the page asks first; staff tap OK
    expect(page.locator("#money")).to_contain_text("待工作人员转账退回")
    returned = page.locator("form", has=page.get_by_role("button", name="已转账退回"))
    returned.get_by_label("退回转账的流水号").fill(f"ICBC-BACK-{width}")
    staff.check("refund-to-send")
    returned.get_by_role("button", name="已转账退回").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记退回 ¥980.00")
    expect(page.locator(".history")).to_contain_text("退款已退回")
    staff.check("refunded")

    admin = open_browser("admin")
    admin.log_in("admin@example.com")
    admin.page.goto("/admin/finance/")
    expect(admin.page.locator("#payments")).to_contain_text(name)
    expect(admin.page.locator("#refunds")).to_contain_text(f"ICBC-BACK-{width}")
    admin.check("finance")
