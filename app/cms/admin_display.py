"""How the admin CMS pages word things: status names, and a revision's diff grouped for reading."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext as _

from app.cms.models import ArticleStatus
from app.cms.service import DiffLine

# Unchanged lines kept around each change; longer unchanged runs fold into one "N 行未改动" row.
DIFF_CONTEXT = 2


def status_label(status: ArticleStatus | str) -> str:
    return ArticleStatus(status).label


def field_label(name: str) -> str:
    return {"title": _("标题"), "summary": _("导读"), "body": _("正文"), "tags": _("标签")}.get(name, name)


@dataclass(frozen=True)
class Folded:
    """Unchanged lines not shown."""

    count: int
    kind: str = "folded"


@dataclass
class DiffSection:
    label: str
    lines: list[DiffLine | Folded] = field(default_factory=list)


def diff_sections(lines: list[DiffLine]) -> list[DiffSection]:
    """The diff per field (标题, 导读, 正文, 标签), only the fields that changed, each change with a
    little unchanged context: a long article's diff shows what moved, not the whole article again."""
    sections = []
    for name, group in groupby(lines, key=lambda line: line.field):
        group = list(group)
        changed = [i for i, line in enumerate(group) if line.kind != "same"]
        if not changed:
            continue
        shown = {i for c in changed for i in range(c - DIFF_CONTEXT, c + DIFF_CONTEXT + 1)}
        section = DiffSection(field_label(name))
        hidden = 0
        for i, line in enumerate(group):
            if i not in shown:
                hidden += 1
                continue
            if hidden:
                section.lines.append(Folded(hidden))
                hidden = 0
            section.lines.append(line)
        if hidden:
            section.lines.append(Folded(hidden))
        sections.append(section)
    return sections
