from flask_babel import lazy_gettext as _l

from app.common.errors import DomainError


class TicketNotFound(DomainError):
    code = "ticket_not_found"
    message = _l("无效的票码，查无此票")


class TicketForOtherSession(DomainError):
    code = "ticket_other_session"
    message = _l("这张票不属于本场次")


class TicketNotConfirmed(DomainError):
    code = "ticket_not_confirmed"

    def __init__(self, status_label: str) -> None:
        super().__init__(_l("该报名状态为「%(status)s」，不能签到", status=status_label))


class NotASessionDay(DomainError):
    code = "not_a_session_day"
    message = _l("今天不是本场次的上课日")
