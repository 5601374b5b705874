"""Builders for catalogue data, through the same services the admin pages use."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.catalog import service as catalog
from app.common.time import utcnow


def make_course(title: str = "快速玩转小红书成长特训营", published: bool = True, **fields) -> int:
    course = catalog.create_course(
        title=title, platform=fields.pop("platform", "小红书"), duration_label=fields.pop("duration_label", "3天2夜"),
        is_published=published, **fields,
    )
    return course.id


def make_session(course_id: int | None = None, capacity: int = 10, published: bool = True,
                 starts_in_days: int = 30, days: int = 3, price: str = "3980.00", **fields) -> int:
    """A bookable session by default: published, registration open now, starting in a month."""
    if course_id is None:
        course_id = make_course()
    starts_at = fields.pop("starts_at", utcnow().replace(microsecond=0) + timedelta(days=starts_in_days))
    camp = catalog.create_session(
        course_id,
        capacity=capacity,
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", starts_at + timedelta(days=days - 1, hours=9)),
        city=fields.pop("city", "杭州"),
        venue=fields.pop("venue", "玺承集团培训中心"),
        price=Decimal(price),
        is_published=published,
        **fields,
    )
    return camp.id
