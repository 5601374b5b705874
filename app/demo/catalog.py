"""Demo courses, sessions and bookings, made through the same services the site uses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.models import User
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.models import CampSession, Course
from app.certificates import service as certificates
from app.common.time import utcnow
from app.demo.questions import book_answering, seed_questions
from app.extensions import db
from app.payments import service as payments
from app.payments.models import PaymentProvider
from app.roster import service as roster

SHANGHAI = ZoneInfo("Asia/Shanghai")
XHS_SLUG = "xiaohongshu-growth-camp"
OPEN_DAY_SLUG = "open-day"

DEMO_STUDENT_NAMES = [
    "陈晓燕", "刘堃", "王𠮷", "赵一鸣", "孙丽华", "周杰", "吴婷婷", "郑浩", "冯雪", "蒋志强",
    "韩梅", "杨洋", "朱琳", "秦川", "许嘉怡", "何喆", "吕小凤", "施展", "张伟", "买买提·艾力",
    "曹颖", "严冬", "华晨", "金鑫", "魏然",
]


@dataclass(frozen=True)
class DemoCourse:
    slug: str
    title: str
    platform: str
    duration_label: str
    summary: str
    outcomes: str
    audience: str


COURSES = [
    DemoCourse(
        XHS_SLUG, "快速玩转小红书成长特训营", "小红书", "3天2夜",
        "小红书正在全力发力电商。三天两夜线下实战，从账号定位、爆款笔记到店铺转化与投放，"
        "带你抓住小红书电商的红利窗口。名额有限，先到先得。",
        "小红书电商的平台规则与流量逻辑\n账号定位与人设打造\n爆款笔记的选题、封面与文案方法\n"
        "店铺搭建、商品卡与直播转化\n薯条、聚光投放与数据复盘",
        "想入局小红书电商的品牌方与商家\n已有淘宝、抖音店铺、想拓展新渠道的卖家\n负责内容与增长的运营团队",
    ),
    DemoCourse(
        "douyin-ecommerce-camp", "抖音电商从0到1实战营", "抖音", "2天1夜",
        "短视频与直播双轮驱动，系统掌握抖音小店的起号、选品、直播间搭建与千川投放。",
        "抖音电商的兴趣推荐机制\n新号冷启动与起号节奏\n直播间人货场搭建\n巨量千川投放入门",
        "准备开抖音小店的商家\n直播团队负责人",
    ),
    DemoCourse(
        "taobao-tmall-growth-camp", "淘宝天猫店铺增长特训营", "淘宝天猫", "3天2夜",
        "搜索与推荐并重的新淘宝：店铺诊断、产品布局、直通车与万相台投放、大促节奏。",
        "店铺数据诊断\n产品结构与定价\n搜索优化与推荐流量\n大促活动的准备与复盘",
        "淘宝天猫店主与运营\n希望提升 ROI 的电商团队",
    ),
    DemoCourse(
        OPEN_DAY_SLUG, "电商增长公开课", "公开课", "半天",
        "免费公开课：玺承集团讲师用半天时间讲透各平台的最新规则与增长机会，帮你判断下一步投入哪个平台。",
        "淘宝天猫、抖音、拼多多、京东、小红书的最新变化\n各平台的流量获取方式对比\n特训营课程介绍与答疑",
        "想了解电商平台最新动态的商家\n在选择特训营的同学",
    ),
    DemoCourse(
        "private-domain-camp", "私域流量运营特训营", "私域", "2天1夜",
        "企业微信、社群与小程序商城：把公域流量沉淀为可反复触达的私域资产。",
        "私域用户分层与标签体系\n社群运营 SOP\n企业微信与小程序商城打通\n复购与转介绍",
        "有一定客户基础的品牌与门店\n负责用户增长与复购的团队",
    ),
]


def _shanghai(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(ZoneInfo("UTC"))


def _next_september_17(today: date) -> date:
    this_year = date(today.year, 9, 17)
    return this_year if this_year > today else date(today.year + 1, 9, 17)


def _course(demo: DemoCourse) -> Course:
    course = db.session.scalar(select(Course).where(Course.slug == demo.slug))
    if course is None:
        course = catalog.create_course(
            slug=demo.slug, title=demo.title, platform=demo.platform, duration_label=demo.duration_label,
            summary=demo.summary, outcomes=demo.outcomes, audience=demo.audience, is_published=True,
        )
    return course


def _session(course: Course, first_day: date, days: int, capacity: int, price: str, city: str, venue: str,
             address: str, label: str) -> CampSession:
    starts_at = _shanghai(first_day, 9)
    camp = db.session.scalar(
        select(CampSession).where(CampSession.course_id == course.id, CampSession.starts_at == starts_at)
    )
    if camp is None:
        camp = catalog.create_session(
            course.id, capacity=capacity, label=label, starts_at=starts_at,
            ends_at=_shanghai(first_day + timedelta(days=days - 1), 18), city=city, venue=venue, address=address,
            price=Decimal(price), is_published=True,
            # Open for a few months before the start, and open already for every upcoming demo session.
            registration_opens_at=min(starts_at - timedelta(days=120), utcnow() - timedelta(days=7)),
            registration_closes_at=starts_at - timedelta(days=1),
            cancellation_deadline=starts_at - timedelta(days=3),
        )
    return camp


def _demo_students(password: str) -> list[User]:
    students = []
    for number, name in enumerate(DEMO_STUDENT_NAMES, start=1):
        email = f"demo{number:02d}@example.com"
        user = accounts.find_by_login(email) or accounts.register_user(
            email, password, name, f"1390000{number:04d}"
        )
        students.append(user)
    return students


def _book(users: list[User], camp: CampSession, at: datetime) -> None:
    """Book at `at`; a paid session's seats are paid a few minutes later, when they were held."""
    for number, user in enumerate(users):
        outcome = book_answering(user, camp, number, at)
        if at < utcnow() - timedelta(hours=1):  # a booking of the past was paid then
            pay_as_provider(outcome.registration.id, user, at + timedelta(minutes=3), number)


def _book_over_the_last_days(users: list[User], camp: CampSession) -> None:
    """One booking every few hours up to now, in order, so the dashboard's per-day chart has a shape
    (registration of the upcoming demo sessions opened a week ago); paid ones paid minutes later,
    by WeChat Pay or Alipay, as the demo providers would have told the site."""
    now = utcnow()
    for steps_back, user in zip(range(len(users), 0, -1), users, strict=True):
        at = now - timedelta(hours=5 * steps_back)
        outcome = book_answering(user, camp, steps_back, at)
        pay_as_provider(outcome.registration.id, user, at + timedelta(minutes=3), steps_back)


def pay_as_provider(registration_id: int, user: User, at: datetime, number: int) -> None:
    """Pay a held seat as a provider's notification would (nothing to do for a free seat, a place on
    the waiting list, or a seat paid by an earlier run)."""
    registration = db.session.get(Registration, registration_id)
    if not registration.status.is_hold:
        return
    provider = PaymentProvider.WECHAT if number % 3 else PaymentProvider.ALIPAY
    order = payments.open_order(registration_id, user, provider, "native" if provider is PaymentProvider.WECHAT
                                else "page", now=at)
    payments.record_payment(provider, order.out_trade_no, f"DEMO{order.out_trade_no}", order.amount, at, now=at)


def _choose_bank_transfer(user: User, camp: CampSession) -> None:
    """A company paying for its employee by 对公转账: the seat is held for days, waiting for staff
    to confirm the transfer."""
    outcome = book_answering(user, camp, 99, utcnow())
    if outcome.registration.status is RegistrationStatus.PENDING_PAYMENT:
        payments.open_order(outcome.registration.id, user, PaymentProvider.BANK, "transfer")


def seed_catalog(password: str, demo_student: User) -> None:
    """The 小红书 camp (upcoming and a finished 2025 cohort, both asking its registration
    questions) and three other courses."""
    today = utcnow().astimezone(SHANGHAI).date()
    xhs, douyin, taobao, open_day, private = (_course(demo) for demo in COURSES)
    seed_questions(xhs.id)  # 公司名称, 店铺类型, 主营类目, 年营业额 ...: asked by both its sessions
    students = _demo_students(password)

    upcoming = _session(xhs, _next_september_17(today), 3, 60, "3980.00", "杭州", "玺承集团杭州培训中心",
                        "杭州市滨江区网商路 699 号", "9月班")
    finished = _session(xhs, date(2025, 9, 17), 3, 60, "3680.00", "杭州", "玺承集团杭州培训中心",
                        "杭州市滨江区网商路 699 号", "2025年9月班")
    _session(douyin, today + timedelta(days=45), 2, 80, "2980.00", "广州", "天河区创新中心",
             "广州市天河区天河路 385 号", "")
    _session(taobao, today + timedelta(days=75), 3, 100, "4580.00", "杭州", "玺承集团杭州培训中心",
             "杭州市滨江区网商路 699 号", "")
    # The free open day: booking confirms at once, no payment.
    free = _session(open_day, today + timedelta(days=14), 1, 200, "0.00", "杭州", "玺承集团杭州培训中心",
                    "杭州市滨江区网商路 699 号", "公开课")
    # A small, already full session, so the waiting list can be seen in the demo.
    full = _session(private, today + timedelta(days=30), 2, 5, "1980.00", "上海", "静安区会议中心",
                    "上海市静安区南京西路 1266 号", "小班")

    # Bookings are made "at" a time when registration was open, through the booking and payments
    # services: the paid sessions' seats are paid for minutes after they were held.
    _book_over_the_last_days(students[:17], upcoming)
    # Two seats held right now, waiting for payment, and one company paying by bank transfer.
    _book(students[17:19], upcoming, at=utcnow())
    _choose_bank_transfer(students[19], upcoming)
    _book([demo_student, *students[:17]], finished, at=finished.starts_at - timedelta(days=30))
    _book_over_the_last_days(students[5:12], full)
    _book_over_the_last_days(students[:8], free)
    _attendance_of_finished_cohort(finished)
    # Everyone who came every day gets a certificate; student@example.com is one of them.
    certificates.issue_for_session(finished.id, actor=accounts.find_by_login("staff@example.com"))


def _attendance_of_finished_cohort(camp: CampSession) -> None:
    """Everyone came on all three days, except two people who each missed one."""
    staff = accounts.find_by_login("staff@example.com")
    registrations = db.session.scalars(
        select(Registration)
        .where(Registration.session_id == camp.id, Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)
    ).all()
    days = roster.session_days(camp)
    for number, registration in enumerate(registrations):
        for day_number, day in enumerate(days):
            missed = (number, day_number) in {(3, 1), (7, 2)}
            roster.set_attendance(registration.id, day, not missed, staff,
                                  now=datetime.combine(day, time(9, 0), SHANGHAI).astimezone(ZoneInfo("UTC")))
