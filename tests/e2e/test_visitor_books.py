"""Journey 1: a visitor finds the 小红书 camp (¥3,980), is asked to log in, signs up instead, lands
back on the booking page, answers the camp's registration questions, books (the seat is held),
pays with Alipay (its local stand-in's cashier), comes back paid, and sees the ticket with its door
QR code and what they answered."""
from __future__ import annotations

from tests.e2e.data import phone_number
from tests.e2e.pages import expect
from tests.e2e.steps import answer_registration_questions, book_pay_and_open_ticket, sign_up_from_login

JOURNEY = "visitor-books"
XHS_TITLE = "快速玩转小红书成长特训营"  # seed-demo's camp


def test_visitor_signs_up_books_pays_and_gets_a_ticket(open_browser, width):
    visitor = open_browser()
    page = visitor.page
    page.goto("/")
    visitor.check("home")

    page.get_by_role("link", name="查看训练营").click()
    page.wait_for_url("**/courses/")
    visitor.check("catalogue")

    page.get_by_role("link", name=f"《{XHS_TITLE}》").click()
    page.wait_for_url("**/courses/xiaohongshu-growth-camp")
    visitor.check("course")
    page.locator(".session-card", has_text="9月班").get_by_role("link", name="立即预约").click()

    email = f"visitor{width}@example.com"
    sign_up_from_login(visitor, "林小满", phone_number(width, 1), email)
    answer_registration_questions(visitor, "杭州小满𠮷祥电子商务有限公司", "小满好物铺")
    book_pay_and_open_ticket(visitor, XHS_TITLE, "林小满")
    answers = page.locator(".answers")
    for answer in ("杭州小满𠮷祥电子商务有限公司", "小红书", "家居日用", "100万–500万", "小满好物铺"):
        expect(answers).to_contain_text(answer)
