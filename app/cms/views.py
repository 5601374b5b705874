"""Public CMS pages: article lists, an article, search, feed and sitemap, uploaded images."""
from __future__ import annotations

import re
from datetime import datetime
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    get_template_attribute,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from app.catalog.service import published_sessions
from app.cms import queries, rendering, service
from app.cms.feed import atom_feed
from app.cms.media import MEDIA_NAME_RE, absolute_media_url, media_url, with_public_media
from app.cms.models import Article
from app.cms.storage import StorageUnavailable, media_storage
from app.common import page_cache
from app.common.pagination import page_number
from app.common.time import utcnow

bp = Blueprint("cms", __name__)

# The anonymous reader's cookie: a reader id the site issued, signed (app/cms/counters.py), so
# that views and card clicks are counted once per reader and window without an account.
VISITOR_COOKIE = "reader"
VISITOR_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
# Search engines and link-preview fetchers read pages but are not readers.
_CRAWLER_RE = re.compile(r"bot|spider|crawl|slurp|facebookexternalhit|preview", re.IGNORECASE)
SNIPPET_SOURCE_CHARS = 2000  # enough Markdown for a list snippet, without rendering a whole long body


def _slug(value: str) -> str:
    """A slug from the URL, or 404 for one no row can have (PostgreSQL would refuse a NUL)."""
    if not value or "\x00" in value or len(value) > 200:
        abort(404)
    return value


def _page_arg() -> int:
    return page_number(request.args)


@bp.app_template_filter("article_snippet")
def article_snippet(article: Article, length: int = 90) -> str:
    """导读 if the editor wrote one, else the start of the body as plain text."""
    if article.summary.strip():
        return rendering.excerpt(article.summary, length)
    return rendering.excerpt(article.body[:SNIPPET_SOURCE_CHARS], length)


# --- lists ---------------------------------------------------------------------------------

@bp.route("/articles/")
def articles():
    return render_template("cms/list.html", page=queries.article_list(_page_arg()), columns=queries.columns(),
                           endpoint="cms.articles", endpoint_args={})


@bp.route("/columns/<slug>/")
def column(slug: str):
    column = queries.column_by_slug(_slug(slug)) or abort(404)
    return render_template("cms/list.html", page=queries.article_list(_page_arg(), column_slug=slug),
                           columns=queries.columns(), column=column, endpoint="cms.column",
                           endpoint_args={"slug": slug})


@bp.route("/tags/<slug>/")
def tag(slug: str):
    tag = queries.tag_by_slug(_slug(slug)) or abort(404)
    return render_template("cms/list.html", page=queries.article_list(_page_arg(), tag_slug=slug),
                           columns=queries.columns(), tag=tag, endpoint="cms.tag", endpoint_args={"slug": slug})


@bp.route("/search")
def search():
    q = request.args.get("q", "").replace("\x00", "").strip()[: queries.MAX_QUERY_CHARS]
    return render_template("cms/search.html", q=q, page=queries.search(q, _page_arg()))


# --- one article ---------------------------------------------------------------------------

def _is_crawler() -> bool:
    return _CRAWLER_RE.search(request.user_agent.string or "") is not None


def _reader_id() -> str | None:
    """The anonymous reader id this request's cookie carries, if the site issued it."""
    return service.reader_from_cookie(request.cookies.get(VISITOR_COOKIE))


def _user_id() -> int | None:
    return int(current_user.id) if current_user.is_authenticated else None


def _count_view(article_id: int, reader_id: str | None, now: datetime) -> None:
    visitor = service.visitor_key(_user_id(), reader_id)
    if visitor is not None and not _is_crawler():
        service.record_view(article_id, visitor, now=now)


def filled_cards(html_text: str, article_id: int | None, now, shown: list | None = None) -> Markup:
    """HTML (a body, or a whole page) with its booking cards filled with their seats
    (page_cache.live_parts: a few seconds old at most; one query for the ones to read).
    `article_id`: the article they are read in (the 立即预约 click is counted for it). `shown` gets
    the cards, for the page's ETag."""
    slots = [(article_id, session_id) for session_id in rendering.card_slot_ids(html_text)]
    cards = page_cache.live_parts("booking", slots, lambda missing: _render_cards(missing, now))
    if shown is not None:
        shown.extend(cards[slot] for slot in slots)
    return rendering.fill_booking_cards(html_text, lambda session_id: cards.get((article_id, session_id), ""))


def _render_cards(slots: list[tuple[int | None, int]], now) -> dict[tuple[int | None, int], str]:
    """The booking cards of these (article, session) slots as they are now; a session since
    unpublished or deleted has none (the card quietly disappears)."""
    sessions = published_sessions(session_id for _article_id, session_id in slots)
    booking_card = get_template_attribute("cms/_booking_card.html", "booking_card")
    return {(article_id, session_id): str(booking_card(sessions[session_id], article_id=article_id, now=now))
            for article_id, session_id in slots if session_id in sessions}


# Where a first visit's view beacon goes in the page anonymous readers share.
VIEW_BEACON_SLOT = Markup("<!--view-beacon-->")


@bp.route("/articles/<slug>")
def article(slug: str):
    now = utcnow()
    slug = _slug(slug)
    render = partial(_article_page, slug, now)
    shared = page_cache.is_shared_page_request()
    if shared:
        # Rendered once per content generation (an edit, a publication, an unpublication starts a
        # new one); a 404 is never kept, so a scheduled article appears when its time comes.
        page_key, (article_id, page) = page_cache.shared_page(f"article:{slug}:{rendering.RENDERER_VERSION}", render)
    else:
        article_id, page = render()  # a logged-in reader's own page
    reader_id = _reader_id()
    new_cookie = None
    if reader_id is None:
        # A first visit (or a cookie the site did not sign): a new reader id. This view counts
        # once the browser has the cookie, through the page's view beacon (below), so a reader
        # who reads one article from a WeChat share is counted, and a client that keeps no
        # cookies (a script, a crawler) never is.
        reader_id, new_cookie = service.issue_reader()
    if new_cookie is None or current_user.is_authenticated:
        _count_view(article_id, reader_id, now)
        view_beacon = Markup()
    else:
        view_beacon = Markup() if _is_crawler() else Markup(render_template(
            "cms/_view_beacon.html", src=url_for("cms.article_seen", article_id=article_id)))
    cards_shown: list = []
    html = filled_cards(page, article_id, now, cards_shown).replace(VIEW_BEACON_SLOT, view_beacon)
    if shared:
        response = page_cache.shared_response(html, (page_key, *cards_shown), private=new_cookie is not None)
    else:
        response = make_response(html)
    if new_cookie is not None:
        response.set_cookie(VISITOR_COOKIE, new_cookie, max_age=VISITOR_COOKIE_MAX_AGE, httponly=True,
                            samesite="Lax", secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _article_page(slug: str, now) -> tuple[int, str]:
    """The article's id and its page, booking cards and view beacon as slots (filled per request)."""
    page = queries.article_page(slug, now) or abort(404)
    return page.article.id, render_template("cms/article.html", page=page, article=page.article,
                                            body=Markup(with_public_media(page.body_html)), now=now,
                                            view_beacon=VIEW_BEACON_SLOT)


@bp.route("/articles/<int:article_id>/seen")
def article_seen(article_id: int):
    """The view beacon of a reader's first page: the browser fetches it with the reader cookie the
    page has just set, and the view counts as any other (nothing without a genuine cookie)."""
    reader_id = _reader_id()
    if reader_id is not None and queries.is_public_article(article_id):
        _count_view(article_id, reader_id, utcnow())
    return Response(status=204, headers={"Cache-Control": "no-store"})


@bp.route("/articles/<int:article_id>/book/<int:session_id>")
def card_click(article_id: int, session_id: int):
    """The 立即预约 button of a booking card: count the click, then book with the article as source."""
    if queries.is_public_article(article_id):
        # Counted only for a reader the site identified (account or signed reader cookie), once
        # per window: an anonymous script cannot inflate the dashboard's click figures.
        clicker = service.clicker_key(_user_id(), _reader_id())
        if clicker is not None and not _is_crawler():
            service.record_card_click(article_id, clicker)
        source = queries.article_source(article_id)
    else:
        source = None  # an editor trying a draft's card: neither a click nor an attributed booking
    return redirect(url_for("booking.book", session_id=session_id, source=source))


# --- feed, sitemap, images -----------------------------------------------------------------

@bp.route("/feed.xml")
def feed():
    body = atom_feed(queries.feed_articles(), site_name=current_app.config["SITE_NAME"])
    return Response(body, mimetype="application/atom+xml")


@bp.route("/sitemap.xml")
def sitemap():
    xml = render_template("cms/sitemap.xml", entries=queries.sitemap_entries())
    return Response(xml, mimetype="application/xml")


@bp.route("/media/<filename>")
def media(filename: str):
    """An uploaded image, from the media store (the folder, or the bucket every server shares).

    Answers with MEDIA_PUBLIC_URL set too: article bodies and pages cached before it was set
    name /media/<name>."""
    if not MEDIA_NAME_RE.match(filename):
        abort(404)  # also keeps out "..", slashes and other tricks before anything touches the store
    stored = queries.media_file(filename) or abort(404)
    try:
        response = media_storage().response(stored.filename, stored.content_type)
    except StorageUnavailable as error:
        current_app.logger.error("image %s not served: %s", filename, error)
        abort(503)
    response.headers["X-Content-Type-Options"] = "nosniff"  # an image is never run as anything else
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


# Globals, not a context processor: macros imported from cms/_macros.html see globals only.
bp.add_app_template_global(media_url)
bp.add_app_template_global(absolute_media_url)
