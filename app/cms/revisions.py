"""Reading an article's saved revisions: one of them, and what it changed from the one before."""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select

from app.cms.errors import RevisionNotFound
from app.cms.models import ArticleRevision
from app.extensions import db

DIFF_FIELDS = ("title", "summary", "body", "tags")
_NDIFF_KINDS = {"  ": "same", "+ ": "added", "- ": "removed"}


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str
    field: str = ""  # one of DIFF_FIELDS


def find_revision(article_id: int, number: int) -> ArticleRevision:
    revision = db.session.scalar(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id, ArticleRevision.number == number)
    )
    if revision is None:
        raise RevisionNotFound()
    return revision


def _lines(revision: ArticleRevision | None, name: str) -> list[str]:
    if revision is None:
        return []
    if name == "tags":  # one tag per line, so an added tag reads as one added line
        # Sorted here too: revisions saved before tags were stored sorted kept the editor's order.
        return sorted(tag.strip() for tag in revision.tag_names.split(",") if tag.strip())
    return getattr(revision, name).splitlines()


def revision_diff(article_id: int, number: int) -> list[DiffLine]:
    """What revision `number` changed from the one before it (the first: everything added),
    field by field, line by line."""
    revision = find_revision(article_id, number)
    previous = db.session.scalar(
        select(ArticleRevision).where(ArticleRevision.article_id == article_id, ArticleRevision.number < number)
        .order_by(ArticleRevision.number.desc()).limit(1)
    )
    lines: list[DiffLine] = []
    for name in DIFF_FIELDS:
        for line in difflib.ndiff(_lines(previous, name), _lines(revision, name)):
            kind = _NDIFF_KINDS.get(line[:2])
            if kind is not None:  # "? " lines are ndiff's hints, not content
                lines.append(DiffLine(kind, line[2:], name))
    return lines
