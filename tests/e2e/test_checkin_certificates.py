"""Journey 3: at the door, staff type ticket codes into the check-in page; afterwards they issue the
session's certificates with 一键颁发, and a student downloads theirs as a PDF."""
from __future__ import annotations

import re

from tests.e2e.data import make_student, phone_number, session_today
from tests.e2e.pages import expect

JOURNEY = "checkin-certificates"


def test_staff_check_people_in_then_issue_certificates(site, open_browser, width):
    people = [(f"door{width}-{n}@example.com", name) for n, name in enumerate(["郑签到", "钱签到", "孙缺席"], 1)]
    ids = [make_student(site, email, name, phone_number(width, 10 + n)) for n, (email, name) in enumerate(people)]
    camp, codes = session_today(site, f"抖音直播间一日实战 {width}", ids)
    came = ids[:2]  # the third never comes

    staff = open_browser("staff")
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto(f"/staff/sessions/{camp.session_id}/checkin")
    expect(page.locator(".checkin-count")).to_have_text("已签到 0 / 已确认 3")
    staff.check("checkin")

    # Typed the way people type: the first as printed (K7MQ-2XPD-9RTW), the second lower case
    # with spaces; Enter submits, as a scanner does.
    typed = [codes[came[0]][:4] + "-" + codes[came[0]][4:8] + "-" + codes[came[0]][8:],
             " ".join(codes[came[1]][i:i + 4] for i in (0, 4, 8)).lower()]
    for number, (code, (_email, name)) in enumerate(zip(typed, people[:2], strict=True), 1):
        code_input = page.get_by_label("扫码或输入票码，按回车签到")
        expect(code_input).to_be_focused()  # the cursor is back in the input for the next person
        code_input.fill(code)
        code_input.press("Enter")
        result = page.locator(".scan-ok")
        expect(result.locator(".scan-name")).to_have_text(name)
        expect(result.locator(".scan-verdict")).to_have_text("✓ 已签到")
        expect(page.locator(".checkin-count")).to_have_text(f"已签到 {number} / 已确认 3")
        staff.check(f"checked-in-{number}")

    page.goto(f"/staff/sessions/{camp.session_id}/certificates")
    staff.check("certificates")
    page.get_by_role("button", name="一键颁发").click()
    expect(page.locator("#issue-counter")).to_have_text("完成：颁发 2 张，失败 0 张")
    for _email, name in people[:2]:
        row = page.locator(".cert-row", has_text=name)
        expect(row.locator("[data-cert-cell] .badge")).to_have_text("有效")
    expect(page.locator(".cert-row", has_text=people[2][1]).locator("[data-cert-cell]")).to_have_text("未颁发")
    staff.check("issued")
    page.reload()  # what the server kept, not only what the script drew
    expect(page.locator(".cert-row .mono")).to_have_count(2)

    student = open_browser("student")
    student.log_in(people[0][0])
    student.page.goto("/me/registrations")
    mine = student.page.locator("article.registration", has_text=camp.course_title)
    student.check("my-registrations")
    # The PDF opens in chromium's viewer (Content-Disposition: inline), from where it is saved. The
    # viewer keeps the bytes to itself, so the file is fetched again with this browser's cookies.
    link = mine.get_by_role("link", name="下载结业证书")
    href = link.get_attribute("href")
    with student.page.expect_response(lambda response: response.url.endswith(href)) as answer:
        link.click()
    assert answer.value.status == 200 and answer.value.headers["content-type"] == "application/pdf"
    student.page.wait_for_load_state("load")
    saved = student.page.request.get(href)
    assert saved.ok and saved.body().startswith(b"%PDF-")
    assert re.search(r'filename\*?=.*\.pdf', saved.headers["content-disposition"])
