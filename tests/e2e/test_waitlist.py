"""Journey 2: a student joins the waiting list of a full session; the person holding the only seat
cancels in their own browser; the first student reloads 我的报名 and has the seat."""
from __future__ import annotations

from tests.e2e.data import full_session, make_student, phone_number
from tests.e2e.pages import expect

JOURNEY = "waitlist"


def test_waiting_student_gets_the_seat_someone_cancels(site, open_browser, width):
    holder_email, waiting_email = f"holder{width}@example.com", f"waiting{width}@example.com"
    holder_id = make_student(site, holder_email, "周占位", phone_number(width, 2))
    make_student(site, waiting_email, "吴候补", phone_number(width, 3))
    camp = full_session(site, f"私域社群精品小班 {width}", seat_holder_id=holder_id)

    waiting = open_browser("waiting")
    page = waiting.page
    waiting.log_in(waiting_email)
    page.goto(f"/courses/{camp.course_slug}")
    card = page.locator(".session-card")
    assert card.locator(".badge", has_text="已满，可加入候补").is_visible()
    waiting.check("course-full")
    card.get_by_role("link", name="加入候补").click()
    page.wait_for_url(f"**/sessions/{camp.session_id}/book*")
    assert page.locator(".flash-warning", has_text="本场名额已满").is_visible()
    waiting.check("book-waitlist")
    page.get_by_role("button", name="加入候补").click()

    page.wait_for_url("**/me/registrations*")
    assert page.locator(".flash", has_text="名额已满，您已加入候补：候补第 1 位").is_visible()
    mine = page.locator("article.registration", has_text=camp.course_title)
    assert mine.locator(".badge").inner_text() == "候补第 1 位"
    waiting.check("waitlisted")

    holder = open_browser("holder")
    holder.log_in(holder_email)
    holder.page.goto("/me/registrations")
    seat = holder.page.locator("article.registration", has_text=camp.course_title)
    assert seat.locator(".badge").inner_text() == "已确认"
    holder.check("before-cancel")
    seat.get_by_role("button", name="取消报名").click()  # the confirm() dialog is accepted
    expect(holder.page.locator(".flash", has_text=f"已取消：{camp.course_title}")).to_be_visible()
    expect(seat.locator(".badge")).to_have_text("已取消")
    holder.check("cancelled")

    page.reload()
    expect(mine.locator(".badge")).to_have_text("已确认")
    assert mine.get_by_role("link", name="电子票 · 入场二维码").is_visible()
    waiting.check("promoted")
