"""`seed-demo` shows 报名审核: a 私董会 that requires approval, four applications waiting in the
staff's queue and one turned down with its message; a second run doubles nothing."""
from __future__ import annotations

from sqlalchemy import select

from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.demo.applications import PRIVATE_BOARD_SLUG, REJECTION
from app.extensions import db
from tests.helpers import login, text_of
from tests.test_demo_articles import run


def test_the_demo_private_board_has_pending_applications_and_one_rejected(app):
    assert run(app, "seed-demo").exit_code == 0
    again = run(app, "seed-demo")
    assert again.exit_code == 0 and "demo 私董会 applications: 0 created" in again.output

    with app.app_context():
        camp = db.session.scalar(select(CampSession).join(Course).where(Course.slug == PRIVATE_BOARD_SLUG))
        assert camp.requires_approval and camp.seats_taken == 0
        found = list(db.session.scalars(select(Registration).where(Registration.session_id == camp.id)
                                        .order_by(Registration.created_at)))
        assert [r.status for r in found] == [RegistrationStatus.REJECTED] + [RegistrationStatus.PENDING_REVIEW] * 4
        assert found[0].review_message == REJECTION
        camp_id = camp.id

    client = app.test_client()
    login(client, "staff@example.com", "demo12345")
    queue = client.get(f"/staff/sessions/{camp_id}/applications")
    assert queue.status_code == 200 and "待审核 4" in text_of(queue)
