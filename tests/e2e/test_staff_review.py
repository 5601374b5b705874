"""Journey: 报名审核. Three owners applied to a 私董会 with two seats; staff open the review queue on a
phone and on a laptop, tick all three, write a message and approve them at once: the two who applied
first get the seats, the third the waiting list, and the queue is empty."""
from __future__ import annotations

from tests.e2e.data import make_student, phone_number, registration_statuses, session_with_applications
from tests.e2e.pages import expect

JOURNEY = "staff-review"


def test_staff_approve_applications_in_bulk(site, open_browser, width):
    names = ["欧阳娜娜", "买买提·艾力", "王𠮷"]
    ids = [make_student(site, f"owner{width}-{n}@example.com", name, phone_number(width, 80 + n))
           for n, name in enumerate(names)]
    camp = session_with_applications(site, f"电商老板私董会 {width}", ids, capacity=2)

    staff = open_browser("staff")
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto("/staff/applications/")
    expect(page.get_by_role("link", name=f"《{camp.course_title}》")).to_be_visible()
    staff.check("review-sessions")
    page.get_by_role("link", name=f"《{camp.course_title}》").click()

    expect(page.locator(".review-table tbody tr")).to_have_count(3)
    staff.check("review-queue")
    for name in names:
        page.get_by_label(name).check()
    page.get_by_label("给申请人的留言").fill("欢迎参加本期私董会，请准时到场。")
    page.get_by_role("button", name="批量通过").click()

    expect(page.locator(".flash", has_text="已通过 3 份申请：2 人已确认")).to_be_visible()
    expect(page.locator(".review-table tbody tr")).to_have_count(1)  # "没有这一类的申请"
    staff.check("review-approved")
    assert registration_statuses(site, camp.session_id) == ["confirmed", "confirmed", "waitlisted"]
