"""Security headers on every response, private caching of personal pages, and the refusal of
requests for a host the site does not serve.

A plain after_request hook rather than flask-talisman: its last release is from August 2023, and
its defaults (redirecting to https itself, rewriting SESSION_COOKIE_SECURE) fight settings that
config.py and nginx already own. What we need is a handful of fixed headers.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException, SecurityError


# Scripts only from our own files (static/js, static/vendor): no inline <script>, no onclick=, no
# eval, so an injected tag cannot run. Inline style *attributes* are allowed (style-src-attr): a
# few templates size bars with style="width: 40%", and an attribute cannot load anything or select
# other elements the way an injected <style> element can, which stays refused. Images: ours, data:
# URLs (QR codes), and the host of MEDIA_PUBLIC_URL when uploaded images are served from another
# one. Nothing may frame the site but itself.
def content_security_policy(media_public_url: str = "") -> str:
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        " ".join(["img-src 'self' data:", *_origin(media_public_url)]),
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def _origin(url: str) -> list[str]:
    """[scheme://host[:port]] of an absolute URL; [] for a path on this site ('self' covers it)."""
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


_policy_for = functools.cache(content_security_policy)  # one string per setting, not one per response

# Pages about one person (their bookings, tickets, account) and staff or admin pages: a shared cache
# or the browser's disk must not keep them for the next person on the same phone or proxy.
PRIVATE_PATH_PREFIXES = ("/account/", "/me/", "/staff/", "/admin/", "/api/v1/me", "/api/v1/auth/",
                         "/api/v1/registrations/")
PRIVATE_BLUEPRINTS = frozenset({"booking"})  # the booking form shows the person's name and phone


def is_private_page() -> bool:
    return request.path.startswith(PRIVATE_PATH_PREFIXES) or request.blueprint in PRIVATE_BLUEPRINTS


View = TypeVar("View", bound=Callable)
_ANY_HOST = "_answers_any_host"


def answers_any_host(view: View) -> View:
    """Mark a view that answers whatever Host a request names, TRUSTED_HOSTS or not: the health
    probes. A load balancer or a supervisor asks an instance by its own address (Host:
    10.0.0.5:8081), not by the site's name, and a 400 there would take every instance out of
    rotation. Only for views that build no link and show nothing the Host could change."""
    setattr(view, _ANY_HOST, True)
    return view


def init_security(app: Flask) -> None:
    # Registered before the extensions' hooks, so it runs first: a foreign host is answered before
    # CSRF, the limiter or a view gets to build a URL (which would fail without a valid host).
    app.before_request(_refuse_untrusted_host)
    # Registered first, so it runs last (after_request hooks run in reverse): it has the final word.
    app.after_request(_add_security_headers)


def _refuse_untrusted_host() -> Response | None:
    """Flask checks TRUSTED_HOSTS when it matches the URL and keeps the error for later; answer it
    here with a plain page (the usual error page builds URLs, which needs the host)."""
    if not isinstance(request.routing_exception, SecurityError):
        return None
    # Flask did not match the URL (it needs a trusted host for that): match the path alone, and
    # answer a view marked answers_any_host here, before any other hook.
    try:
        endpoint, arguments = current_app.url_map.bind("").match(request.path, request.method)
    except HTTPException:
        endpoint = None
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is not None and getattr(view, _ANY_HOST, False):
        return view(**arguments)
    message = _("此网址的主机名不属于本站。")
    if request.path.startswith("/api/"):
        response = jsonify(code="bad_host", message=message)
    else:
        response = Response(f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>400</title>'
                            f"<p>{escape(message)}</p></html>", mimetype="text/html")
    response.status_code = 400
    return response


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy_for(current_app.config.get("MEDIA_PUBLIC_URL") or ""))
    headers["X-Frame-Options"] = "SAMEORIGIN"  # frame-ancestors for browsers that predate CSP 2
    headers["X-Content-Type-Options"] = "nosniff"
    # A view may ask for a stricter one (the ticket link /t/<code> sends none: the code is a secret).
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config["HSTS_SECONDS"]:
        headers["Strict-Transport-Security"] = f"max-age={current_app.config['HSTS_SECONDS']}"
    if is_private_page():
        headers["Cache-Control"] = "private, no-store"
    return response
