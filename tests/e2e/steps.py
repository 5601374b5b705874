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


def answer_registration_questions(person: Person, company: str, shop_name: str) -> None:
    """On the 小红书 camp's booking page: its registration questions (seed-demo's example set). The
    shop's name is asked only once 是否已开通小红书店铺 is 是 (static/js/questions.js); a first try
    without 主营类目 is refused with the reason under it, and nothing typed is lost."""
    page = person.page
    expect(page.get_by_text("报名信息", exact=True)).to_be_visible()
    shop = page.get_by_label("小红书店铺名称")
    expect(shop).to_be_hidden()
    page.get_by_label("公司名称").fill(company)
    page.get_by_role("group", name="店铺类型").get_by_label("小红书").check()
    page.get_by_role("group", name="年营业额").get_by_label("100万–500万").check()
    page.get_by_role("group", name="是否已开通小红书店铺").get_by_label("是").check()
    expect(shop).to_be_visible()
    shop.fill(shop_name)
    page.get_by_label("想解决的问题").fill("笔记有流量但不转化，\n想学商品卡和直播。")
    person.check("questions")

    page.get_by_role("button", name="确认预约").click()
    page.wait_for_load_state("load")
    expect(page.locator(".field-error")).to_have_text(["请填写「主营类目」"])
    expect(page.get_by_label("公司名称")).to_have_value(company)
    expect(page.get_by_role("group", name="店铺类型").get_by_label("小红书")).to_be_checked()
    expect(shop).to_have_value(shop_name)
    person.check("questions-refused")
    page.get_by_label("主营类目").fill("家居日用")


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
