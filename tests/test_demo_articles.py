"""`seed-demo` loads articles a visitor can read: four 栏目, published articles with a booking card for
the 小红书 camp, one scheduled and one draft (both invisible), and figures that are not all zero."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.booking.models import Registration
from app.catalog.models import CampSession, Course
from app.cms import queries
from app.cms.models import Article, ArticleColumn, ArticleRevision, ArticleStatus
from app.common.time import utcnow
from app.demo.article_texts import LEAD_SLUG
from app.demo.catalog import XHS_SLUG
from app.extensions import db


def run(app, *args: str):
    # seed-demo is added with add_command: the runner alone pushes no app context for it (see test_cli_accounts).
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def figures_of_every_article() -> list[tuple]:
    return [(a.slug, a.status, a.publish_at, a.view_count, a.card_clicks, a.revision_number)
            for a in db.session.scalars(select(Article).order_by(Article.id))]


def upcoming_xhs_session_id() -> int:
    return db.session.scalar(
        select(CampSession.id).join(Course)
        .where(Course.slug == XHS_SLUG, CampSession.starts_at > utcnow()).order_by(CampSession.starts_at)
    )


def test_seed_demo_publishes_articles_with_a_booking_card_and_is_safe_to_run_twice(app, client):
    result = run(app, "seed-demo")

    assert result.exit_code == 0, result.output
    assert "demo articles: 9 created" in result.output
    with app.app_context():
        now = utcnow()
        assert set(db.session.scalars(select(ArticleColumn.name))) == {"深度好文", "客户案例", "品牌资讯", "全域营销"}
        every = db.session.scalars(select(Article)).all()
        public = [article for article in every if article.is_public(now)]
        assert 6 <= len(public) <= 8
        assert len({article.column_id for article in public}) == 4
        assert all(article.tags and article.author_name for article in public)
        # Spread over the last months, all in the past.
        dates = sorted(article.publish_at for article in public)
        assert dates[-1] <= now and dates[-1] - dates[0] > timedelta(days=60)

        [scheduled] = [a for a in every if a.status is ArticleStatus.SCHEDULED]
        assert now < scheduled.publish_at <= now + timedelta(days=7)
        [draft] = [a for a in every if a.status is ArticleStatus.DRAFT]
        assert draft.publish_at is None

        lead = db.session.scalar(select(Article).where(Article.slug == LEAD_SLUG))
        session_id = upcoming_xhs_session_id()
        assert (lead.author_name, lead.column.name) == ("玺承集团", "深度好文")
        for part in ("## ", "\n- ", "\n1. ", "\n> ", "| --- |", "《快速玩转小红书成长特训营》", "3天2夜", "9.17–9.19",
                     "名额有限，先到先得", f"[[session:{session_id}]]"):
            assert part in lead.body
        figures = {row.article_id: row for row in queries.article_figures()}[lead.id]
        assert figures.views > 0 and figures.card_clicks > 0 and figures.bookings == 3
        assert figures.conversion > 0
        lead_id, scheduled_slug, draft_slug = lead.id, scheduled.slug, draft.slug

    page = client.get(f"/articles/{LEAD_SLUG}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "立即预约" in html and f'href="/articles/{lead_id}/book/{session_id}"' in html
    for line in ("<table>", "<blockquote>", "<h2>"):
        assert line in html
    for hidden in (scheduled_slug, draft_slug):
        assert client.get(f"/articles/{hidden}").status_code == 404
        assert hidden not in client.get("/articles/").get_data(as_text=True)

    # Safe to run twice: a retried deploy script adds nothing and resets no figure.
    with app.app_context():
        before = figures_of_every_article()
        revisions = db.session.scalar(select(func.count()).select_from(ArticleRevision))
    second = run(app, "seed-demo")

    assert second.exit_code == 0, second.output
    assert "demo articles: 0 created" in second.output
    with app.app_context():
        assert figures_of_every_article() == before
        assert db.session.scalar(select(func.count()).select_from(ArticleRevision)) == revisions
        assert db.session.scalar(select(func.count()).where(Registration.source.like("article:%"))) == 5
