"""The dashboard's figures as panels: for each chart, the table of its numbers (shown under the chart
and downloaded as CSV, the same rows) and the data static/js/dashboard.js draws.

Building both from the same rows keeps "the numbers behind the chart" honest: the table, the CSV
and the bars cannot disagree. The page shows the first rows of each list (a chart of 500 sessions
is unreadable on a phone); the CSV holds all of them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

from app.admin import dashboard_queries as queries
from app.admin import finance_queries as money
from app.catalog.models import CampSession
from app.cms.queries import ArticleFigures
from app.common.money import plain_amount
from app.common.time import site_zone
from app.roster.service import local_today

# Rows drawn and listed on the page per chart; the CSV has every row.
PAGE_ROWS = 20


@dataclass(frozen=True)
class Panel:
    key: str  # the CSV's URL (/admin/dashboard/<key>.csv) and the chart's id in the JSON block
    header: list[str]
    rows: list[list]  # one per table / CSV line, values as shown
    chart: dict  # what dashboard.js draws: kind, labels, datasets (and per-bar tooltips)
    total: int  # rows in the full list (the CSV), when the page shows fewer
    filename: str  # of the CSV download
    title_column: int | None = None  # the column of long titles, which may wrap on a phone

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


@dataclass(frozen=True)
class Dashboard:
    days: int
    today: date
    upcoming_count: int
    registrations_in_range: int
    certificates: queries.CertificateTotals
    funnel: queries.FunnelTotals
    outstanding: money.MoneyOutstanding
    net_in_range: Decimal  # payments less refunds over the revenue chart's days
    panels: dict[str, Panel] = field(default_factory=dict)

    @property
    def overall_conversion(self) -> str:
        """All articles' bookings / all their views."""
        return percent(self.funnel.conversion if self.funnel.views else None)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _percent_value(rate: float | None) -> float | None:
    """For the chart: a number of percent, None (no bar) where there is nothing to divide."""
    return None if rate is None else round(rate * 100, 1)


def _start_date(camp: CampSession) -> date:
    return camp.starts_at.astimezone(site_zone()).date()


def _session_label(camp: CampSession) -> str:
    """The chart's label of a session: 9/17 快速玩转小红书成长特训营 第12期."""
    start = _start_date(camp)
    return " ".join(part for part in (f"{start.month}/{start.day}", camp.course.title, camp.label) if part)


def _session_cells(camp: CampSession) -> list:
    return [camp.course.title, camp.label, _start_date(camp).isoformat(), camp.city]


def _session_header() -> list[str]:
    return [_("课程"), _("期次"), _("开课日期"), _("城市")]


# --- one builder per chart ------------------------------------------------------------------------

def upcoming_panel(items: list[queries.UpcomingSession], total: int) -> Panel:
    rows = [[*_session_cells(i.camp), i.camp.capacity, i.camp.seats_taken, percent(i.fill_rate), i.waitlist]
            for i in items]
    chart = {
        "kind": "stacked-hbar",
        "labels": [_session_label(i.camp) for i in items],
        "datasets": [
            {"label": _("已占用"), "color": "ok", "data": [i.camp.seats_taken for i in items]},
            {"label": _("空余名额"), "color": "muted", "data": [i.camp.seats_left for i in items]},
            {"label": _("候补"), "color": "hot", "data": [i.waitlist for i in items]},
        ],
    }
    return Panel("upcoming", [*_session_header(), _("名额"), _("已占用"), _("上座率"), _("候补人数")], rows, chart,
                 total, "upcoming-sessions.csv", title_column=0)


def registrations_panel(days: list[queries.DayCount]) -> Panel:
    rows = [[d.day.isoformat(), d.registrations] for d in days]
    chart = {
        "kind": "bars",
        "labels": [f"{d.day.month}/{d.day.day}" for d in days],
        "datasets": [{"label": _("报名数"), "color": "brand", "data": [d.registrations for d in days]}],
    }
    return Panel("registrations", [_("日期（北京时间）"), _("报名数")], rows, chart, len(rows),
                 f"registrations-per-day-{len(days)}d.csv")


def checkin_panel(past: list[queries.PastSession], total: int) -> Panel:
    rows = [[*_session_cells(p.camp), p.confirmed, p.checked_in, percent(p.checkin_rate)] for p in past]
    chart = {
        "kind": "percent-hbar",
        "max": 100,
        "labels": [_session_label(p.camp) for p in past],
        "datasets": [{"label": _("签到率"), "color": "ok", "data": [_percent_value(p.checkin_rate) for p in past]}],
        "tooltips": [_("已签到 %(n)s / 已确认 %(total)s", n=p.checked_in, total=p.confirmed) for p in past],
    }
    return Panel("checkins", [*_session_header(), _("已确认"), _("已签到"), _("签到率")], rows, chart, total,
                 "checkin-rate.csv", title_column=0)


def certificates_panel(past: list[queries.PastSession], total: int) -> Panel:
    rows = [[*_session_cells(p.camp), p.confirmed, p.certificates] for p in past]
    chart = {
        "kind": "hbar",
        "labels": [_session_label(p.camp) for p in past],
        "datasets": [
            {"label": _("已确认"), "color": "muted", "data": [p.confirmed for p in past]},
            {"label": _("有效证书"), "color": "ok", "data": [p.certificates for p in past]},
        ],
    }
    return Panel("certificates", [*_session_header(), _("已确认"), _("有效证书")], rows, chart, total,
                 "certificates.csv", title_column=0)


def funnel_panel(figures: list[ArticleFigures], total: int) -> Panel:
    rows = [[f.article_id, f.title, f.views, f.card_clicks, f.bookings, percent(f.conversion)] for f in figures]
    chart = {
        "kind": "percent-hbar",
        "labels": [f.title for f in figures],
        "datasets": [{"label": _("转化率（报名 / 阅读）"), "color": "brand",
                      "data": [_percent_value(f.conversion) for f in figures]}],
        "tooltips": [_("阅读 %(views)s → 点击 %(clicks)s → 报名 %(bookings)s", views=f.views, clicks=f.card_clicks,
                       bookings=f.bookings) for f in figures],
    }
    return Panel("articles", ["ID", _("文章"), _("阅读"), _("卡片点击"), _("报名"), _("转化率")], rows, chart, total,
                 "article-funnel.csv", title_column=1)


def revenue_panel(days: list[money.DayRevenue]) -> Panel:
    """Payments less refunds per Shanghai day: a refund counts on the day its money went back."""
    rows = [[d.day.isoformat(), d.paid, d.refunded, d.net] for d in days]
    chart = {
        "kind": "bars",
        "labels": [f"{d.day.month}/{d.day.day}" for d in days],
        # Amounts as "3980.00": exact in the JSON, read as numbers by the chart (never floats here).
        "datasets": [{"label": _("净收入（元）"), "color": "ok", "data": [plain_amount(d.net) for d in days]}],
        "tooltips": [_("收款 %(paid)s，退款 %(refunded)s", paid=plain_amount(d.paid), refunded=plain_amount(d.refunded))
                     for d in days],
    }
    return Panel("revenue", [_("日期（北京时间）"), _("收款（元）"), _("退款（元）"), _("净收入（元）")], rows, chart,
                 len(rows), f"revenue-per-day-{len(days)}d.csv")


def session_revenue_panel(items: list[money.SessionRevenue], total: int) -> Panel:
    rows = [[*_session_cells(i.camp), i.paid, i.refunded, i.net] for i in items]
    chart = {
        "kind": "hbar",
        "labels": [_session_label(i.camp) for i in items],
        "datasets": [{"label": _("净收入（元）"), "color": "ok", "data": [plain_amount(i.net) for i in items]}],
        "tooltips": [_("收款 %(paid)s，退款 %(refunded)s", paid=plain_amount(i.paid), refunded=plain_amount(i.refunded))
                     for i in items],
    }
    return Panel("session_revenue", [*_session_header(), _("收款（元）"), _("退款（元）"), _("净收入（元）")], rows,
                 chart, total, "revenue-per-session.csv", title_column=0)


# --- the page and the downloads ---------------------------------------------------------------------

def build_dashboard(now: datetime, days: int) -> Dashboard:
    today = local_today(now)
    upcoming_total = queries.count_upcoming_sessions(now)
    per_day = queries.registrations_per_day(today, days)
    past = queries.past_sessions(now, PAGE_ROWS)
    past_total = queries.count_past_sessions(now)
    funnel = queries.article_funnel()
    revenue = money.revenue_per_day(today, days)
    sessions_revenue = money.revenue_per_session()
    dashboard = Dashboard(
        days=days,
        today=today,
        upcoming_count=upcoming_total,
        registrations_in_range=sum(d.registrations for d in per_day),
        certificates=queries.certificate_totals(),
        funnel=queries.funnel_totals(funnel),
        outstanding=money.money_outstanding(),
        net_in_range=sum((d.net for d in revenue), Decimal("0.00")),
    )
    dashboard.panels.update(
        upcoming=upcoming_panel(queries.upcoming_sessions(now, PAGE_ROWS), upcoming_total),
        registrations=registrations_panel(per_day),
        checkins=checkin_panel(past, past_total),
        certificates=certificates_panel(past, past_total),
        articles=funnel_panel(funnel[:PAGE_ROWS], len(funnel)),
        revenue=revenue_panel(revenue),
        session_revenue=session_revenue_panel(sessions_revenue[:PAGE_ROWS], len(sessions_revenue)),
    )
    return dashboard


def _full_upcoming(now: datetime, days: int) -> Panel:
    items = queries.upcoming_sessions(now, None)
    return upcoming_panel(items, len(items))


def _full_registrations(now: datetime, days: int) -> Panel:
    return registrations_panel(queries.registrations_per_day(local_today(now), days))


def _full_checkins(now: datetime, days: int) -> Panel:
    past = queries.past_sessions(now, None)
    return checkin_panel(past, len(past))


def _full_certificates(now: datetime, days: int) -> Panel:
    past = queries.past_sessions(now, None)
    return certificates_panel(past, len(past))


def _full_articles(now: datetime, days: int) -> Panel:
    funnel = queries.article_funnel()
    return funnel_panel(funnel, len(funnel))


def _full_revenue(now: datetime, days: int) -> Panel:
    return revenue_panel(money.revenue_per_day(local_today(now), days))


def _full_session_revenue(now: datetime, days: int) -> Panel:
    items = money.revenue_per_session()
    return session_revenue_panel(items, len(items))


_FULL_PANELS: dict[str, Callable[[datetime, int], Panel]] = {
    "upcoming": _full_upcoming,
    "registrations": _full_registrations,
    "checkins": _full_checkins,
    "certificates": _full_certificates,
    "articles": _full_articles,
    "revenue": _full_revenue,
    "session_revenue": _full_session_revenue,
}


def full_panel(key: str, now: datetime, days: int) -> Panel | None:
    """Every row of one chart, for its CSV; None for an unknown chart."""
    build = _FULL_PANELS.get(key)
    return build(now, days) if build else None


def parse_days(value: str | None) -> int:
    """The toggle's `days=`: 30 or 90; anything else (typed by hand, old links) is 30."""
    try:
        days = int(value or "")
    except ValueError:
        return queries.DAY_RANGES[0]
    return days if days in queries.DAY_RANGES else queries.DAY_RANGES[0]
