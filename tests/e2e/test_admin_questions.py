"""Journey: an admin builds a course's registration questions: adds a choice question and one shown
only for one of its answers, then puts the list in order, by dragging it on a laptop and with the
↑ button on a phone (static/js/questions.js; the buttons work without it). Staff then see the 小红书
camp's answers on its roster, as columns and as a filter."""
from __future__ import annotations

import re

from tests.e2e.data import course_with_questions, question_labels, upcoming_session_id
from tests.e2e.pages import MOBILE_WIDTH, expect

JOURNEY = "admin-questions"


def test_admin_adds_questions_and_puts_them_in_order(site, open_browser, width):
    title = f"小红书店铺运营课 {width}"
    course_id = course_with_questions(site, title, ["公司名称", "主营类目"])
    admin = open_browser()
    page = admin.page
    admin.log_in("admin@example.com")
    page.goto("/admin/courses/")
    page.locator("section.card", has_text=f"《{title}》").get_by_role("link", name="报名问题").first.click()
    page.wait_for_url(re.compile(rf"/admin/questions/course/{course_id}$"))
    admin.check("builder")

    page.get_by_role("link", name="添加问题").click()
    page.get_by_label("问题", exact=True).fill("店铺类型")
    page.get_by_label("类型").select_option("single_choice")
    page.get_by_label("选项").fill("淘宝\n抖音\n小红书")
    page.get_by_label("必填").check()
    admin.check("new-question")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash", has_text="问题已添加")).to_be_visible()

    page.get_by_role("link", name="添加问题").click()
    page.get_by_label("问题", exact=True).fill("抖音店铺名称")
    page.get_by_label("显示条件").select_option(label="「店铺类型」= 抖音")
    page.get_by_role("button", name="保存").click()
    items = page.locator(".question-list > li")
    expect(items).to_have_count(4)
    expect(items.nth(3)).to_contain_text("仅当「店铺类型」回答「抖音」时显示")
    admin.check("four-questions")

    # 店铺类型 to the top: on a phone with ↑ (twice), on a laptop dragged onto the first question.
    if width == MOBILE_WIDTH:
        for place in (1, 0):
            items.nth(place + 1).get_by_role("button", name="上移").click()
            expect(items.nth(place)).to_contain_text("店铺类型")
    else:
        items.nth(2).drag_to(items.nth(0), target_position={"x": 20, "y": 2})
        expect(page.locator(".flash", has_text="顺序已保存")).to_be_visible()
    expected = ["店铺类型", "公司名称", "主营类目", "抖音店铺名称"]
    expect(page.locator(".question-list > li strong")).to_have_text(
        [f"{n}. {label}" for n, label in enumerate(expected, start=1)])
    assert question_labels(site, course_id) == expected
    admin.check("ordered")


def test_staff_see_and_filter_the_answers_on_the_roster(site, open_browser, width):
    """The 小红书 camp's roster (seed-demo's registrants answered its questions): 公司名称 and 店铺类型
    as columns, then only those who answered 小红书; no sideways scrolling on a phone."""
    camp_id = upcoming_session_id(site, "xiaohongshu-growth-camp")
    staff = open_browser()
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto(f"/staff/sessions/{camp_id}/roster")
    page.get_by_text("显示报名信息列").click()
    page.get_by_label("公司名称").check()
    page.get_by_label("店铺类型").check()
    page.locator(".roster-columns").get_by_role("button", name="显示").click()
    expect(page.locator(".roster-table th.answer")).to_have_text(["公司名称", "店铺类型"])
    staff.check("roster-answers")

    page.locator("#roster-answer").select_option(label="店铺类型：小红书")
    page.get_by_role("button", name="搜索").click()
    expect(page.locator(".roster-table th.answer")).to_have_count(2)  # the columns kept
    rows = page.locator(".roster-table tbody tr")
    assert rows.count() > 0
    for row in range(rows.count()):
        expect(rows.nth(row).locator("td.answer").nth(1)).to_have_text("小红书")
    staff.check("roster-filtered")
