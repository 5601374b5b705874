"""Journey 6: at the door, staff check people in with their phone's camera. The camera is chromium's
fake one, playing a video of tickets held up in turn: one QR code as tickets carry it now (the
ticket link), one from before links (the bare code), then the first again. Last, a ticket link
opened the way WeChat's scanner opens it, and checked in with its 签到 button."""
from __future__ import annotations

import io
import itertools
import re
from urllib.parse import parse_qs

import segno

from tests.e2e.camera import fake_camera_args, write_y4m
from tests.e2e.data import checked_in, make_student, phone_number, session_today, ticket_qr_png
from tests.e2e.pages import Person, expect

JOURNEY = "camera-checkin"


def test_staff_scan_tickets_with_the_phone_camera(site, launch_browser, width, tmp_path):
    people = [(f"camera{width}-{n}@example.com", name) for n, name in enumerate(["冯扫码", "褚旧票", "卫链接"], 1)]
    ids = [make_student(site, email, name, phone_number(width, 40 + n)) for n, (email, name) in enumerate(people)]
    camp, codes = session_today(site, f"小红书笔记一日实战 {width}", ids)
    first, second, third = (codes[user_id] for user_id in ids)

    bare = io.BytesIO()  # a ticket from before QR codes held links: the bare code
    segno.make_qr(second, error="m").save(bare, kind="png", scale=8, border=4)
    video = write_y4m(tmp_path / "tickets.y4m", [
        (ticket_qr_png(site, first), 3),  # held up for three seconds: checked in once
        (None, 1),
        (bare.getvalue(), 3),
        (None, 1),
    ])  # chromium loops the video: the first ticket comes back after four seconds out of view
    staff = Person(launch_browser(fake_camera_args(video)), site.url, JOURNEY, width, "staff", itertools.count(1))
    try:
        _scan_at_the_door(site, staff, camp, people, codes=(first, second))
        _check_in_from_the_ticket_link(site, staff, camp, people[2][1], third)
        staff.assert_no_problems()
    finally:
        staff.close()

    # What the site kept: each of the three in once, on the same day (today), however often scanned.
    rows = checked_in(site, camp.session_id)
    assert sorted(name for name, _day in rows) == sorted(name for _email, name in people)
    assert len({day for _name, day in rows}) == 1


def _scan_at_the_door(site, staff: Person, camp, people, codes) -> None:
    page = staff.page
    posts: list[str] = []  # the code of each check-in the page sent, in order
    page.on("request", lambda request: posts.append(parse_qs(request.post_data or "").get("code", [""])[0])
            if request.method == "POST" and request.url.endswith("/checkin") else None)
    staff.log_in("staff@example.com")
    page.goto(f"/staff/sessions/{camp.session_id}/checkin")
    expect(page.locator(".checkin-count")).to_have_text("已签到 0 / 已确认 3")

    page.get_by_role("button", name="开启摄像头扫码").click()
    expect(page.locator("[data-camera-video]")).to_be_visible()
    expect(page.get_by_role("button", name="关闭摄像头")).to_be_visible()

    result = page.locator("[data-scan-slot] .scan-result")
    expect(result.locator(".scan-name")).to_have_text(people[0][1])
    expect(result.locator(".scan-verdict")).to_have_text("✓ 已签到")
    expect(result.locator(".scan-ticket")).to_contain_text(codes[0][:4] + "-")
    expect(page.locator(".checkin-count")).to_have_text("已签到 1 / 已确认 3")
    staff.check("camera-first")

    expect(result.locator(".scan-name")).to_have_text(people[1][1])  # the bare code works too
    expect(result).to_have_class(re.compile(r"\bscan-ok\b"))
    expect(page.locator(".checkin-count")).to_have_text("已签到 2 / 已确认 3")
    staff.check("camera-second")

    # The first ticket is shown again after a while: 重复签到, and the count stays.
    expect(result).to_have_class(re.compile(r"\bscan-repeat\b"), timeout=15_000)
    expect(result.locator(".scan-name")).to_have_text(people[0][1])
    expect(result.locator(".scan-verdict")).to_contain_text("重复签到")
    expect(page.locator(".checkin-count")).to_have_text("已签到 2 / 已确认 3")
    staff.check("camera-repeat")

    # Held up for three seconds, each ticket was sent once: the link, the bare code, the link again.
    assert posts[:3] == [f"{site.url}/t/{codes[0]}", codes[1], f"{site.url}/t/{codes[0]}"], posts
    page.get_by_role("button", name="关闭摄像头").click()
    expect(page.locator("[data-camera-video]")).to_be_hidden()


def _check_in_from_the_ticket_link(site, staff: Person, camp, name: str, code: str) -> None:
    """WeChat's scanner opens the link in its browser, where staff are logged in."""
    page = staff.page
    page.goto(f"{site.url}/t/{code}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    staff.check("ticket-link")
    page.get_by_role("button", name=re.compile(r"^签到 · 第 1 天")).click()
    expect(page.locator(".flash", has_text=f"已签到：{name}")).to_be_visible()
    expect(page.locator(".ticket-link-in")).to_contain_text("今日已签到")
    staff.check("ticket-link-checked-in")
    page.goto(f"/staff/sessions/{camp.session_id}/checkin")
    expect(page.locator(".checkin-count")).to_have_text("已签到 3 / 已确认 3")


def test_without_the_camera_staff_are_told_why_and_typing_still_works(site, launch_browser, open_browser, width):
    """A phone that refused the camera (a camera, no permission), then a computer with no camera:
    the page says which in Chinese, and the code typed below checks the person in as before."""
    [student] = [make_student(site, f"nocam{width}@example.com", "蒋手输", phone_number(width, 50))]
    camp, codes = session_today(site, f"拼多多一日实战 {width}", [student])
    door = f"/staff/sessions/{camp.session_id}/checkin"

    # Chromium's fake camera without its fake "Allow" answer: the context granted no permission.
    refused = Person(launch_browser(["--use-fake-device-for-media-stream"]), site.url, JOURNEY, width, "refused",
                     itertools.count(1))
    try:
        refused.log_in("staff@example.com")
        refused.page.goto(door)
        refused.page.get_by_role("button", name="开启摄像头扫码").click()
        expect(refused.page.locator("[data-camera-note]")).to_have_text(
            "没有摄像头权限。请在浏览器设置中允许本网站使用摄像头，或在下方输入票码。")
        expect(refused.page.locator("[data-camera-video]")).to_be_hidden()
        expect(refused.page.get_by_role("button", name="开启摄像头扫码")).to_be_enabled()  # tap again once allowed
        refused.check("camera-refused")
    finally:
        refused.close()

    staff = open_browser("no-camera")  # the test machine has no camera at all
    page = staff.page
    staff.log_in("staff@example.com")
    page.goto(door)
    page.get_by_role("button", name="开启摄像头扫码").click()
    expect(page.locator("[data-camera-note]")).to_have_text("没有找到可用的摄像头，请在下方输入票码。")
    staff.check("no-camera")

    code_input = page.get_by_label("扫码或输入票码，按回车签到")
    code_input.fill(codes[student].lower())
    code_input.press("Enter")
    expect(page.locator(".scan-ok .scan-name")).to_have_text("蒋手输")
    expect(page.locator(".checkin-count")).to_have_text("已签到 1 / 已确认 1")
