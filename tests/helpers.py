"""HTTP-level helpers: drive the app the way a browser does (fetch the form, then post it with its
CSRF token), log in and out, and count the SQL statements a request runs."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db

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


@contextmanager
def recorded_statements(app) -> Iterator[list[str]]:
    """The SQL statements run inside the block, in order. SQLite's BEGIN (a transaction start,
    emitted by app/common/db.py) is not a query and is left out."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, url: str) -> list[str]:
    """The SQL statements of one GET, which must succeed."""
    with recorded_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return statements
