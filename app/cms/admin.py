"""The admins' CMS: article list, editor with live preview, uploads, revisions, publishing."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cms_admin", __name__, url_prefix="/admin/articles")
