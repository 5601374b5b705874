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


# --- 团体报名 (groups.py) ---------------------------------------------------------------------------

class GroupBookingNotOffered(DomainError):
    code = "group_booking_not_offered"
    message = _l("该场次不接受团体报名，请每位学员分别报名")


class GroupNeedsApproval(DomainError):
    code = "group_booking_not_offered"
    message = _l("该场次需要审核，请每位学员分别提交报名申请")


class GroupSizeInvalid(DomainError):
    code = "group_size_invalid"
    field = "attendees"

    def __init__(self, most: int) -> None:
        super().__init__(_l("团体报名需要 2–%(n)s 位参会人；一个人请直接报名", n=most))


class NotEnoughSeats(DomainError):
    """All or nothing: the group did not fit. `seats_left`: what is free now (the booker may book
    that many, or join the waiting list as a group)."""

    code = "not_enough_seats"

    def __init__(self, seats_left: int, wanted: int) -> None:
        self.seats_left = seats_left
        if seats_left:
            message = _l("剩余名额只有 %(left)s 个，不够 %(wanted)s 人。可以减少人数，或整组加入候补",
                         left=seats_left, wanted=wanted)
        else:
            message = _l("名额已满。可以整组加入候补，有 %(wanted)s 个名额空出时一起转正", wanted=wanted)
        super().__init__(message)


class InvalidAttendees(DomainError):
    """Some attendees' details are wrong: `errors` maps "<index>.<field>" (index from 0; field name,
    phone, email, or answers.<question id>) to its message."""

    code = "invalid_attendees"
    message = _l("参会人信息有误，请按提示修改后重新提交")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__()
        self.errors = errors

    @property
    def fields(self) -> dict[str, str]:
        """The API's `fields`: attendees.<index>.<field> -> message."""
        return {f"attendees.{key}": message for key, message in self.errors.items()}


class NotGroupBooker(DomainError):
    code = "registration_not_found"
    message = _l("找不到这条报名记录")


class ReplacementClosed(DomainError):
    code = "replacement_closed"

    def __init__(self) -> None:
        super().__init__(_l("已过取消截止时间，不能再换人。如需换人，%(contact)s", contact=please_contact()))
