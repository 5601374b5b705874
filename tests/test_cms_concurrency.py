"""Two editors at once: neither silently overwrites the other, and shared tags are created once.

Each save runs in its own thread, application context and database connection (run_together)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.cms import service
from app.cms.errors import ArticleChanged
from app.cms.models import ArticleRevision, Tag
from app.extensions import db
from tests.helpers import run_together


def new_article(app) -> int:
    with app.app_context():
        article_id = service.create_article(service.ArticleInput(title="小红书运营", body="原文"), None).id
        db.session.remove()
    return article_id


def save_as(article_id: int, body: str, base_revision: int | None, tags: list[str] | None = None) -> str:
    try:
        service.save_article(article_id, service.ArticleInput(title="小红书运营", body=body, tag_names=tags or []),
                             None, base_revision=base_revision)
    except ArticleChanged:
        return "changed"
    return "saved"


def test_of_two_editors_saving_the_same_revision_at_once_one_is_told(app):
    article_id = new_article(app)
    results, _ = run_together(app, [lambda n=n: save_as(article_id, f"编辑{n}的修改", base_revision=1)
                                    for n in range(6)])
    assert sorted(results) == ["changed"] * 5 + ["saved"]
    with app.app_context():
        numbers = list(db.session.scalars(
            select(ArticleRevision.number).where(ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.number)
        ))
        assert numbers == [1, 2]
        db.session.remove()


def test_saves_without_a_base_revision_get_consecutive_numbers(app):
    article_id = new_article(app)
    results, _ = run_together(app, [lambda n=n: save_as(article_id, f"第{n}次", base_revision=None)
                                    for n in range(8)])
    assert results == ["saved"] * 8
    with app.app_context():
        numbers = list(db.session.scalars(
            select(ArticleRevision.number).where(ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.number)
        ))
        assert numbers == list(range(1, 10))
        db.session.remove()


def test_a_new_tag_typed_in_several_articles_at_once_is_created_once(app):
    articles = [new_article(app) for _ in range(6)]
    results, _ = run_together(app, [lambda article_id=article_id: save_as(article_id, "正文", None, ["新标签", "种草"])
                                    for article_id in articles])
    assert results == ["saved"] * 6
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
        db.session.remove()
