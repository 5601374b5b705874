"""A course's refund policy: how much of what was paid comes back when a paid seat is cancelled.

One rule, read by the cancellation (payments.refunds) and shown by the course page and the
booking page (`policy_lines`), so what a student is promised is what they get.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from flask_babel import gettext as _

from app.catalog.models import CampSession, Course


@dataclass(frozen=True)
class RefundDue:
    amount: Decimal
    percent: int
    rule: str  # the tier that applied, in the words the pages show


def refund_due(camp: CampSession, paid: Decimal, now: datetime) -> RefundDue:
    """What comes back of `paid` (paid less already refunded) if the seat is cancelled at `now`."""
    course = camp.course
    percent, rule = 0, _("按退款规则不退款")
    if course.refund_full_days is not None and now <= camp.starts_at - timedelta(days=course.refund_full_days):
        percent, rule = 100, _("开课 %(days)s 天前取消，全额退款", days=course.refund_full_days)
    elif (course.refund_partial_days is not None and course.refund_partial_percent
          and now <= camp.starts_at - timedelta(days=course.refund_partial_days)):
        percent, rule = course.refund_partial_percent, _("开课 %(days)s 天前取消，退还 %(percent)s%%",
                                                         days=course.refund_partial_days,
                                                         percent=course.refund_partial_percent)
    # Down to the fen: a refund never gives back a fen more than the policy says.
    amount = (paid * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return RefundDue(amount, percent, rule)


def _last_days(course: Course) -> int:
    """The days before the start from which nothing comes back: the last tier that gives something."""
    partial = course.refund_partial_days if course.refund_partial_percent else None
    return next((days for days in (partial, course.refund_full_days) if days is not None), 0)


def policy_lines(course: Course) -> list[str]:
    """The policy as the course and booking pages list it, tier by tier."""
    lines = []
    if course.refund_full_days is not None:
        lines.append(_("开课 %(days)s 天前取消：全额退款", days=course.refund_full_days))
    if course.refund_partial_days is not None and course.refund_partial_percent:
        lines.append(_("开课 %(days)s 天前取消：退还 %(percent)s%%", days=course.refund_partial_days,
                       percent=course.refund_partial_percent))
    if not lines:
        return [_("报名成功后取消不退款")]
    last = _last_days(course)
    lines.append(_("开课前 %(days)s 天内取消：不退款", days=last) if last else _("开课后取消：不退款"))
    return lines
