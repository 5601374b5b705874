"""Absolute links, always built from SITE_URL, the configured public address.

Never from the request: the Host header (and X-Forwarded-Host) is whatever the client sends, so a
password-reset email whose link took its host from the request would hand the token to whoever
asked for it with `Host: evil.example`. The same helper serves emails composed outside any request
(the outbox sender, the CLI).
"""
from __future__ import annotations

from flask import current_app


def site_url() -> str:
    """SITE_URL without a trailing slash (it may carry a path prefix: https://example.com/academy)."""
    return current_app.config["SITE_URL"].rstrip("/")


def absolute_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)` as a full address, on SITE_URL whatever the request says.

    Takes the full endpoint name ("cms.article"); values not in the route become the query string,
    `_anchor` the fragment."""
    anchor = values.pop("_anchor", None)
    # The URL map gives the path only; the host passed to bind() is never used.
    path = current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
    return site_url() + path + (f"#{anchor}" if anchor else "")
