"""Every API error is JSON: {"code": "...", "message": "<Chinese>"} and, for invalid input,
"fields": {field name: message}. `code` is stable for clients; `message` is shown to people.

Domain errors raised by the services keep their own code; this module only chooses the HTTP status.
Routing errors (unknown URL, wrong method) happen before Flask knows the blueprint, so the app-level
handlers in app/errors/handlers.py hand requests under /api/ to `http_error_response` too.
"""
from __future__ import annotations

import logging

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.api import bp
from app.api.schemas import error_json
from app.common.errors import DomainError
from app.extensions import db

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


class ApiError(DomainError):
    """An error of the API itself (bad input, missing token), shaped like a domain error."""

    status = 400


class InvalidRequest(ApiError):
    code = "invalid_request"
    message = _l("提交的内容有误，请检查后重试")

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class AuthenticationRequired(ApiError):
    code = "authentication_required"
    message = _l("请先登录")
    status = 401


class InvalidToken(ApiError):
    code = "invalid_token"
    message = _l("登录已失效，请重新登录")
    status = 401


# Statuses of the services' errors that are not 409 Conflict ("the rules say no right now": closed,
# started, not open yet, cancellation closed, already cancelled, email or phone taken ...).
_DOMAIN_STATUS = {
    "invalid_credentials": 401,
    # Registration questions answered wrongly or not at all: bad input, with `fields` per question.
    "invalid_answers": 400,
    # 团体报名: an attendee's details (fields per attendee), or too few or too many of them.
    "invalid_attendees": 400,
    "group_size_invalid": 400,
    "account_disabled": 403,
    "profile_incomplete": 422,
    # A draft session does not exist for clients: GET /sessions/<id> is 404 for it as well.
    "session_not_published": 404,
    # The body was well formed; WeChat did not accept the login code in it (the client logs in again).
    "wechat_login_code_invalid": 422,
    # WeChat Pay could not be reached or refused us: the seat stays held, the client may retry.
    # (payment_method_unavailable, WeChat Pay not configured here, stays 409: the site's state.)
    "payment_service_unavailable": 503,
}

_HTTP_CODES = {
    400: ("invalid_request", _l("提交的内容有误，请检查后重试")),
    401: ("authentication_required", _l("请先登录")),
    403: ("forbidden", _l("没有权限进行这个操作")),
    404: ("not_found", _l("接口不存在")),
    405: ("method_not_allowed", _l("该接口不支持这种请求方式")),
    413: ("payload_too_large", _l("提交的内容超过了大小限制")),
    429: ("rate_limited", _l("操作太频繁，请稍等一会儿再试")),
    500: ("internal_error", _l("服务器开小差了，请稍后重试")),
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def status_for(error: DomainError) -> int:
    if isinstance(error, ApiError):
        return error.status
    if error.code in _DOMAIN_STATUS:
        return _DOMAIN_STATUS[error.code]
    if error.code.endswith("_not_found"):
        return 404
    return 409


def json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None,
               headers: dict[str, str] | None = None, seats_left: int | None = None) -> tuple[Response, int]:
    response = jsonify(error_json(code, str(message), fields or None, seats_left))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers.update(headers or {})
    return response, status


@bp.errorhandler(DomainError)
def domain_error_response(error: DomainError):
    fields = getattr(error, "fields", None)
    if not fields and error.field:
        fields = {error.field: str(error.message)}
    # not_enough_seats says how many there are, so the booker can book that many instead.
    return json_error(status_for(error), error.code, str(error.message), fields,
                      seats_left=getattr(error, "seats_left", None))


@bp.errorhandler(HTTPException)
def http_error_response(error: HTTPException):
    status = error.code or 500
    code, message = _HTTP_CODES.get(status, ("http_error", _("请求未能完成")))
    message = getattr(error, "user_message", None) or message  # e.g. a NUL in the query string
    # Keep the headers the exception carries: Allow on 405, Retry-After on 429.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return json_error(status, code, str(message), headers=headers)


@bp.errorhandler(Exception)
def unexpected_error_response(error: Exception):
    log.exception("unhandled error in API request %s %s", request.method, request.path)
    db.session.rollback()
    code, message = _HTTP_CODES[500]
    return json_error(500, code, str(message))
