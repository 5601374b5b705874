"""Public CMS pages: article lists, an article, search, feed and sitemap, uploaded images."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cms", __name__)
