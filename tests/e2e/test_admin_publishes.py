"""Journey 5: an admin writes an article, watches the preview, uploads an image into the body, inserts
a booking card, saves, schedules it, then publishes it at once; readers see image and card."""
from __future__ import annotations

import re
from datetime import timedelta

from app.common.time import utcnow
from tests.e2e.data import SHANGHAI, png_image, upcoming_session_id
from tests.e2e.pages import MOBILE_WIDTH, expect

JOURNEY = "admin-publishes"
XHS_TITLE = "快速玩转小红书成长特训营"


def test_admin_writes_schedules_and_publishes_an_article(site, open_browser, width):
    camp_id = upcoming_session_id(site, "xiaohongshu-growth-camp")
    title = f"双十一备战清单 {width}"
    admin = open_browser()
    page = admin.page
    admin.log_in("admin@example.com")
    page.goto("/admin/articles/")
    admin.check("articles")
    page.get_by_role("link", name="写文章").click()
    page.wait_for_url("**/admin/articles/new")
    admin.check("new")

    page.get_by_label("标题").fill(title)
    body = page.get_by_label("正文（Markdown）")
    body.fill("## 备战节奏\n\n提前 30 天定好主推款，提前 7 天完成预热笔记。\n\n")
    preview = page.locator("#article-preview")

    def show_preview() -> None:  # side by side on a wide screen; a tab on a phone
        if width == MOBILE_WIDTH:
            page.get_by_role("tab", name="预览").click()

    def back_to_writing() -> None:
        if width == MOBILE_WIDTH:
            page.get_by_role("tab", name="编辑").click()

    show_preview()
    expect(preview.get_by_role("heading", name="备战节奏")).to_be_visible()
    admin.check("preview")
    back_to_writing()

    page.locator("#body-image").set_input_files(
        files=[{"name": "双十一海报.png", "mimeType": "image/png", "buffer": png_image()}])
    expect(page.locator("#body-image-status")).to_have_text("已上传")
    expect(body).to_have_value(re.compile(r"!\[双十一海报\]\(/media/[0-9a-f]+\.png\)"))

    page.locator("#session-picker").select_option(str(camp_id))
    page.get_by_role("button", name="插入预约卡片").click()
    expect(body).to_have_value(re.compile(rf"\[\[session:{camp_id}\]\]"))
    show_preview()
    expect(preview.locator(".booking-card")).to_contain_text(f"《{XHS_TITLE}》")
    image = preview.locator("img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 640, "the uploaded image is served"
    admin.check("preview-with-image-and-card")
    back_to_writing()

    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/admin/articles/*/edit")
    expect(page.locator(".flash", has_text="草稿已保存（第 1 版）")).to_be_visible()
    slug = page.get_by_label("链接名").input_value()
    admin.check("draft")

    tomorrow = (utcnow().astimezone(SHANGHAI) + timedelta(days=1)).replace(hour=9, minute=0)
    page.get_by_label("定时发布时间").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="定时发布").click()
    expect(page.locator(".flash", has_text=f"已定时发布：{tomorrow:%Y-%m-%d %H:%M}（北京时间）")).to_be_visible()
    admin.check("scheduled")
    assert page.request.get(f"/articles/{slug}").status == 404, "a scheduled article is not public yet"

    page.get_by_role("button", name="立即发布").click()
    expect(page.locator(".flash", has_text="已发布")).to_be_visible()
    admin.check("published")

    page.goto(page.get_by_role("link", name="查看文章").get_attribute("href"))
    page.wait_for_url(f"**/articles/{slug}")
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.locator(".article-body img")).to_be_visible()
    expect(page.locator(".article-body .booking-card")).to_contain_text(f"《{XHS_TITLE}》")
    admin.check("article")
