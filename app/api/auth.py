"""Accounts over the API: sign up, exchange credentials for a bearer token, and `token_required`.

A token is signed with itsdangerous (the app's SECRET_KEY and its own salt, so a password-reset
link can never pass as one) and carries the user id and `session_version`: a password change or
reset bumps the version and so revokes every token issued before it, like the login cookies.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.accounts import service as accounts
from app.accounts.limits import counts_as_signup, mark_signup_attempt
from app.accounts.models import User
from app.api import bp
from app.api.errors import AuthenticationRequired, InvalidToken
from app.api.schemas import SignupRequest, TokenOut, TokenRequest, user_json
from app.api.validation import parse_body
from app.extensions import db, limiter

_TOKEN_SALT = "api-bearer-token"


def token_max_age() -> int:
    return current_app.config["API_TOKEN_MAX_AGE"]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def make_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "sv": user.session_version})


def user_for_token(token: str) -> User:
    """The active user this token was issued to, unless it expired or was revoked; else InvalidToken."""
    try:
        data = _serializer().loads(token, max_age=token_max_age())
    except BadSignature as error:  # SignatureExpired is a BadSignature too
        raise InvalidToken() from error
    uid = data.get("uid") if isinstance(data, dict) else None
    user = db.session.get(User, uid) if isinstance(uid, int) else None
    if user is None or not user.is_active or user.session_version != data.get("sv"):
        raise InvalidToken()
    return user


P = ParamSpec("P")
R = TypeVar("R")


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    """Load the user from `Authorization: Bearer <token>` into `g.api_user`, or answer 401 JSON."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        credentials = request.authorization
        if credentials is None or credentials.type != "bearer" or not credentials.token:
            raise AuthenticationRequired()
        g.api_user = user_for_token(credentials.token)
        return view(*args, **kwargs)

    return wrapped


def current_api_user() -> User:
    return g.api_user


def per_user() -> str:
    """The rate limits' key of a token's requests: by account, not by address, as many students
    share one carrier NAT address. For views under `token_required` (which must run first)."""
    return f"user:{current_api_user().id}"


@bp.get("/me")
@token_required
def me():
    """The token's own account (the mini-program's "am I logged in, and as whom")."""
    return user_json(current_api_user())


def _signup_limit() -> str:
    return current_app.config["RATELIMIT_SIGNUP"]


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


@bp.post("/auth/signup")
@limiter.limit(_signup_limit, deduct_when=counts_as_signup)
def signup():
    body = parse_body(SignupRequest)
    mark_signup_attempt()
    user = accounts.register_user(body.email, body.password, body.name, body.phone)
    return user_json(user), 201


@bp.post("/auth/token")
@limiter.limit(_login_limit)
def issue_token():
    body = parse_body(TokenRequest)
    user = accounts.authenticate(body.login, body.password)
    return TokenOut(token=make_token(user), expires_in=token_max_age()).model_dump(mode="json")
