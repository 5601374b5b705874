"""`flask --app wsgi cms ...`: import articles copied from WeChat, re-render cached HTML."""
from __future__ import annotations

from flask.cli import AppGroup

cms_cli = AppGroup("cms", help="文章管理：导入、重新渲染")
