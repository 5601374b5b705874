"""Stretches of a journey that several journeys walk the same way."""
from __future__ import annotations

import re

from tests.e2e.pages import Person, expect

NEW_PASSWORD = "xiaoman-2025"


def sign_up_from_login(person: Person, name: str, phone: str, email: str) -> None:
    """On the login page that a booking sent them to: 立即注册, fill the form, and come back to the
    booking page (the ?next= survives the detour through sign-up)."""
    page = person.page
    page.wait_for_url(re.compile(r"/account/login\?next="))
    expect(page.locator(".flash", has_text="请先登录")).to_be_visible()
    person.check("login")
    page.get_by_role("link", name="立即注册").click()
    page.wait_for_url(re.compile(r"/account/signup\?next="))
    page.get_by_label("姓名").fill(name)
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认密码").fill(NEW_PASSWORD)
    person.check("signup")
    page.locator("form").get_by_role("button", name="注册").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/book"))
    expect(page.locator(".flash", has_text="注册成功")).to_be_visible()


def book_and_open_ticket(person: Person, course_title: str, email: str, name: str) -> None:
    """On the booking page of a free session: 确认预约, the confirmation on 我的报名, then the
    ticket with its QR code."""
    page = person.page
    expect(page.get_by_role("heading", name=f"《{course_title}》")).to_be_visible()
    person.check("book")
    page.get_by_role("button", name="确认预约").click()

    page.wait_for_url("**/me/registrations*")
    expect(page.locator(".flash", has_text=f"预约成功！确认邮件已发送到 {email}")).to_be_visible()
    booked = page.locator("article.registration", has_text=course_title)
    expect(booked.locator(".badge")).to_have_text("已确认")
    person.check("confirmation")

    booked.get_by_role("link", name="电子票 · 入场二维码").click()
    open_ticket(person, name)


def book_pay_and_open_ticket(person: Person, course_title: str, name: str) -> None:
    """On the booking page of a paid session: 确认预约 holds the seat; on the pay page, 支付宝, pay
    at (the stand-in of) Alipay's cashier, come back to the site paid, then the ticket."""
    page = person.page
    expect(page.get_by_role("heading", name=f"《{course_title}》")).to_be_visible()
    expect(page.get_by_text("预约后名额为您保留")).to_be_visible()
    person.check("book")
    page.get_by_role("button", name="确认预约").click()

    page.wait_for_url(re.compile(r"/registrations/\d+/pay$"))
    expect(page.locator(".badge")).to_have_text("待支付")
    expect(page.locator(".pay-amount")).to_contain_text("¥3,980.00")
    expect(page.locator(".countdown")).to_have_text(re.compile(r"（1[45]:\d\d）"))
    person.check("pay")
    page.get_by_label("支付宝").check()
    page.get_by_role("button", name="去支付 ¥3,980.00").click()

    page.wait_for_url(re.compile(r"/gateway\.do"))  # Alipay's cashier (its stand-in): not our page
    page.get_by_role("button", name="确认付款").click()
    page.wait_for_url(re.compile(r"/registrations/\d+/pay$"))
    expect(page.locator(".flash-success")).to_contain_text("已支付 ¥3,980.00，报名已确认")
    person.check("paid")
    page.get_by_role("link", name="查看电子票").click()
    open_ticket(person, name)


def open_ticket(person: Person, name: str) -> None:
    """The ticket page that was just opened: its QR code, code and holder."""
    page = person.page
    page.wait_for_url(re.compile(r"/me/registrations/\d+$"))
    qr = page.get_by_role("img", name="入场二维码")
    expect(qr.locator("svg, img").first).to_be_visible()
    assert qr.bounding_box()["width"] >= 150, "a door scanner needs a QR code of a readable size"
    expect(page.locator(".ticket-code")).to_have_text(re.compile(r"^\s*[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\s*$"))
    expect(page.locator(".ticket .meta")).to_contain_text(name)
    person.check("ticket")
