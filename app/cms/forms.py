"""Forms of the admins' CMS: the article editor and the article list's filters.

The editor checks only what a form can know (lengths the columns impose, the tag list, a
schedule time that is in the past); the article rules (title, slug, body length, booking cards)
are the service's, which raises a domain error that the view shows next to the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from app.cms.errors import PublishAtInPast, PublishAtRequired
from app.cms.models import Article, ArticleStatus
from app.cms.service import MAX_TAG_CHARS, MAX_TAGS, ArticleInput
from app.common.forms import AppForm
from app.common.pagination import id_arg
from app.common.time import from_local_input, to_local_input, utcnow

DEFAULT_AUTHOR = "玺承集团"
# Editors type tags the way Chinese text separates items: 小红书、种草，运营 or 小红书, 种草.
_TAG_SEPARATORS = re.compile(r"[,，、;；\n]+")

STATUS_FILTERS = ("draft", "scheduled", "published", "archived")
LIST_PER_PAGE = 20


def _at_most(n: int) -> Length:
    return Length(max=n, message=_l("最多 %(n)s 个字", n=n))


def split_tags(text: str | None) -> list[str]:
    """'小红书、种草， 运营,小红书' -> ['小红书', '种草', '运营'] (trimmed, first spelling kept, in order)."""
    names: list[str] = []
    for name in _TAG_SEPARATORS.split(text or ""):
        name = " ".join(name.split())
        if name and name not in names:
            names.append(name)
    return names


class ArticleForm(AppForm):
    title = StringField(_l("标题"))
    slug = StringField(_l("链接名"), description=_l("留空则根据标题的拼音自动生成；只能使用小写字母、数字和连字符"))
    summary = TextAreaField(_l("导读"), validators=[_at_most(1000)],
                            description=_l("显示在标题下方和文章列表中"))
    body = TextAreaField(_l("正文（Markdown）"))
    cover_image = HiddenField()  # a MediaFile filename, set by the upload (script or the file below)
    cover_file = FileField(_l("封面图片"))  # its description names the configured size limit: __init__
    column_id = SelectField(_l("栏目"), coerce=int, validate_choice=False)
    tags = StringField(_l("标签"), description=_l("用逗号或顿号分隔，最多 10 个，例如 小红书、种草"))
    seo_description = TextAreaField(_l("SEO 描述"), validators=[_at_most(300)],
                                    description=_l("搜索结果和分享卡片中的简介；留空则使用导读"))
    author_name = StringField(_l("作者署名"), default=DEFAULT_AUTHOR, validators=[_at_most(50)])
    publish_at = DateTimeLocalField(_l("定时发布时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                    description=_l("北京时间"))
    # The revision the editor started from: a save on top of a newer one is refused, not lost.
    base_revision = IntegerField(widget=HiddenField.widget, validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit_mb = current_app.config["CMS_MAX_IMAGE_BYTES"] / (1024 * 1024)
        self.cover_file.description = _l("JPEG、PNG、GIF 或 WEBP，不超过 %(mb)s MB", mb=f"{limit_mb:g}")

    def offer_columns(self, columns) -> None:
        self.column_id.choices = [SelectChoice(0, _l("不设栏目")),
                                  *(SelectChoice(column.id, column.name) for column in columns)]

    def validate_publish_at(self, field) -> None:
        # Year 1 in Beijing is before year 1 in UTC: such a time cannot even be converted.
        if field.data is not None and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("请选择 2000 至 2100 年之间的时间"))

    def validate_tags(self, field) -> None:
        names = split_tags(field.data)
        if len(names) > MAX_TAGS:
            raise ValidationError(_l("最多 %(n)s 个标签", n=MAX_TAGS))
        too_long = [name for name in names if len(name) > MAX_TAG_CHARS]
        if too_long:
            raise ValidationError(_l("每个标签最多 %(n)s 个字：%(names)s", n=MAX_TAG_CHARS, names="、".join(too_long)))

    def fill_from(self, article: Article) -> None:
        """The saved article, for a first GET of the editor."""
        self.process(obj=article)
        self.column_id.data = article.column_id or 0
        self.tags.data = "、".join(tag.name for tag in article.tags)
        self.publish_at.data = to_local_input(article.publish_at) if article.status is ArticleStatus.SCHEDULED else None
        self.base_revision.data = article.revision_number

    def article_input(self) -> ArticleInput:
        return ArticleInput(
            title=" ".join((self.title.data or "").split()),
            slug=(self.slug.data or "").strip(),
            summary=(self.summary.data or "").strip(),
            body=(self.body.data or "").replace("\r\n", "\n"),  # browsers post textareas with \r\n
            author_name=(self.author_name.data or "").strip(),
            seo_description=(self.seo_description.data or "").strip(),
            cover_image=self.cover_image.data or None,
            column_id=self.column_id.data or None,
            tag_names=split_tags(self.tags.data),
            publish_at=self.publish_at_utc(),
        )

    def publish_at_utc(self):
        """The typed time is Beijing wall-clock time."""
        return from_local_input(self.publish_at.data)


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    status: str = ""  # "" or one of STATUS_FILTERS (as the list shows it: a due scheduled article is published)
    column_id: int | None = None
    author: str = ""

    def args(self, **changes) -> dict:
        """Query-string arguments of the list with these filters (empty ones left out)."""
        values = {"q": self.q, "status": self.status, "column": self.column_id, "author": self.author, **changes}
        return {key: value for key, value in values.items() if value not in ("", None)}


def list_filters(args: MultiDict) -> ListFilters:
    """The list's query string; anything unknown falls back to 'show everything'."""
    status = args.get("status", "")
    return ListFilters(
        q=" ".join(args.get("q", "").split())[:100],
        status=status if status in STATUS_FILTERS else "",
        column_id=id_arg(args, "column"),
        author=args.get("author", "").strip()[:50],
    )



def schedule_time_error(form: ArticleForm) -> str | None:
    """Why the typed schedule time cannot be used, checked before anything is saved."""
    if form.publish_at.errors:
        return None  # WTForms already said why (not a date-time)
    when = form.publish_at_utc()
    if when is None:
        return str(PublishAtRequired().message)
    if when <= utcnow():
        return str(PublishAtInPast().message)
    return None
