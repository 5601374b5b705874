"""Security headers on every response, private caching of personal pages, and production's
refusal of requests for a host the site does not serve."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.accounts.models import User
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.certificates.models import Certificate
from app.cms.models import Article
from app.extensions import db
from tests.factories import PASSWORD, cohort, issue, make_editor, make_session, upload_png, write_article
from tests.helpers import bearer, client_of, token_for

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "4b7e1d9a2c6f0e3b8d5a1c7f9e2b4d6a0c3e5f7b9d1a2c4e6f8b0d3a5c7e9f1b"
SITE = "https://xue.example.com"
# Pages about one person, or for staff and admins only: never kept by a shared cache or on disk.
PERSONAL = ("/account/", "/me/", "/staff/", "/admin/", "/api/v1/me", "/sessions/")


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def assert_security_headers(response, where: str = "") -> None:
    where = where or response.request.path
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], where  # no 'unsafe-inline', no eval, no CDN
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'self'"], where
    assert policy["img-src"] == ["'self'", "data:"], where
    assert "'unsafe-inline'" not in policy["style-src"], where  # only style="" attributes (style-src-attr)
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", where


def is_private(response) -> bool:
    return set(re.split(r",\s*", response.headers.get("Cache-Control", ""))) >= {"private", "no-store"}


@pytest.fixture
def world(app, staff, admin):
    """One of everything a URL can name: a course and session, a registration with its certificate,
    an article with a cover image, a user, an outbox message."""
    session_id, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    make_editor(app)
    with app.app_context():
        cover = upload_png()
        article_id = write_article("安全头测试 𠮷", slug="headers", cover=cover, tags=("小红书",))
        camp = db.session.get(CampSession, session_id)
        values = {
            "session_id": session_id, "registration_id": registration_id, "certificate_id": certificate_id,
            "article_id": article_id, "course_id": camp.course_id, "course_slug": camp.course.slug,
            "open_session_id": make_session(camp.course_id, capacity=5), "cover": cover,
            "token": db.session.get(Certificate, certificate_id).verify_token,
            "tag_slug": db.session.get(Article, article_id).tags[0].slug, "user_id": admin,
        }
        db.session.remove()
    return values


def urls_with_arguments(v: dict) -> list[str]:
    return [
        f"/courses/{v['course_slug']}", "/articles/headers", f"/tags/{v['tag_slug']}/", f"/media/{v['cover']}",
        f"/verify/{v['token']}", f"/me/certificates/{v['certificate_id']}", "/static/css/app.css",
        "/static/vendor/chartjs/chart.umd.min.js",
        f"/api/v1/sessions/{v['session_id']}", f"/sessions/{v['open_session_id']}/book",
        f"/staff/sessions/{v['session_id']}/roster", f"/staff/sessions/{v['session_id']}/checkin",
        f"/staff/sessions/{v['session_id']}/roster.csv", f"/staff/registrations/{v['registration_id']}",
        f"/staff/sessions/{v['session_id']}/certificates", f"/admin/users/{v['user_id']}",
        f"/admin/articles/{v['article_id']}/edit", f"/admin/courses/{v['course_id']}/edit",
        "/admin/dashboard/upcoming.csv", "/no/such/page", "/api/v1/no-such-endpoint",
    ]


def test_every_page_and_api_response_carries_the_security_headers(app, client, admin_client, world):
    no_argument_gets = sorted(rule.rule for rule in app.url_map.iter_rules()
                              if "GET" in rule.methods and not rule.arguments)
    assert len(no_argument_gets) > 20
    checked, statuses = 0, {}
    for url in no_argument_gets + urls_with_arguments(world):
        for who, browser in (("anonymous", client), ("admin", admin_client)):
            response = browser.get(url)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            # /readyz: 503, rightly: the suite's database is built by create_all, not the migrations.
            assert response.status_code < 500 or url == "/readyz", (who, url)
            assert_security_headers(response, f"{who} {url}")
            response.close()  # a streamed export (CSV) ends its request context now, not when collected
            checked += 1
    assert checked == 2 * (len(no_argument_gets) + len(urls_with_arguments(world)))
    assert statuses[200] > checked // 2, statuses  # real pages, not mostly redirects to the login page


def test_errors_carry_the_headers_too(app, client, monkeypatch):
    assert_security_headers(client.get("/no/such/page"))                         # 404 page
    assert_security_headers(client.delete("/courses/"))                          # 405
    assert_security_headers(client.post("/account/login", data={"login": "x"}))  # CSRF 400
    assert_security_headers(client.get("/api/v1/sessions/abc"))                  # API 404 JSON

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(catalog, "upcoming_published_sessions", broken)
    monkeypatch.setattr("app.main.views.upcoming_published_sessions", broken)
    for url in ("/api/v1/sessions", "/"):  # the JSON 500 and the 500 page
        error = client.get(url)
        assert error.status_code == 500, url
        assert_security_headers(error)


def test_personal_pages_are_private_and_not_stored(app, client, student, staff_client, admin_client, world):
    person = client_of(app, world["registration_id"])
    with app.app_context():
        email = db.session.get(User, student).email
    token = token_for(app.test_client(), email, PASSWORD)
    personal = {
        person: ["/me/registrations", f"/me/registrations/{world['registration_id']}",
                 f"/me/certificates/{world['certificate_id']}", "/account/profile", "/account/password",
                 f"/sessions/{world['open_session_id']}/book"],
        client: ["/account/login", "/account/signup", "/account/reset"],
        staff_client: ["/staff/", "/staff/sessions/", f"/staff/sessions/{world['session_id']}/roster",
                       f"/staff/sessions/{world['session_id']}/checkin"],
        admin_client: ["/admin/", "/admin/users/", "/admin/outbox/", "/admin/articles/", "/admin/courses/"],
    }
    for browser, urls in personal.items():
        for url in urls:
            response = browser.get(url)
            assert response.status_code == 200, url
            assert is_private(response), url
    for url in ("/api/v1/me", "/api/v1/me/registrations"):
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200 and is_private(response), url
    issued = client.post("/api/v1/auth/token", json={"login": email, "password": PASSWORD})
    assert issued.status_code == 200 and is_private(issued)  # the token itself
    # Public pages stay cacheable: the rule is about people, not every page.
    for url in ("/", "/courses/", "/articles/", "/articles/headers", "/api/v1/sessions", "/feed.xml"):
        response = admin_client.get(url)
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", ""), url


def test_every_no_argument_personal_route_is_private(app, admin_client, world):
    """Walks the URL map, so a new staff or admin page cannot be forgotten."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.rule.startswith(PERSONAL):
            response = admin_client.get(rule.rule)
            assert is_private(response), rule.rule
            response.close()  # as above: a streamed export ends its request context now


def test_hsts_only_in_production(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_templates_run_no_inline_script():
    """The policy refuses inline scripts: none may be written (they would silently stop working)."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    javascript_url = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text("utf-8")
        for pattern in (inline_script, handler, javascript_url):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


# --- production -----------------------------------------------------------------------------------

def production_app(app, **settings):
    return create_app("production", {"SECRET_KEY": STRONG_KEY, "SITE_URL": SITE,
                                     "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], **settings})


@pytest.fixture(scope="module")
def production(app):
    return production_app(app)


def test_production_answers_its_own_host_with_hsts(production):
    response = production.test_client().get("/", base_url=SITE)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_security_headers(response)


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/courses/"), ("POST", "/account/reset"),
                                          ("POST", "/account/login"), ("GET", "/no/such/page")])
def test_production_refuses_a_foreign_host_with_400(production, method, path):
    response = production.test_client().open(path, method=method, base_url="https://evil.example",
                                             data={"email": "student@example.com"})
    assert response.status_code == 400
    assert "此网址的主机名不属于本站" in response.get_data(as_text=True)
    assert_security_headers(response)


def test_production_refuses_a_foreign_host_on_the_api_with_json(production):
    response = production.test_client().get("/api/v1/sessions", headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.get_json()["code"] == "bad_host"
    # A port on the right host is the same host.
    assert production.test_client().get("/api/v1/sessions", headers={"Host": "xue.example.com:443"}).status_code == 200


def test_x_forwarded_host_is_believed_only_when_configured(app):
    forwarded = {"Host": "xue.example.com", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.9",
                 "X-Forwarded-Proto": "https"}
    behind_nginx = production_app(app, PROXY_FIX_X_FOR=1)
    assert behind_nginx.test_client().get("/", headers=forwarded).status_code == 200  # the header is ignored
    trusting = production_app(app, PROXY_FIX_X_FOR=1, PROXY_FIX_X_HOST=1)
    assert trusting.test_client().get("/", headers=forwarded).status_code == 400  # believed, then refused
    honest = {**forwarded, "X-Forwarded-Host": "xue.example.com"}
    assert trusting.test_client().get("/", headers=honest).status_code == 200
