"""Helpers that drive the app the way a browser does: fetch the form, then post it with its CSRF token."""
from __future__ import annotations

import re

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def submit_form(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """GET the page that shows the form (default: `url`), then POST `data` with its CSRF token."""
    page = client.get(form_page or url)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def login(client, login: str, password: str, remember: bool = False, **kwargs):
    data = {"login": login, "password": password}
    if remember:
        data["remember"] = "y"
    return submit_form(client, "/account/login", data, **kwargs)


def logout(client):
    return submit_form(client, "/account/logout", {}, form_page="/")
