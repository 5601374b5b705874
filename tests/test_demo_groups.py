"""`seed-demo` shows 团体报名: a manager's group of three on the 小红书 camp's upcoming session, each
attendee with their answers and a paid seat; the booker's pages and the roster show it; a second
run doubles nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from app.booking.models import GroupBooking, RegistrationStatus
from app.extensions import db
from app.questions.models import Answer
from tests.helpers import login, text_of
from tests.test_demo_articles import run


def test_the_demo_has_a_group_of_three_booked_by_a_manager(app):
    assert run(app, "seed-demo").exit_code == 0
    again = run(app, "seed-demo")
    assert again.exit_code == 0 and "demo 团体报名: 0 created" in again.output

    with app.app_context():
        group = db.session.scalar(select(GroupBooking))
        assert db.session.scalar(select(func.count()).select_from(GroupBooking)) == 1
        assert group.booker.name == "赵经理" and group.session.course.slug == "xiaohongshu-growth-camp"
        assert [(r.user.name, r.status) for r in group.registrations] == [
            ("钱多多", RegistrationStatus.CONFIRMED), ("孙䶮", RegistrationStatus.CONFIRMED),
            ("欧阳娜娜", RegistrationStatus.CONFIRMED)]
        answered = db.session.scalar(select(func.count(func.distinct(Answer.registration_id))).where(
            Answer.registration_id.in_([r.id for r in group.registrations])))
        assert answered == 3
        group_id, session_id = group.id, group.session_id

    manager = app.test_client()
    assert login(manager, "manager@example.com", "demo12345").status_code == 302
    page = text_of(manager.get(f"/me/groups/{group_id}"))
    assert "孙䶮" in page and page.count("电子票 · 入场二维码") == 3
    staff = app.test_client()
    login(staff, "staff@example.com", "demo12345")
    assert f"团体 #{group_id}" in text_of(staff.get(f"/staff/sessions/{session_id}/roster?group={group_id}"))
