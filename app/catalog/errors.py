from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class SlugTaken(DomainError):
    code = "slug_taken"
    message = _l("这个链接名已被其他课程使用，请换一个")
    field = "slug"


class CourseNotFound(DomainError):
    code = "course_not_found"
    message = _l("找不到这门课程")


class SessionNotFound(DomainError):
    code = "session_not_found"
    message = _l("找不到这个场次")
