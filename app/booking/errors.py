from flask_babel import lazy_gettext as _l

from app.catalog.availability import BookingRefusal
from app.catalog.errors import SessionNotFound  # noqa: F401 (a session is catalog's; booking raises it too)
from app.common.contact import please_contact
from app.common.errors import DomainError


class SessionNotPublished(DomainError):
    code = "session_not_published"
    message = BookingRefusal.NOT_PUBLISHED.message


class RegistrationNotOpenYet(DomainError):
    code = "registration_not_open_yet"
    message = BookingRefusal.NOT_OPEN_YET.message


class RegistrationEnded(DomainError):
    code = "registration_closed"
    message = BookingRefusal.CLOSED.message


class SessionAlreadyStarted(DomainError):
    code = "session_started"
    message = BookingRefusal.STARTED.message


class ProfileIncomplete(DomainError):
    code = "profile_incomplete"
    message = _l("报名前请先填写姓名和手机号")


class RegistrationNotFound(DomainError):
    code = "registration_not_found"
    message = _l("找不到这条报名记录")


class AlreadyCancelled(DomainError):
    code = "already_cancelled"
    message = _l("这条报名已经取消或已过期")


class CancellationClosed(DomainError):
    code = "cancellation_closed"

    def __init__(self) -> None:
        # Where to get in touch, read from the config when raised (web page and API alike).
        super().__init__(_l("已过取消截止时间。如需取消，%(contact)s", contact=please_contact()))


class CapacityBelowConfirmed(DomainError):
    code = "capacity_below_confirmed"
    field = "capacity"

    def __init__(self, confirmed: int) -> None:
        super().__init__(_l("名额不能少于已占用的名额（%(n)s 个，含待支付保留的）", n=confirmed))


class AlreadyRegistered(DomainError):
    code = "already_registered"
    message = _l("此人已经报名了这个场次")


class SessionFull(DomainError):
    code = "session_full"
    message = _l("该场次已满，没有空余名额")


class NotWaitlisted(DomainError):
    code = "not_waitlisted"
    message = _l("只有候补中的报名才能转正")


class MoveToOtherCourse(DomainError):
    code = "move_to_other_course"
    message = _l("只能调到同一门课程的其他场次")


class MoveToSameSession(DomainError):
    code = "move_to_same_session"
    message = _l("已经在这个场次了")


class RegistrationChanged(DomainError):
    code = "registration_changed"
    message = _l("这条报名刚刚被调整到其他场次，请刷新页面后再试")


class SessionChanging(DomainError):
    """The session kept changing under a booking (opened, closed, reopened) while it was tried."""

    code = "session_changing"
    message = _l("场次信息正在调整，请稍后再试")


class NotPendingReview(DomainError):
    code = "not_pending_review"
    message = _l("这条报名申请已经处理过了（通过、未通过或已撤回），请刷新页面")


class ReviewMessageInvalid(DomainError):
    code = "review_message_invalid"
    message = _l("审核留言最多 500 个字，且不能含有特殊控制字符")
