"""Journey: a shop's manager books three of her staff at once (团体报名): the course page's entry,
two attendee blocks and a third added on the page, a mistake refused next to its field with nothing
typed lost, the group page with a ticket per attendee; then she replaces one attendee (换人)."""
from __future__ import annotations

from tests.e2e.data import group_attendees, group_camp, make_student, phone_number
from tests.e2e.pages import expect

JOURNEY = "group-booking"


def test_a_manager_books_a_group_of_three_and_replaces_one(site, open_browser, width):
    email = f"group-manager{width}@example.com"
    make_student(site, email, "赵经理", phone_number(width, 120))
    camp = group_camp(site, f"小红书店铺团队实操营 {width}")
    team = [("王喆", phone_number(width, 121)), ("李堃", phone_number(width, 122)),
            ("𠮷田䶮", phone_number(width, 123))]

    manager = open_browser()
    page = manager.page
    manager.log_in(email)
    page.goto(f"/courses/{camp.course_slug}")
    page.get_by_role("link", name="团体报名（为多人报名）").click()
    page.wait_for_url(f"**/sessions/{camp.session_id}/book-group*")
    blocks = page.locator("[data-attendee]")
    expect(blocks).to_have_count(2)
    manager.check("group-form")

    page.get_by_role("button", name="＋ 添加一位参会人（最多 5 位）").click()
    expect(blocks).to_have_count(3)
    expect(blocks.nth(2).locator("[data-attendee-number]")).to_have_text("3")
    # The second phone as pasted from WeChat, with spaces and the country code.
    pasted = f"+86 {team[1][1][:3]} {team[1][1][3:7]} {team[1][1][7:]}"
    for block, (name, phone) in zip([blocks.nth(n) for n in range(3)], team, strict=True):
        block.get_by_label("姓名").fill(name)
        block.get_by_label("手机号").fill(pasted if name == "李堃" else phone)
        block.get_by_label("公司名称").fill("宁波𠮷祥家居有限公司" if name != "李堃" else "")
    manager.check("group-filled")
    page.get_by_role("button", name="提交团体报名").click()

    # 李堃's company is missing: said next to that field, everything typed still there.
    page.wait_for_load_state("load")
    expect(page.locator(".field-error")).to_have_text(["请填写「公司名称」"])
    expect(blocks).to_have_count(3)
    expect(blocks.nth(2).get_by_label("姓名")).to_have_value("𠮷田䶮")
    expect(blocks.nth(1).get_by_label("手机号")).to_have_value(pasted)
    manager.check("group-refused")
    blocks.nth(1).get_by_label("公司名称").fill("宁波𠮷祥家居有限公司")
    page.get_by_role("button", name="提交团体报名").click()

    page.wait_for_url("**/me/groups/*")
    expect(page.locator(".flash", has_text="团体报名成功：3 位参会人的名额已确认")).to_be_visible()
    cards = page.locator("article.attendee-card")
    expect(cards).to_have_count(3)
    for card, (name, _phone) in zip([cards.nth(n) for n in range(3)], team, strict=True):
        expect(card.locator("h3")).to_have_text(name)
        expect(card.locator(".badge")).to_have_text("已确认")
        expect(card.get_by_role("link", name="电子票 · 入场二维码")).to_be_visible()
    manager.check("group-page")

    # The manager opens 𠮷田䶮's ticket to forward it (no email given).
    cards.nth(2).get_by_role("link", name="电子票 · 入场二维码").click()
    expect(page.locator(".ticket-qr")).to_be_visible()
    expect(page.locator(".meta")).to_contain_text("𠮷田䶮")
    manager.check("attendee-ticket")
    page.go_back()

    # 换人: 李堃 cannot come; 欧阳娜娜 takes the seat.
    second = page.locator("article.attendee-card").nth(1)
    old_code = second.locator("dd.mono").inner_text()
    second.locator("summary", has_text="换人").click()
    second.get_by_label("姓名").fill("欧阳娜娜")
    second.get_by_label("手机号").fill(phone_number(width, 124))
    second.get_by_label("公司名称").fill("宁波𠮷祥家居有限公司")
    manager.check("replace-form")
    second.get_by_role("button", name="确认换人").click()
    expect(page.locator(".flash", has_text="已换人：李堃 → 欧阳娜娜")).to_be_visible()
    replaced = page.locator("article.attendee-card").nth(1)
    expect(replaced.locator("h3")).to_have_text("欧阳娜娜")
    assert replaced.locator("dd.mono").inner_text() != old_code
    manager.check("replaced")

    assert group_attendees(site, camp.session_id) == [
        ("王喆", team[0][1], "confirmed"), ("欧阳娜娜", phone_number(width, 124), "confirmed"),
        ("𠮷田䶮", team[2][1], "confirmed")]

    page.goto("/me/registrations")
    expect(page.locator("article.group-card", has_text=camp.course_title)).to_contain_text("王喆、欧阳娜娜、𠮷田䶮")
    manager.check("my-registrations")
