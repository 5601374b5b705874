"""Journey 4: a visitor reads an article, follows its booking card (立即预约), signs up, books, and
gets the ticket; the booking is counted for the article (view → card click → booking)."""
from __future__ import annotations

from tests.e2e.data import article_with_card, funnel_of, phone_number, registration_source
from tests.e2e.pages import expect
from tests.e2e.steps import book_and_open_ticket, sign_up_from_login

JOURNEY = "reader-books"


def test_reader_follows_the_booking_card_and_the_booking_is_attributed(site, open_browser, width):
    story = article_with_card(site, f"小红书电商入门：从种草到成交 {width}", f"小红书种草实战营 {width}")
    reader = open_browser()
    page = reader.page
    page.goto("/articles/")
    reader.check("articles")
    page.get_by_role("link", name=story.title).first.click()
    page.wait_for_url(f"**/articles/{story.slug}")
    expect(page.get_by_role("heading", name=story.title, level=1)).to_be_visible()
    card = page.locator(".article-body .booking-card")
    expect(card).to_contain_text(f"《{story.camp.course_title}》")
    expect(card.locator(".badge")).to_have_text("剩余 30 席")
    reader.check("article")
    card.get_by_role("link", name="立即预约").click()

    email = f"reader{width}@example.com"
    sign_up_from_login(reader, "陈读者", phone_number(width, 20), email)
    book_and_open_ticket(reader, story.camp.course_title, email, "陈读者")

    assert registration_source(site, email, story.camp.session_id) == f"article:{story.article_id}"
    funnel = funnel_of(site, story.article_id)
    assert (funnel.views, funnel.card_clicks, funnel.bookings) == (1, 1, 1)
