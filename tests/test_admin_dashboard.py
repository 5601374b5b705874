"""The admin dashboard (/admin/) and its CSV downloads, as an admin reads them: upcoming sessions'
fill and waitlist, registrations per Shanghai day with empty days as 0, check-in rate and
certificates of finished sessions, the article funnel best first; who may open it."""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.cms.models import Article
from app.common.db import begin_write
from app.common.time import utcnow
from app.extensions import db
from app.payments import refunds
from app.payments.models import PaymentProvider
from tests.factories import (
    DAYS,
    attend,
    book,
    cohort,
    issue,
    make_course,
    make_session,
    make_students,
    pay,
    revoke,
    settle,
    staff_refund,
)
from tests.helpers import statements_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHARTS = ("upcoming", "registrations", "checkins", "certificates", "articles", "revenue", "session_revenue")


# --- building data ----------------------------------------------------------------------------

_numbers = itertools.count(500_000, 100)  # own emails and phones, apart from the cohorts' (from 0)
_slugs = itertools.count(1)


def students(app, count: int) -> list[int]:
    return make_students(app, count, first_number=next(_numbers))


def new_session(app, title: str, **fields) -> int:
    with app.app_context():
        session_id = make_session(make_course(title), **fields)
        db.session.remove()
    return session_id


def book_all(app, user_ids: list[int], session_id: int, source: str = "web", at: datetime | None = None) -> None:
    """Each person books the session; `at` is when (the registration's created_at)."""
    for user_id in user_ids:
        book(app, user_id, session_id, source=source, at=at)


def article(app, title: str, views: int, clicks: int) -> int:
    """An article with its counters as the CMS would have left them (the counting is not under test)."""
    with app.app_context():
        begin_write()
        row = Article(slug=f"article-{next(_slugs)}", title=title, view_count=views, card_clicks=clicks)
        db.session.add(row)
        db.session.commit()
        article_id = row.id
        db.session.remove()
    return article_id


def download(client, key: str, **params) -> list[list[str]]:
    response = client.get(f"/admin/dashboard/{key}.csv", query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def chart_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def shanghai_today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


# --- who may open it --------------------------------------------------------------------------

URLS = ["/admin/", "/admin/?days=90"] + [f"/admin/dashboard/{key}.csv" for key in CHARTS]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("url", URLS)
def test_students_and_staff_are_refused(student_client, staff_client, url):
    assert student_client.get(url).status_code == 403
    assert staff_client.get(url).status_code == 403


def test_an_empty_site_shows_every_panel_with_nothing_to_report(admin_client):
    response = admin_client.get("/admin/")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "没有未结束的场次" in html and "还没有已结束的场次" in html and "还没有文章" in html
    data = chart_data(html)
    assert data["registrations"]["datasets"][0]["data"] == [0] * 30  # every day there, as 0
    assert data["upcoming"]["labels"] == [] and data["articles"]["labels"] == []
    for key in CHARTS:
        assert f'href="/admin/dashboard/{key}.csv' in html


def test_charts_use_the_local_chart_library_and_no_inline_script(admin_client, client):
    html = admin_client.get("/admin/").get_data(as_text=True)

    sources = re.findall(r'<script([^>]*)>', html)
    assert ' src="/static/vendor/chartjs/chart.umd.min.js"' in sources
    assert ' src="/static/js/dashboard.js"' in sources
    # Every other script element is the data block: nothing runs inline, nothing from another host.
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in sources)
    assert "//cdn" not in html and 'src="http' not in html
    library = client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert library.status_code == 200 and b"Chart.js v4" in library.get_data()[:200]
    library.close()


def test_an_unknown_chart_has_no_csv(admin_client):
    assert admin_client.get("/admin/dashboard/passwords.csv").status_code == 404


# --- upcoming sessions --------------------------------------------------------------------------

def test_upcoming_sessions_show_fill_rate_and_waitlist_soonest_first(app, admin_client):
    later = new_session(app, "抖音电商爆款特训营", capacity=4, starts_in_days=40)
    sooner = new_session(app, "快速玩转小红书成长特训营", capacity=2, starts_in_days=10, label="第12期")
    new_session(app, "拼多多运营实战营", capacity=5, starts_at=datetime(2025, 3, 1, 1, tzinfo=UTC),
                ends_at=datetime(2025, 3, 3, 10, tzinfo=UTC))  # finished: not upcoming
    book_all(app, students(app, 3), later)
    book_all(app, students(app, 5), sooner)  # 2 seats: 2 confirmed, 3 on the waitlist

    rows = download(admin_client, "upcoming")

    assert rows[0] == ["课程", "期次", "开课日期", "城市", "名额", "已占用", "上座率", "候补人数"]
    assert [row[0] for row in rows[1:]] == ["快速玩转小红书成长特训营", "抖音电商爆款特训营"]
    assert rows[1][1] == "第12期" and rows[1][4:] == ["2", "2", "100.0%", "3"]
    assert rows[2][4:] == ["4", "3", "75.0%", "0"]

    html = admin_client.get("/admin/").get_data(as_text=True)
    upcoming = chart_data(html)["upcoming"]
    assert [d["data"] for d in upcoming["datasets"]] == [[2, 3], [0, 1], [3, 0]]  # confirmed, free, waitlist
    assert "75.0%" in html and "100.0%" in html
    assert '<span class="stat-value">2</span><span class="stat-label">未结束场次</span>' in html


# --- registrations per day --------------------------------------------------------------------------

def test_registrations_are_counted_per_shanghai_day_with_empty_days_as_zero(app, admin_client):
    session_id = new_session(app, "快速玩转小红书成长特训营", capacity=50, starts_in_days=30)
    now = utcnow()
    today = shanghai_today()
    five_ago = today - timedelta(days=5)
    # 15:59 UTC is 23:59 in Shanghai; 16:30 UTC is already 00:30 of the next Shanghai day.
    late_evening = datetime.combine(five_ago, datetime.min.time(), tzinfo=UTC).replace(hour=15, minute=59)
    after_midnight = late_evening.replace(hour=16, minute=30)
    people = students(app, 7)
    book_all(app, people[:1], session_id, at=now - timedelta(days=1))
    book_all(app, people[1:3], session_id, at=now - timedelta(days=3))
    book_all(app, people[3:4], session_id, at=late_evening)
    book_all(app, people[4:5], session_id, at=after_midnight)
    book_all(app, people[5:6], session_id, at=now - timedelta(days=40))  # only in the 90-day view
    book_all(app, people[6:7], session_id, at=now - timedelta(days=100))  # in neither

    rows = download(admin_client, "registrations", days=30)

    assert rows[0] == ["日期（北京时间）", "报名数"]
    expected = {today - timedelta(days=1): 1, today - timedelta(days=3): 2, five_ago: 1,
                five_ago + timedelta(days=1): 1}
    assert rows[1:] == [[(today - timedelta(days=n)).isoformat(), str(expected.get(today - timedelta(days=n), 0))]
                        for n in range(29, -1, -1)]

    ninety = download(admin_client, "registrations", days=90)
    assert len(ninety) == 91 and ninety[1][0] == (today - timedelta(days=89)).isoformat()
    assert sum(int(count) for _day, count in ninety[1:]) == 6
    assert [count for day, count in ninety[1:] if day == (today - timedelta(days=40)).isoformat()] == ["1"]

    html = admin_client.get("/admin/?days=90").get_data(as_text=True)
    data = chart_data(html)["registrations"]
    assert len(data["labels"]) == 90 and sum(data["datasets"][0]["data"]) == 6
    assert "近 90 天报名" in html and "每日报名（近 90 天）" in html
    assert 'href="/admin/dashboard/registrations.csv?days=90"' in html


@pytest.mark.parametrize("typed", ["abc", "7", "-30", "9999999999999999999999", ""])
def test_a_day_range_typed_by_hand_falls_back_to_thirty_days(admin_client, typed):
    response = admin_client.get("/admin/", query_string={"days": typed})
    assert response.status_code == 200
    assert len(chart_data(response.get_data(as_text=True))["registrations"]["labels"]) == 30
    assert len(download(admin_client, "registrations", days=typed)) == 31


# --- finished sessions: check-in rate and certificates ------------------------------------------------

def test_check_in_rate_and_certificates_of_a_finished_session(app, staff, admin_client):
    session_id, registrations = cohort(app, staff, 4, attending=2)  # two came every day
    attend(app, registrations[2], DAYS[:1], staff)  # one came on the first day only; one never came
    issue(app, registrations[0], staff)
    revoke(app, issue(app, registrations[1], staff), staff)

    checkins = download(admin_client, "checkins")
    assert checkins[0] == ["课程", "期次", "开课日期", "城市", "已确认", "已签到", "签到率"]
    assert len(checkins) == 2 and checkins[1][2] == "2025-09-17" and checkins[1][4:] == ["4", "3", "75.0%"]

    certificates = download(admin_client, "certificates")
    assert certificates[0][-2:] == ["已确认", "有效证书"] and certificates[1][4:] == ["4", "1"]

    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "共颁发有效证书 1 张，已撤销 1 张" in html
    assert '<span class="stat-value">1</span><span class="stat-label">有效证书</span>' in html
    data = chart_data(html)
    assert data["checkins"]["datasets"][0]["data"] == [75.0]
    assert data["checkins"]["tooltips"] == ["已签到 3 / 已确认 4"]
    assert [d["data"] for d in data["certificates"]["datasets"]] == [[4], [1]]


def test_the_page_shows_the_latest_twenty_finished_sessions_and_the_csv_all_of_them(app, staff, admin_client):
    session_id, registrations = cohort(app, staff, 2, attending=1)  # September 2025: the oldest
    issue(app, registrations[0], staff)
    recent = utcnow().replace(microsecond=0) - timedelta(days=10)
    for n in range(21):  # finished since, nobody booked
        new_session(app, f"拼多多运营实战营{n}", capacity=5, starts_at=recent - timedelta(days=7 * n),
                    ends_at=recent - timedelta(days=7 * n - 2))

    html = admin_client.get("/admin/").get_data(as_text=True)
    assert len(chart_data(html)["checkins"]["labels"]) == 20
    assert "页面显示前 20 项，共 22 项；完整数据请下载 CSV。" in html

    checkins, certificates = download(admin_client, "checkins"), download(admin_client, "certificates")
    assert len(checkins) == len(certificates) == 23
    # The oldest session is counted too (the counts are asked 20 sessions at a time).
    assert checkins[-1][2] == "2025-09-17" and checkins[-1][4:] == ["2", "1", "50.0%"]
    assert certificates[-1][4:] == ["2", "1"]
    assert {tuple(row[4:]) for row in checkins[1:-1]} == {("0", "0", "—")}


def test_a_finished_session_nobody_booked_has_no_rate_rather_than_a_division_error(app, admin_client):
    new_session(app, "拼多多运营实战营", capacity=5, starts_at=datetime(2025, 3, 1, 1, tzinfo=UTC),
                ends_at=datetime(2025, 3, 3, 10, tzinfo=UTC))

    assert download(admin_client, "checkins")[1][4:] == ["0", "0", "—"]
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert chart_data(html)["checkins"]["datasets"][0]["data"] == [None]


# --- the content funnel ------------------------------------------------------------------------------

def test_the_article_funnel_lists_views_clicks_bookings_best_conversion_first(app, admin_client):
    widely_read = article(app, "小红书种草笔记怎么写", views=100, clicks=10)
    converts = article(app, "抖音直播间的三个话术", views=10, clicks=5)
    unread = article(app, "新文章", views=0, clicks=0)
    session_id = new_session(app, "快速玩转小红书成长特训营", capacity=20)
    people = students(app, 4)
    book_all(app, people[:2], session_id, source=f"article:{widely_read}")
    book_all(app, people[2:3], session_id, source=f"article:{converts}")
    book_all(app, people[3:], session_id)  # booked from the course page: no article's

    rows = download(admin_client, "articles")

    assert rows == [
        ["ID", "文章", "阅读", "卡片点击", "报名", "转化率"],
        [str(converts), "抖音直播间的三个话术", "10", "5", "1", "10.0%"],
        [str(widely_read), "小红书种草笔记怎么写", "100", "10", "2", "2.0%"],
        [str(unread), "新文章", "0", "0", "0", "0.0%"],
    ]
    html = admin_client.get("/admin/").get_data(as_text=True)
    funnel = chart_data(html)["articles"]
    assert funnel["labels"] == ["抖音直播间的三个话术", "小红书种草笔记怎么写", "新文章"]
    assert funnel["datasets"][0]["data"] == [10.0, 2.0, 0.0]
    assert funnel["tooltips"][0] == "阅读 10 → 点击 5 → 报名 1"
    assert '<span class="stat-value">110</span><span class="stat-label">文章阅读</span>' in html
    assert '<span class="stat-value">3</span><span class="stat-label">文章带来报名</span>' in html
    assert "全部文章合计转化率 2.7%" in html


def test_a_title_that_looks_like_a_formula_stays_text_in_the_csv(app, admin_client):
    article(app, '=HYPERLINK("http://evil.example","点我")', views=1, clicks=0)
    assert download(admin_client, "articles")[1][1] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"


# --- money --------------------------------------------------------------------------------------------

def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def paid_booking(app, session_id: int, transaction_id: str, paid_at: datetime | None = None, **pay_args) -> int:
    [user_id] = students(app, 1)
    registration = book(app, user_id, session_id)
    pay(app, registration, transaction_id, paid_at=paid_at, **pay_args)
    return registration


def test_revenue_is_payments_less_refunds_per_shanghai_day(app, staff, admin_client):
    session_id = new_session(app, "快速玩转小红书成长特训营", capacity=10, price="3980.00")
    cheap = new_session(app, "体验课", capacity=10, price="0.01")
    today = shanghai_today()
    three_ago = today - timedelta(days=3)
    paid_booking(app, session_id, "4200000001", shanghai(three_ago, 23, 59))
    refunded = paid_booking(app, session_id, "4200000002", shanghai(three_ago + timedelta(days=1), 0, 1),
                            provider=PaymentProvider.ALIPAY)
    paid_booking(app, cheap, "4200000003", shanghai(three_ago, 12))
    [request_id] = staff_refund(app, refunded, "980.00", "课程调整补偿", staff)
    settle(app, request_id, "50300000001", at=shanghai(today, 0, 5))
    staff_refund(app, refunded, "1000.00", "未退回", staff)  # decided, not sent: no money has moved yet
    paid_booking(app, session_id, "4200000004", utcnow() - timedelta(days=40))  # only in the 90-day view

    rows = download(admin_client, "revenue", days=30)

    assert rows[0] == ["日期（北京时间）", "收款（元）", "退款（元）", "净收入（元）"]
    by_day = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_day) == 30
    assert by_day[three_ago.isoformat()] == ["3980.01", "0.00", "3980.01"]
    assert by_day[(three_ago + timedelta(days=1)).isoformat()] == ["3980.00", "0.00", "3980.00"]
    assert by_day[today.isoformat()] == ["0.00", "980.00", "-980.00"]
    assert {tuple(values) for day, values in by_day.items()
            if day not in (three_ago.isoformat(), (three_ago + timedelta(days=1)).isoformat(), today.isoformat())
            } == {("0.00", "0.00", "0.00")}

    html = admin_client.get("/admin/").get_data(as_text=True)
    chart = chart_data(html)["revenue"]
    assert chart["datasets"][0]["data"][-4:] == ["3980.01", "3980.00", "0.00", "-980.00"]  # exact, as text
    assert "近 30 天净收入 ¥6,980.01" in html
    ninety = download(admin_client, "revenue", days=90)
    assert sum(Decimal(row[3]) for row in ninety[1:]) == Decimal("10960.01")


def test_revenue_per_session_latest_first_and_only_sessions_with_money(app, staff, admin_client):
    sooner = new_session(app, "快速玩转小红书成长特训营", capacity=10, price="3980.00", starts_in_days=10,
                         label="第12期")
    later = new_session(app, "抖音电商爆款特训营", capacity=10, price="0.01", starts_in_days=40)
    new_session(app, "拼多多运营实战营", capacity=10, price="3980.00")  # nobody paid: not listed
    first = paid_booking(app, sooner, "4200000001")
    paid_booking(app, sooner, "4200000002", provider=PaymentProvider.ALIPAY)
    [request_id] = staff_refund(app, first, "3980.00", "学员退课", staff)
    settle(app, request_id, "50300000001")
    paid_booking(app, later, "4200000003")

    rows = download(admin_client, "session_revenue")

    assert rows[0] == ["课程", "期次", "开课日期", "城市", "收款（元）", "退款（元）", "净收入（元）"]
    assert [(row[0], row[4:]) for row in rows[1:]] == [
        ("抖音电商爆款特训营", ["0.01", "0.00", "0.01"]),
        ("快速玩转小红书成长特训营", ["7960.00", "3980.00", "3980.00"]),
    ]
    chart = chart_data(admin_client.get("/admin/").get_data(as_text=True))["session_revenue"]
    assert chart["datasets"][0]["data"] == ["0.01", "3980.00"]
    assert chart["tooltips"][1] == "收款 7960.00，退款 3980.00"


def test_seats_held_for_a_payment_and_refunds_to_do(app, staff, admin_client):
    session_id = new_session(app, "快速玩转小红书成长特训营", capacity=4, price="3980.00")
    held = [book(app, user_id, session_id) for user_id in students(app, 2)]  # two pending payment
    # One more that paid the wrong amount: given back at once, so the whole price is still owed.
    held.append(paid_booking(app, session_id, "4200000009", amount=Decimal("398.00")))
    paid = paid_booking(app, session_id, "4200000001")
    [failed] = staff_refund(app, paid, "980.00", "补偿", staff)
    with app.test_request_context():
        refunds.refund_failed(failed, "NOT_ENOUGH", give_up=True)
        db.session.remove()
    staff_refund(app, paid, "0.01", "找零", staff)

    html = admin_client.get("/admin/").get_data(as_text=True)

    assert len(held) == 3
    assert '<span class="stat-value">3</span><span class="stat-label">待支付名额（¥11,940.00）</span>' in html
    assert ('<span class="stat-value">3</span></a><span class="stat-label">待处理退款（¥1,378.01）'
            '<br><span class="money-back">其中 1 笔退款失败</span>') in html


# --- speed ----------------------------------------------------------------------------------------

def _statements(app, client) -> int:
    return len(statements_for(app, client, "/admin/"))


def test_the_page_runs_the_same_few_queries_however_many_sessions_and_articles(app, staff, admin_client):
    new_session(app, "快速玩转小红书成长特训营", capacity=5)
    cohort(app, staff, 1)
    article(app, "第一篇", views=1, clicks=0)
    few = _statements(app, admin_client)

    for n in range(5):
        book_all(app, students(app, 2), new_session(app, f"抖音电商特训营{n}", capacity=5, starts_in_days=10 + n))
        article(app, f"文章{n}", views=n, clicks=0)
    for people in (2, 3, 4):  # cohorts of different sizes get different course slugs
        cohort(app, staff, people, attending=1)
    for n in range(3):  # paid sessions with money in and out
        paid = new_session(app, f"直播带货特训营{n}", capacity=5, price="3980.00", starts_in_days=20 + n)
        for user_id in students(app, 2):
            registration = book(app, user_id, paid)
            pay(app, registration, f"42000{n}{user_id}")
        staff_refund(app, registration, "980.00", "补偿", staff)
    many = _statements(app, admin_client)

    assert few == many
    # The account, then one statement per figure: 12 before paid seats, then three for the money
    # (revenue per day, revenue per session, seats held and refunds to do).
    assert many <= 15
