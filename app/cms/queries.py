"""Every public read of the CMS: lists, search, one article's page, feed, sitemap, figures.

Nothing here writes (app/cms/service.py does). Each function runs a small fixed number of SQL
statements whatever the number of rows, tags or booking cards: never one query per row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, cast, false, func, literal, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.booking.models import Registration
from app.catalog.models import Course
from app.cms.models import (
    PUBLIC_STATUSES,
    Article,
    ArticleColumn,
    ArticleRevision,
    MediaFile,
    Tag,
    article_tags,
)
from app.common.pagination import MAX_PAGE
from app.common.time import utcnow
from app.extensions import db

PER_PAGE = 10
# Deeper pages than this are never linked; capping the number keeps OFFSET within a bigint.
RELATED_LIMIT = 4
# A search box is for a few words, not a document.
MAX_QUERY_CHARS = 50
MAX_QUERY_TERMS = 5


def public_filter(now: datetime):
    """The one visibility rule: published or scheduled, and its publish time has come.

    A scheduled article therefore appears on time without any job flipping its status."""
    return and_(Article.status.in_(PUBLIC_STATUSES), Article.publish_at.is_not(None), Article.publish_at <= now)


def _newest_first(query):
    return query.order_by(Article.publish_at.desc(), Article.id.desc())


# --- lists ---------------------------------------------------------------------------------

@dataclass
class Page:
    """One page of a list, with what the pagination macro in templates/_macros.html reads."""

    items: list
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _page_number(page: int | None) -> int:
    return min(max(page or 1, 1), MAX_PAGE)


def _paginate(query, page: int | None, per_page: int) -> Page:
    """Two statements: the count and the page."""
    page = _page_number(page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items=items, page=page, pages=max((total + per_page - 1) // per_page, 1), total=total)


def _public_articles(now: datetime):
    return _newest_first(select(Article).where(public_filter(now)).options(joinedload(Article.column)))


def latest_articles(limit: int = 5, now: datetime | None = None) -> list[Article]:
    return list(db.session.scalars(_public_articles(now or utcnow()).limit(limit)))


def columns() -> list[ArticleColumn]:
    """Every 栏目 in navigation order."""
    return list(db.session.scalars(select(ArticleColumn).order_by(ArticleColumn.position, ArticleColumn.id)))


def column_by_slug(slug: str) -> ArticleColumn | None:
    return db.session.scalar(select(ArticleColumn).where(ArticleColumn.slug == slug))


def tag_by_slug(slug: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.slug == slug))


def article_list(page: int | None, per_page: int = PER_PAGE, column_slug: str | None = None,
                 tag_slug: str | None = None, now: datetime | None = None) -> Page:
    """Public articles, newest first, optionally of one column or one tag."""
    query = _public_articles(now or utcnow())
    if column_slug is not None:
        query = query.where(Article.column.has(ArticleColumn.slug == column_slug))
    if tag_slug is not None:
        query = query.where(Article.tags.any(Tag.slug == tag_slug))
    return _paginate(query, page, per_page)


def search_terms(q: str | None) -> list[str]:
    """The words of a search box, at most a few; Chinese needs no splitting (substrings match)."""
    # PostgreSQL refuses NUL in a string: a pasted one must not turn into a 500.
    return (q or "").replace("\x00", "").strip()[:MAX_QUERY_CHARS].split()[:MAX_QUERY_TERMS]


def search(q: str | None, page: int | None, now: datetime | None = None, per_page: int = PER_PAGE) -> Page:
    """Public articles whose title, 导读 or body contain every word of `q` (any case).

    `icontains(autoescape=True)` escapes % and _ so they match themselves, and a plain substring
    test finds 小红书 inside 小红书运营 where a word index would not."""
    terms = search_terms(q)
    if not terms:
        return Page(items=[], page=1, pages=1, total=0)
    query = _public_articles(now or utcnow())
    for term in terms:
        query = query.where(or_(
            Article.title.icontains(term, autoescape=True),
            Article.summary.icontains(term, autoescape=True),
            Article.body.icontains(term, autoescape=True),
        ))
    return _paginate(query, page, per_page)


# --- one article ---------------------------------------------------------------------------

@dataclass
class ArticlePage:
    article: Article
    body_html: str  # the latest revision's cached, sanitised HTML (booking cards still placeholders)
    tags: list[Tag]
    related: list[Article] = field(default_factory=list)
    previous: Article | None = None
    next: Article | None = None


def is_public_article(article_id: int, now: datetime | None = None) -> bool:
    found = db.session.scalar(select(Article.id).where(Article.id == article_id, public_filter(now or utcnow())))
    return found is not None


def article_page(slug: str, now: datetime | None = None) -> ArticlePage | None:
    """A public article with everything its page shows, in three statements (article and HTML,
    its tags, its neighbours), or None when readers may not see it."""
    now = now or utcnow()
    row = db.session.execute(
        select(Article, ArticleRevision.body_html)
        .outerjoin(ArticleRevision, and_(ArticleRevision.article_id == Article.id,
                                         ArticleRevision.number == Article.revision_number))
        .where(Article.slug == slug, public_filter(now))
        .options(joinedload(Article.column), selectinload(Article.tags))
    ).first()
    if row is None:
        return None
    article, body_html = row
    page = ArticlePage(article=article, body_html=body_html or "", tags=list(article.tags))
    _add_neighbours(page, now)
    return page


def _sort_key(article: Article) -> tuple[datetime, int]:
    return article.publish_at, article.id


def _add_neighbours(page: ArticlePage, now: datetime) -> None:
    """Related articles and previous/next in the column, in one statement.

    It fetches the union of the 4 newest related articles (sharing a tag or the column) and the
    previous and next article of the column. Previous and next are in the column, so they are
    related too: the 4 newest rows are exactly the related ones, and the nearest earlier and later
    rows of the column are exactly previous and next."""
    article = page.article
    public = public_filter(now)
    its_tags = select(article_tags.c.tag_id).where(article_tags.c.article_id == article.id)
    shares_tag = Article.id.in_(select(article_tags.c.article_id).where(article_tags.c.tag_id.in_(its_tags)))
    same_column = Article.column_id == article.column_id if article.column_id is not None else false()
    others = and_(public, Article.id != article.id)
    related_ids = _newest_first(select(Article.id).where(others, or_(same_column, shares_tag))).limit(RELATED_LIMIT)
    earlier = or_(Article.publish_at < article.publish_at,
                  and_(Article.publish_at == article.publish_at, Article.id < article.id))
    later = or_(Article.publish_at > article.publish_at,
                and_(Article.publish_at == article.publish_at, Article.id > article.id))
    previous_id = _newest_first(select(Article.id).where(others, same_column, earlier)).limit(1)
    next_id = (select(Article.id).where(others, same_column, later)
               .order_by(Article.publish_at, Article.id).limit(1))
    rows = sorted(
        db.session.scalars(
            select(Article)
            .where(or_(Article.id.in_(related_ids), Article.id == previous_id.scalar_subquery(),
                       Article.id == next_id.scalar_subquery()))
            .options(joinedload(Article.column))
        ),
        key=_sort_key, reverse=True,
    )
    page.related = rows[:RELATED_LIMIT]
    if article.column_id is None:
        return
    in_column = [other for other in rows if other.column_id == article.column_id]
    before = [other for other in in_column if _sort_key(other) < _sort_key(article)]
    after = [other for other in in_column if _sort_key(other) > _sort_key(article)]
    page.previous = max(before, key=_sort_key) if before else None
    page.next = min(after, key=_sort_key) if after else None


def media_file(filename: str) -> MediaFile | None:
    return db.session.scalar(select(MediaFile).where(MediaFile.filename == filename))


# --- feed and sitemap ----------------------------------------------------------------------

@dataclass(frozen=True)
class FeedEntry:
    article: Article
    body_html: str


def feed_articles(limit: int = 20, now: datetime | None = None) -> list[FeedEntry]:
    """The newest public articles with their latest revision's HTML, for /feed.xml."""
    rows = db.session.execute(
        _newest_first(
            select(Article, ArticleRevision.body_html)
            .outerjoin(ArticleRevision, and_(ArticleRevision.article_id == Article.id,
                                             ArticleRevision.number == Article.revision_number))
            .where(public_filter(now or utcnow()))
            .options(joinedload(Article.column))
        ).limit(limit)
    )
    return [FeedEntry(article, body_html or "") for article, body_html in rows]


@dataclass(frozen=True)
class SitemapEntry:
    endpoint: str
    values: dict
    lastmod: datetime | None = None


# Pages anyone may read, listed in the sitemap with the public content.
STATIC_PAGES = ("main.index", "catalog.courses", "cms.articles", "certificates.verify")


def sitemap_entries(now: datetime | None = None) -> list[SitemapEntry]:
    """Static pages, published courses, columns and public articles (never drafts or scheduled)."""
    now = now or utcnow()
    entries = [SitemapEntry(endpoint, {}) for endpoint in STATIC_PAGES]
    entries += [
        SitemapEntry("catalog.course", {"slug": slug})
        for slug in db.session.scalars(select(Course.slug).where(Course.is_published.is_(True)).order_by(Course.id))
    ]
    entries += [
        SitemapEntry("cms.column", {"slug": slug})
        for slug in db.session.scalars(select(ArticleColumn.slug).order_by(ArticleColumn.position, ArticleColumn.id))
    ]
    entries += [
        SitemapEntry("cms.article", {"slug": slug}, updated_at)
        for slug, updated_at in db.session.execute(
            _newest_first(select(Article.slug, Article.updated_at).where(public_filter(now)))
        )
    ]
    return entries


# --- figures -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArticleFigures:
    article_id: int
    title: str
    views: int
    card_clicks: int
    bookings: int  # registrations made through the article's booking card, any status

    @property
    def conversion(self) -> float:
        """Bookings per view (0 when nobody has read it yet)."""
        return self.bookings / self.views if self.views else 0.0


def article_source(article_id: int) -> str:
    """What a registration's `source` says when its booking came from this article's card."""
    return f"article:{article_id}"


def _from_an_article():
    """The filter for bookings made through an article's card: source starts with "article:"."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE ignores case and its index does not, so LIKE reads the whole index. A range in
        # the index's (binary) order reads only these rows: ';' is the character after ':'.
        return and_(Registration.source >= "article:", Registration.source < "article;")
    # Not on PostgreSQL: it compares strings in the database's collation, which need not be byte order
    # (in the ICU collations en-US and zh-Hans-CN ';' sorts before ':'), so the range could miss every
    # article booking. LIKE is right in every collation.
    return Registration.source.startswith("article:", autoescape=True)


def article_figures(article_ids: list[int] | None = None) -> list[ArticleFigures]:
    """Views, card clicks and attributed bookings per article, newest article first, in one statement."""
    bookings = (
        select(Registration.source, func.count().label("bookings"))
        .where(_from_an_article())
        .group_by(Registration.source)
        .subquery()
    )
    query = (
        select(Article.id, Article.title, Article.view_count, Article.card_clicks,
               func.coalesce(bookings.c.bookings, 0))
        .outerjoin(bookings, bookings.c.source == literal("article:", String) + cast(Article.id, String))
        .order_by(Article.id.desc())
    )
    if article_ids is not None:
        if not article_ids:
            return []
        query = query.where(Article.id.in_(article_ids))
    return [ArticleFigures(*row) for row in db.session.execute(query)]
