"""A demo 团体报名: a shop's manager booked three of her staff on the 小红书 camp's upcoming session,
each answering its registration questions, through the group booking service the page calls; so the
booker's group page, 我的报名 and the roster's 团体 column show one."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts import service as accounts
from app.booking import groups
from app.booking.groups import AttendeeInput
from app.booking.models import GroupBooking
from app.catalog import service as catalog
from app.common.time import utcnow
from app.demo.catalog import XHS_SLUG
from app.demo.questions import demo_answers
from app.extensions import db
from app.payments import group_orders
from app.payments import service as payments
from app.payments.models import PaymentProvider
from app.questions import queries

GROUP_BOOKER = ("manager@example.com", "赵经理", "13600000001")  # a student account: anyone may book a group
GROUP_COMPANY = "宁波𠮷祥家居有限公司"
GROUP_ATTENDEES = [("钱多多", "13600000011", "qianduoduo@example.com"), ("孙䶮", "13600000012", None),
                   ("欧阳娜娜", "13600000013", "nana@example.com")]


def seed_group(password: str) -> int:
    """The manager's group of three on the upcoming 小红书 session (booked two days ago, paid
    once for the three minutes later); how many groups it made (0 on a second run)."""
    email, name, phone = GROUP_BOOKER
    booker = accounts.find_by_login(email) or accounts.register_user(email, password, name, phone)
    camp = catalog.upcoming_sessions(catalog.published_course_by_slug(XHS_SLUG))[0]
    if db.session.scalar(select(GroupBooking.id).where(GroupBooking.booker_id == booker.id,
                                                       GroupBooking.session_id == camp.id)) is not None:
        return 0
    asked = queries.questions_for_session(camp.id)
    company = next((q.id for q in asked if q.label == "公司名称"), None)
    attendees = [AttendeeInput(attendee, mobile, address,
                               {**demo_answers(asked, number + 1), **({company: GROUP_COMPANY} if company else {})})
                 for number, (attendee, mobile, address) in enumerate(GROUP_ATTENDEES)]
    at = utcnow() - timedelta(days=2)
    outcome = groups.book_group(booker, camp.id, attendees, now=at)
    if outcome.registrations[0].status.is_hold:
        # Paid once for the three, as WeChat Pay's notification of the group's order would tell the site.
        paid_at = at + timedelta(minutes=3)
        order = group_orders.open_group_order(outcome.group.id, booker, PaymentProvider.WECHAT, "native", now=paid_at)
        payments.record_payment(PaymentProvider.WECHAT, order.out_trade_no, f"DEMO{order.out_trade_no}", order.amount,
                                paid_at, now=paid_at)
    return 1
