"""Every enum value people see has a Chinese label, from one function per enum (its `label`):
pages, exports and history lines never show `sent`, `confirmed` or `revoked`."""
from __future__ import annotations

import re

import pytest

from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.models import RegistrationStatus
from app.certificates.models import CertificateStatus
from app.cms.models import ArticleStatus
from app.extensions import db
from app.mail.models import OutboxStatus
from tests.factories import make_session

CHINESE = re.compile(r"^[\u4e00-\u9fff]+$")


@pytest.mark.parametrize("enum", [Role, RegistrationStatus, CertificateStatus, ArticleStatus, OutboxStatus])
def test_every_member_has_its_own_chinese_label(app, enum):
    with app.test_request_context():
        labels = [member.label for member in enum]
    assert all(CHINESE.match(label) for label in labels), labels
    assert len(set(labels)) == len(labels)  # two statuses never read the same


def test_the_admin_user_page_names_registration_and_certificate_statuses_in_chinese(app, admin_client, student):
    with app.test_request_context():
        booking.book_seat(db.session.get(User, student), make_session(capacity=5))
        db.session.remove()
    page = admin_client.get(f"/admin/users/{student}").get_data(as_text=True)
    assert '<span class="badge badge-open">已确认</span>' in page
    assert re.search(r">\s*(confirmed|waitlisted|cancelled|student)\s*<", page) is None
