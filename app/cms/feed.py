"""The Atom feed of public articles (feedgen), with absolute links so feed readers can follow them."""
from __future__ import annotations

import re

from feedgen.feed import FeedGenerator
from flask_babel import gettext as _

from app.cms import rendering
from app.cms.media import with_public_media
from app.cms.queries import FeedEntry
from app.common.time import utcnow
from app.common.urls import absolute_url, site_url

# Links and images in the sanitised HTML that point into this site ("/media/...", "/courses/...").
_SITE_RELATIVE = re.compile(r'(\s(?:src|href)=")/(?!/)')


def absolute_links(html: str) -> str:
    """Feed readers show an entry away from the site: make site-relative URLs absolute."""
    return _SITE_RELATIVE.sub(lambda m: f"{m.group(1)}{site_url()}/", html)


def atom_feed(entries: list[FeedEntry], site_name: str) -> bytes:
    feed = FeedGenerator()
    home = absolute_url("cms.articles")
    feed.id(home)
    feed.title(_("%(site)s · 文章", site=site_name))
    feed.subtitle(_("电商实战干货、客户案例与训练营资讯"))
    feed.author(name=site_name)
    feed.link(href=home, rel="alternate")
    feed.link(href=absolute_url("cms.feed"), rel="self")
    feed.language("zh-CN")
    feed.updated(max((_updated(entry) for entry in entries), default=utcnow()))
    for entry in entries:
        article = entry.article
        url = absolute_url("cms.article", slug=article.slug)
        item = feed.add_entry(order="append")  # entries arrive newest first
        item.id(url)
        item.title(article.title)
        item.link(href=url, rel="alternate")
        item.author(name=article.author_name or site_name)
        item.published(article.publish_at)
        item.updated(_updated(entry))
        summary = article.seo_description or article.summary or rendering.excerpt(article.body[:2000], 200)
        if summary:
            item.summary(summary)
        # The live booking cards need the site around them; the feed shows the text only.
        html = rendering.fill_booking_cards(with_public_media(entry.body_html), lambda _id: "")
        item.content(absolute_links(str(html)), type="html")
        if article.column is not None:
            item.category(term=article.column.slug, label=article.column.name)
    return feed.atom_str(pretty=True)


def _updated(entry: FeedEntry):
    # A scheduled article edited before it went out was "updated" before it was published.
    return max(entry.article.updated_at, entry.article.publish_at)
