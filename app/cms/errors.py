"""Domain errors of the CMS: raised by app/cms/service.py, shown next to the editor's field."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class TitleRequired(DomainError):
    code = "title_required"
    message = _l("请填写标题")
    field = "title"


class TitleTooLong(DomainError):
    code = "title_too_long"
    field = "title"

    def __init__(self, limit: int = 200) -> None:
        super().__init__(_l("标题最多 %(n)s 个字", n=limit))


class SlugTaken(DomainError):
    code = "slug_taken"
    message = _l("这个链接名已被其他文章使用，请换一个")
    field = "slug"


class SlugInvalid(DomainError):
    code = "slug_invalid"
    message = _l("链接名只能使用小写字母、数字和连字符（-），最多 120 个字符")
    field = "slug"


class BodyTooLong(DomainError):
    code = "body_too_long"
    field = "body"

    def __init__(self, limit: int, length: int | None = None) -> None:
        if length is None:
            super().__init__(_l("正文太长：最多 %(limit)s 个字符", limit=f"{limit:,}"))
        else:
            super().__init__(_l("正文太长：最多 %(limit)s 个字符，当前 %(length)s 个字符",
                                limit=f"{limit:,}", length=f"{length:,}"))


class UnknownSessionInCard(DomainError):
    code = "unknown_session_in_card"
    field = "body"

    def __init__(self, session_ids: list[int]) -> None:
        self.session_ids = list(session_ids)
        super().__init__(_l("预约卡片中的场次不存在：%(ids)s", ids="、".join(str(i) for i in session_ids)))


class TextTooLong(DomainError):
    """A field longer than its column (the form checks it too; the importer and API may not)."""

    code = "text_too_long"

    def __init__(self, field: str, limit: int) -> None:
        self.field = field
        super().__init__(_l("最多 %(n)s 个字", n=limit))


class ColumnNotFound(DomainError):
    code = "column_not_found"
    message = _l("找不到这个栏目，请重新选择")
    field = "column_id"


class ColumnNameRequired(DomainError):
    code = "column_name_required"
    message = _l("请填写栏目名称")
    field = "name"


class ColumnNameTaken(DomainError):
    code = "column_name_taken"
    message = _l("已有同名的栏目")
    field = "name"


class CoverImageNotFound(DomainError):
    code = "cover_image_not_found"
    message = _l("封面图片不存在，请重新上传")
    field = "cover_file"


class ArticleNotFound(DomainError):
    code = "article_not_found"
    message = _l("找不到这篇文章")


class RevisionNotFound(DomainError):
    code = "revision_not_found"
    message = _l("找不到这个版本")


class ArticleChanged(DomainError):
    code = "article_changed"
    message = _l("保存失败：在你编辑期间，其他人已保存了更新的版本。你的内容仍在下方，请复制后刷新页面再合并修改。")


class PublishAtRequired(DomainError):
    code = "publish_at_required"
    message = _l("请填写定时发布时间")
    field = "publish_at"


class PublishAtInPast(DomainError):
    code = "publish_at_in_past"
    message = _l("定时发布时间必须晚于现在")
    field = "publish_at"


class ImageInvalid(DomainError):
    code = "image_invalid"
    message = _l("无法识别这张图片：只支持 JPEG、PNG、GIF 或 WEBP 格式的图片文件")
    field = "image"


class ImageTooLarge(DomainError):
    code = "image_too_large"
    field = "image"

    def __init__(self, limit_bytes: int = 5 * 1024 * 1024) -> None:
        super().__init__(_l("图片太大：每张最多 %(mb)s MB", mb=_megabytes(limit_bytes)))


class ImageTooManyPixels(DomainError):
    code = "image_too_many_pixels"
    field = "image"

    def __init__(self, limit_pixels: int) -> None:
        super().__init__(_l("图片尺寸太大：最多 %(n)s 万像素，请缩小后再上传", n=limit_pixels // 10_000))


def _megabytes(size: int) -> str:
    """5242880 -> "5", 1572864 -> "1.5"."""
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


class ImageStoreUnavailable(DomainError):
    """The image store (a folder, or the S3 bucket every server shares) did not take the image."""

    code = "image_store_unavailable"
    message = _l("图片暂时无法保存：图片存储服务没有响应，请稍后重新上传")
    field = "image"
