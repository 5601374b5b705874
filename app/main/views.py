from functools import partial

from flask import Blueprint, Response, redirect, render_template, url_for

from app.accounts.permissions import staff_required
from app.accounts.service import count_users_by_role
from app.catalog.cards import fill_session_cards
from app.catalog.service import upcoming_published_sessions
from app.cms import queries as cms_queries
from app.common import page_cache
from app.common.security import answers_any_host
from app.common.time import utcnow
from app.extensions import limiter
from app.main.readiness import check_readiness
from app.roster import queries as roster_queries
from app.roster.service import local_today

bp = Blueprint("main", __name__)

HOME_ARTICLES = 5


@bp.route("/")
def index():
    now = utcnow()
    if not page_cache.is_shared_page_request():
        return fill_session_cards(_home_page(now), now)
    key, page = page_cache.shared_page("home", partial(_home_page, now))
    shown: list = []
    html = fill_session_cards(page, now, shown)
    return page_cache.shared_response(html, (key, *shown))


def _home_page(now) -> str:
    """The home page with its sessions as slots (filled with live seats by the caller)."""
    return render_template("main/index.html", sessions=upcoming_published_sessions(now, limit=6), now=now,
                           articles=cms_queries.latest_articles(HOME_ARTICLES, now), columns=cms_queries.columns())


@bp.route("/staff/")
@staff_required
def staff_home():
    now = utcnow()
    return render_template("main/staff_home.html", counts=count_users_by_role(),
                           upcoming=roster_queries.upcoming_sessions(now, local_today(now)))


# The health probes: never rate limited (a probe every second is no abuse), and answered whatever
# Host the prober names (app/common/security.py: answers_any_host). Not in the API's OpenAPI
# document: they are the load balancer's, not the API's.

@bp.route("/healthz")
@limiter.exempt
@answers_any_host
def healthz():
    """For a process supervisor: the app answers (it reads nothing, so a slow database does not get
    every server restarted at once). Also the trivial endpoint the page benchmarks compare with
    (bench/pages.py)."""
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.route("/readyz")
@limiter.exempt
@answers_any_host
def readyz():
    """For the load balancer: 200 when the database answers and is migrated to this release's head,
    503 otherwise, saying why (main/readiness.py)."""
    readiness = check_readiness()
    return Response(("ready: " if readiness.ready else "not ready: ") + readiness.reason + "\n",
                    status=200 if readiness.ready else 503, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


@bp.route("/favicon.ico")
def favicon():
    """Browsers and their PDF viewer ask for /favicon.ico whatever the page's <link rel="icon"> says;
    send them to the one icon the site has (permanently, so they remember)."""
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)
