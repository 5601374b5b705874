"""Chinese error pages for the HTTP errors a visitor can meet."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.api.errors import http_error_response, is_api_request, unexpected_error_response
from app.common.contact import please_contact
from app.extensions import db

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("请求有误"), _("提交的内容无法处理，请返回上一页检查后重试。")),
        403: (_("没有权限"), _("您的账号无权访问这个页面。如需帮助，%(contact)s。", contact=please_contact())),
        404: (_("页面不存在"), _("您访问的页面不存在或已被删除。")),
        405: (_("请求方式不支持"), _("请通过页面上的按钮操作。")),
        413: (_("内容太大"), _("提交的内容超过了大小限制。")),
        429: (_("操作太频繁"), _("请稍等一会儿再试。")),
        500: (_("服务器开小差了"), _("我们已记录这个问题，请稍后重试。")),
    }


def render_error(status: int, detail: str | None = None):
    title, message = _messages().get(status, (_("出错了"), _("请稍后重试。")))
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, _("页面已过期或表单校验失败，请刷新页面后重新提交。"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # Unknown URLs and wrong methods under /api/ fail before the API blueprint is known.
        if is_api_request():
            return http_error_response(error)
        # user_message: the Chinese reason some of our own HTTP errors carry (common/routing.py).
        return render_error(error.code or 500, getattr(error, "user_message", None))

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if is_api_request():
            return unexpected_error_response(error)
        log.exception("unhandled error")
        db.session.rollback()
        return render_error(500)
