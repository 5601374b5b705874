"""Where to get in touch: the 客服 phone, WeChat ID and email from the config (CONTACT_PHONE,
CONTACT_WECHAT, CONTACT_EMAIL) in every page's footer and in every message that tells people to
get in touch. Reported: after a camp's cancellation deadline a student was told 联系工作人员 and
the site showed no contact anywhere. Empty settings (production's default) show nothing."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from app.accounts.models import User
from app.booking import service as booking
from app.booking.models import Registration
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.extensions import cache, db
from tests.factories import make_session, new_session
from tests.helpers import API, api_book, outbox_messages, student_headers, submit_form

PHONE, WECHAT, EMAIL = "400-800-1234", "xicheng_kefu𠮷", "kefu@example.com"
SAID = "请联系客服：电话 400-800-1234，微信 xicheng_kefu𠮷，邮箱 kefu@example.com"


@pytest.fixture
def contact(app, monkeypatch):
    for name, value in (("CONTACT_PHONE", PHONE), ("CONTACT_WECHAT", WECHAT), ("CONTACT_EMAIL", EMAIL)):
        monkeypatch.setitem(app.config, name, value)


def _footer(html: str) -> str:
    return re.search(r'<footer class="site-footer">(.*?)</footer>', html, re.S).group(1)


def test_every_page_footer_shows_the_contact_details(client, contact):
    for url in ("/", "/courses/", "/account/login", "/verify", "/no-such-page"):
        footer = _footer(client.get(url).get_data(as_text=True))
        assert '<a href="tel:400-800-1234">400-800-1234</a>' in footer, url
        assert "微信 xicheng_kefu𠮷" in footer and '<a href="mailto:kefu@example.com">' in footer, url


def test_only_what_is_configured_is_shown(app, client, monkeypatch):
    assert "客服" not in _footer(client.get("/").get_data(as_text=True))  # none set: no empty line
    monkeypatch.setitem(app.config, "CONTACT_WECHAT", "  xicheng-kefu ")
    with app.app_context():
        cache.clear()  # a new setting comes with a restart, and the pages kept before it expire
    footer = _footer(client.get("/").get_data(as_text=True))
    assert "客服：<span>微信 xicheng-kefu</span>" in footer and "电话" not in footer and "邮箱" not in footer


def test_a_contact_detail_cannot_inject_markup(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CONTACT_WECHAT", '<script>alert(1)</script>')
    assert "<script>alert(1)" not in client.get("/").get_data(as_text=True)


def _past_the_deadline(app, student_client) -> int:
    with app.app_context():
        session_id = make_session(capacity=5)
    submit_form(student_client, f"/sessions/{session_id}/book", {})
    with app.app_context():
        db.session.get(CampSession, session_id).cancellation_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
        registration_id = db.session.query(Registration.id).filter_by(session_id=session_id).scalar()
    return registration_id


def test_a_student_past_the_deadline_is_told_whom_to_call(app, student_client, contact):
    registration_id = _past_the_deadline(app, student_client)
    page = student_client.get("/me/registrations").get_data(as_text=True)
    assert f"已过取消截止时间。如需取消，{SAID}。" in page

    response = submit_form(student_client, f"/me/registrations/{registration_id}/cancel", {},
                           form_page="/me/registrations", follow_redirects=True)
    assert f"已过取消截止时间。如需取消，{SAID}" in response.get_data(as_text=True)


def test_the_api_says_it_too(app, client, contact):
    headers = student_headers(app, client, "api@example.com", "13800000093", name="王喆")
    session_id = new_session(app, cancellation_deadline=utcnow() - timedelta(hours=1))
    registration_id = api_book(client, session_id, headers).get_json()["id"]
    answer = client.delete(f"{API}/registrations/{registration_id}", headers=headers)
    assert answer.status_code == 409
    assert answer.get_json() == {"code": "cancellation_closed", "message": f"已过取消截止时间。如需取消，{SAID}"}


def test_the_cancellation_email_says_it_when_the_sender_composes_it(app, student_client, contact, staff):
    registration_id = _past_the_deadline(app, student_client)
    with app.test_request_context():
        booking.cancel_registration(registration_id, db.session.get(User, staff), by_staff=True)
    [cancelled] = [m for m in outbox_messages(app) if m.subject.startswith("报名已取消")]
    assert f"如有疑问，{SAID}。" in cancelled.body_text


def test_without_contact_details_the_messages_still_read(app, student_client):
    _past_the_deadline(app, student_client)
    page = student_client.get("/me/registrations").get_data(as_text=True)
    assert "已过取消截止时间。如需取消，请联系工作人员。" in page


def test_production_shows_none_by_default_development_demo_values_and_the_environment_wins():
    code = """
        from config import DevelopmentConfig, ProductionConfig
        for config in (ProductionConfig, DevelopmentConfig):
            print(repr((config.CONTACT_PHONE, config.CONTACT_WECHAT, config.CONTACT_EMAIL)))
    """
    production, development = _config_values(code, {}).stdout.splitlines()
    assert production == repr(("", "", ""))
    assert development == repr(("400-800-1234", "xicheng-kefu", "kefu@example.com"))
    production, _development = _config_values(code, {"CONTACT_PHONE": "021-6000 0000"}).stdout.splitlines()
    assert production == repr(("021-6000 0000", "", ""))


def _config_values(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """config.py in a fresh interpreter (it reads the environment when imported), without the
    runner's own CONTACT_* settings."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=Path(__file__).parent.parent,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True)
