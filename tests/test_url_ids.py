"""An id in a URL beyond the id columns' range is "not found" everywhere, never a database error.

Ids are 32-bit INTEGER columns; a 20-digit number reaching a query fails in the driver (PostgreSQL:
integer out of range, SQLite: Python int too large), which a visitor would see as a 500.
"""
from __future__ import annotations

import re

import pytest

from app.common.routing import MAX_ID
from tests.helpers import assert_error

HUGE = "99999999999999999999"  # more than 64 bits
_INT_SEGMENT = re.compile(r"<int(?:\([^)]*\))?:\w+>")
_OTHER_SEGMENT = re.compile(r"<(?:[^:<>]+:)?\w+>")


def _urls_with_ids(app) -> dict[str, tuple[str, str]]:
    """Every rule with an integer segment: {rule: (method, URL with every id set to HUGE)}."""
    urls = {}
    for rule in app.url_map.iter_rules():
        if not _INT_SEGMENT.search(rule.rule):
            continue
        url = _OTHER_SEGMENT.sub("x", _INT_SEGMENT.sub(HUGE, rule.rule))
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        urls[rule.rule] = (method, url)
    return urls


def test_a_huge_id_is_not_found_on_every_page_and_api_route(app, admin_client):
    urls = _urls_with_ids(app)
    # The sweep covers the public, admin and API pages (a renamed route must not empty it).
    assert {"/sessions/<int:session_id>/book", "/articles/<int:article_id>/book/<int:session_id>",
            "/admin/articles/<int:article_id>/edit", "/admin/users/<int:user_id>",
            "/api/v1/sessions/<int:session_id>", "/api/v1/registrations/<int:registration_id>"} <= set(urls)

    for rule, (method, url) in urls.items():
        response = admin_client.open(url, method=method)
        if url.startswith("/api/"):
            assert_error(response, 404, "not_found")
        else:
            assert response.status_code == 404, (rule, method, response.status_code)
            assert "页面不存在" in response.get_data(as_text=True), rule


@pytest.mark.parametrize("url", [f"/sessions/{HUGE}/book", f"/articles/1/book/{HUGE}", f"/admin/articles/{HUGE}/edit"])
def test_a_visitor_who_is_not_logged_in_gets_not_found_too(client, url):
    assert client.get(url).status_code == 404


def test_the_largest_id_still_reaches_the_page_and_is_simply_unknown(client, admin_client):
    assert_error(client.get(f"/api/v1/sessions/{MAX_ID}"), 404, "session_not_found")
    assert admin_client.get(f"/admin/articles/{MAX_ID}/edit").status_code == 404
    assert client.get(f"/api/v1/sessions/{MAX_ID + 1}").get_json()["code"] == "not_found"
