"""Demo articles: four 栏目, published articles over the last months, one scheduled, one draft.

Made through the CMS service like an admin would (so every article has its revision and audit
entries). Safe to run twice: an article whose slug exists is left alone. The reading figures
(views, booking-card clicks) are set with a plain UPDATE here only, so the admin figures are not
all zero; a few bookings are attributed to the articles through the booking service.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app.accounts import service as accounts
from app.accounts.models import User
from app.catalog.models import CampSession, Course
from app.cms import service as cms
from app.cms.models import Article, ArticleColumn
from app.common.db import write_transaction
from app.common.time import utcnow
from app.demo.article_texts import COLUMNS, DRAFT, PUBLISHED, SCHEDULED, DemoArticle
from app.demo.catalog import COURSES, XHS_SLUG, pay_as_provider
from app.demo.questions import book_answering
from app.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOUYIN_SLUG = COURSES[1].slug
# Demo students who booked through an article's booking card, two hours ago, and paid (they hold no
# seat in these sessions from seed_catalog, which books demo01-20 into the 小红书 session and none
# into the 抖音 one).
ATTRIBUTED_BOOKINGS = {
    "xiaohongshu-ecommerce-opportunity": (XHS_SLUG, ["demo23@example.com", "demo24@example.com",
                                                     "demo25@example.com"]),
    "douyin-ecommerce-second-half": (DOUYIN_SLUG, ["demo01@example.com", "demo02@example.com"]),
}


def seed_articles(actor: User) -> int:
    """Create the demo columns and articles that are missing; returns how many articles were created."""
    now = utcnow()
    columns = _columns()
    cards = {
        "{xhs_card}": _card_marker(XHS_SLUG, now),
        "{douyin_card}": _card_marker(DOUYIN_SLUG, now),
    }
    created = 0
    for demo in PUBLISHED:
        article = _article(demo, columns, cards, actor)
        if article is None:
            continue
        created += 1
        cms.publish_article(article.id, actor, now=_days_ago(now, demo.days_ago))
        _set_figures(article.id, demo.views, demo.card_clicks)
        _attributed_bookings(article.id, demo.slug, now)
    scheduled = _article(SCHEDULED, columns, cards, actor)
    if scheduled is not None:
        created += 1
        cms.schedule_article(scheduled.id, _evening(now + timedelta(days=SCHEDULED.in_days)), actor, now=now)
    if _article(DRAFT, columns, cards, actor) is not None:
        created += 1
    return created


def _columns() -> dict[str, int]:
    """Column ids by slug, creating the missing ones."""
    ids = {}
    for position, (slug, name, description) in enumerate(COLUMNS):
        column = db.session.scalar(select(ArticleColumn).where(ArticleColumn.slug == slug))
        if column is None:
            column = cms.create_column(name, slug=slug, description=description, position=position)
        ids[slug] = column.id
    return ids


def _upcoming_session(course_slug: str, now: datetime) -> CampSession | None:
    return db.session.scalar(
        select(CampSession).join(Course)
        .where(Course.slug == course_slug, CampSession.is_published, CampSession.starts_at > now)
        .order_by(CampSession.starts_at).limit(1)
    )


def _card_marker(course_slug: str, now: datetime) -> str:
    camp = _upcoming_session(course_slug, now)
    return f"[[session:{camp.id}]]" if camp is not None else ""


def _article(demo: DemoArticle, columns: dict[str, int], cards: dict[str, str], actor: User) -> Article | None:
    """The new draft, or None when an article with this slug is already there."""
    if db.session.scalar(select(Article.id).where(Article.slug == demo.slug)) is not None:
        return None
    body = demo.body
    for placeholder, marker in cards.items():
        body = body.replace(placeholder, marker)
    return cms.create_article(cms.ArticleInput(
        title=demo.title, slug=demo.slug, summary=demo.summary, body=body.rstrip() + "\n",
        author_name=demo.author, seo_description=demo.seo_description, cover_image=None,
        column_id=columns[demo.column], tag_names=list(demo.tags), publish_at=None,
    ), actor)


def _evening(moment: datetime) -> datetime:
    """20:00 in Shanghai on that day: when official accounts usually post."""
    local = moment.astimezone(SHANGHAI)
    return local.replace(hour=20, minute=0, second=0, microsecond=0).astimezone(ZoneInfo("UTC"))


def _days_ago(now: datetime, days: int | None) -> datetime:
    moment = _evening(now - timedelta(days=days or 0))
    return min(moment, now - timedelta(minutes=5))  # "today at 20:00" may still be ahead


@write_transaction
def _set_figures(article_id: int, views: int, card_clicks: int) -> None:
    # Demo only: real figures change solely through service.record_view / record_card_click.
    db.session.execute(update(Article).where(Article.id == article_id)
                       .values(view_count=views, card_clicks=card_clicks))


def _attributed_bookings(article_id: int, slug: str, now: datetime) -> None:
    if slug not in ATTRIBUTED_BOOKINGS:
        return
    course_slug, emails = ATTRIBUTED_BOOKINGS[slug]
    camp = _upcoming_session(course_slug, now)
    if camp is None:
        return
    booked_at = now - timedelta(hours=2)
    for number, email in enumerate(emails):
        student = accounts.find_by_login(email)
        if student is not None:
            outcome = book_answering(student, camp, 50 + number, booked_at, source=f"article:{article_id}")
            pay_as_provider(outcome.registration.id, student, booked_at + timedelta(minutes=3), number)
