"""Every absolute link the site writes comes from SITE_URL, whatever host the request named.

The audit's case: `POST /account/reset` with `Host: evil.example` queued an email whose link was
`http://evil.example/account/reset/<token>`, handing the token to whoever owns that host."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from icalendar import Calendar
from werkzeug.test import EnvironBuilder

from app import create_app
from app.certificates import documents
from app.certificates.models import Certificate
from app.extensions import db
from tests.factories import cohort, make_editor, make_session, upload_png, write_article
from tests.helpers import client_of, csrf_token_from, outbox_messages

SITE = "https://xue.example.com"
FOREIGN = {"Host": "evil.example"}
# Links that are not to the site: the article's own external link, XML namespaces, feedgen's generator.
NOT_OURS = ("https://example.org/", "http://www.w3.org/", "http://www.sitemaps.org/",
            "https://lkiesow.github.io/python-feedgen")
ABSOLUTE = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def site_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", SITE + "/")  # a trailing slash gives no double slash


def submit_from(client, url: str, data: dict, headers: dict, form_page: str | None = None):
    """submit_form with both requests sent with `headers` (the cookie jar is per host)."""
    page = client.get(form_page or url, headers=headers)
    return client.post(url, data={**data, "csrf_token": csrf_token_from(page.get_data(as_text=True))},
                       headers=headers)


def logged_in_on_foreign_host(client):
    """The same logged-in browser, its cookies also sent to evil.example."""
    for cookie in list(client._cookies.values()):
        client.set_cookie(cookie.key, cookie.value, domain="evil.example")
    return client


def absolute_links(text: str) -> list[str]:
    return ABSOLUTE.findall(text)


def assert_only_site_links(text: str) -> None:
    links = absolute_links(text)
    assert links, text
    foreign = [link for link in links if not link.startswith((SITE + "/", *NOT_OURS))]
    assert not foreign, foreign
    assert "evil.example" not in text


def test_a_reset_asked_for_with_a_foreign_host_header_links_to_site_url(app, client, student):
    # Development and tests accept any host (production refuses it: test_security_headers.py).
    response = submit_from(client, "/account/reset", {"email": "student@example.com"}, FOREIGN)
    assert response.status_code == 302
    [message] = outbox_messages(app)
    [link] = absolute_links(message.body_text)
    assert re.fullmatch(re.escape(SITE) + r"/account/reset/[\w.-]+", link), link
    assert client.get(link.removeprefix(SITE)).status_code == 200  # and it opens the reset form


def test_behind_a_proxy_x_forwarded_host_is_ignored_unless_configured(app, student):
    """PROXY_FIX_X_FOR=1 (nginx) believes X-Forwarded-For and -Proto, not X-Forwarded-Host."""
    proxied = create_app("testing", {"PROXY_FIX_X_FOR": 1, "SITE_URL": SITE,
                                     "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    client = proxied.test_client()
    forwarded = {"X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.9"}
    response = submit_from(client, "/account/reset", {"email": "student@example.com"}, forwarded)
    assert response.status_code == 302
    with proxied.app_context():
        [message] = outbox_messages(proxied)
    assert absolute_links(message.body_text)[0].startswith(SITE + "/account/reset/")
    assert "evil.example" not in message.body_text
    # What the app behind ProxyFix sees: the proxy's scheme, but its own host, not the forwarded one.
    seen = {}

    def record_host(environ, start_response):
        seen["host"] = environ.get("HTTP_HOST")
        seen["scheme"] = environ.get("wsgi.url_scheme")
        return []
    proxied.wsgi_app.app = record_host  # the app ProxyFix hands the rewritten environ to
    headers = {**forwarded, "X-Forwarded-Proto": "https", "Host": "xue.example.com"}
    proxied.wsgi_app(EnvironBuilder("/", headers=headers).get_environ(),
                     lambda *args: None)
    assert seen == {"host": "xue.example.com", "scheme": "https"}


def test_the_booking_email_ticket_link_and_calendar_entry_use_site_url(app, student_client, student):
    with app.app_context():
        session_id = make_session(capacity=5)
    response = submit_from(logged_in_on_foreign_host(student_client), f"/sessions/{session_id}/book",
                           {"source": "web"}, FOREIGN)
    assert response.status_code == 302
    [message] = outbox_messages(app)
    assert_only_site_links(message.body_text)
    [registration_id] = re.findall(re.escape(SITE) + r"/me/registrations/(\d+)", message.body_text)
    calendar_file = next(a for a in message.attachments if a["filename"].endswith(".ics"))
    [event] = Calendar.from_ical(base64.b64decode(calendar_file["data_b64"])).walk("VEVENT")
    assert str(event["URL"]) == f"{SITE}/me/registrations/{registration_id}"
    assert str(event["UID"]).endswith("@xue.example.com")


def test_certificate_links_and_qr_payload_use_site_url(app, staff, staff_client):
    session_id, [registration_id] = cohort(app, staff, 1)
    issued = submit_from(logged_in_on_foreign_host(staff_client), f"/staff/registrations/{registration_id}/certificate",
                         {"reason": ""}, FOREIGN, form_page=f"/staff/sessions/{session_id}/certificates")
    assert issued.status_code == 302
    [message] = [m for m in outbox_messages(app) if m.subject.startswith("结业证书已颁发")]
    assert_only_site_links(message.body_text)
    with app.app_context():
        certificate = db.session.scalar(db.select(Certificate))
        token, certificate_id = certificate.verify_token, certificate.id
    assert f"{SITE}/verify/{token}" in message.body_text
    assert f"{SITE}/me/certificates/{certificate_id}" in message.body_text
    # The QR code drawn in the PDF, built while serving a request for another host.
    with app.test_request_context(f"/me/certificates/{certificate_id}", headers=FOREIGN):
        assert documents.content_of(db.session.get(Certificate, certificate_id)).verify_url == f"{SITE}/verify/{token}"
    download = logged_in_on_foreign_host(client_of(app, registration_id)).get(f"/me/certificates/{certificate_id}",
                                                                           headers=FOREIGN)
    assert download.status_code == 200 and download.mimetype == "application/pdf"


@pytest.fixture
def published(app):
    make_editor(app)
    with app.app_context():
        cover = upload_png()
        write_article("小红书起号：𠮷祥的第一步", slug="first-steps", cover=cover,
                      body=f"![图](/media/{cover})\n\n[课程](/courses/) [外链](https://example.org/x)")
    return cover


def test_feed_and_sitemap_use_site_url(client, published):
    feed = client.get("/feed.xml", headers=FOREIGN)
    assert feed.status_code == 200
    text = feed.get_data(as_text=True)
    assert_only_site_links(text)
    assert f'src="{SITE}/media/{published}"' in ET.fromstring(feed.data).find(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content").text
    sitemap = client.get("/sitemap.xml", headers=FOREIGN)
    locations = [loc.text for loc in ET.fromstring(sitemap.data).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert f"{SITE}/articles/first-steps" in locations and f"{SITE}/" in locations
    assert all(location.startswith(SITE + "/") for location in locations)


def test_open_graph_and_canonical_tags_use_site_url(client, published):
    article = client.get("/articles/first-steps", headers=FOREIGN).get_data(as_text=True)
    assert f'<link rel="canonical" href="{SITE}/articles/first-steps">' in article
    assert f'<meta property="og:url" content="{SITE}/articles/first-steps">' in article
    assert f'<meta property="og:image" content="{SITE}/media/{published}">' in article
    home = client.get("/", headers=FOREIGN).get_data(as_text=True)
    assert f'<link rel="canonical" href="{SITE}/">' in home
    assert "evil.example" not in article + home


def test_no_template_or_module_builds_links_from_the_request():
    """The rule's one home is app/common/urls.py: nothing else may take a host from the request."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"_external\s*=\s*True|request\.(host_url|url_root|host\b|base_url|root_url)")
    offenders = [str(path.relative_to(root)) for folder in ("app", "templates") for path in (root / folder).rglob("*")
                 if path.suffix in {".py", ".html", ".txt", ".xml"} and pattern.search(path.read_text("utf-8"))]
    assert offenders == []
