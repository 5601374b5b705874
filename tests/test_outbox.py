"""The mail outbox: a message exists only if its action committed, and it reaches the SMTP server
exactly once, through outages (retries with backoff), crashed senders (leases) and for good
(MAIL_MAX_ATTEMPTS), as operators run it (`flask outbox send`) and admins see it (/admin/outbox)."""
from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.accounts.models import User
from app.common.db import begin_write
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.sender import SEND_LEASE, deliver_due, retry_delay
from app.mail.service import Attachment, ComposedEmail, composer, queue_email, queue_templated
from tests.conftest import free_port
from tests.factories import make_user

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESET_LINK = "https://example.com/account/reset/token-123"
INVITE_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//booking//ZH\r\nBEGIN:VEVENT\r\n"
    "UID:session-42@example.com\r\nDTSTART:20270315T010000Z\r\nSUMMARY:天猫运营实战营 第3期\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()


def queue_reset_email(to: str = "zhang@example.com", attachments: tuple[Attachment, ...] = ()) -> OutboxMessage:
    return queue_email(
        to,
        "重置您的密码",
        "password_reset",
        attachments=attachments,
        user=SimpleNamespace(display_name="张喆"),
        link=RESET_LINK,
        valid_minutes=60,
    )


def commit_reset_email(**kwargs) -> int:
    """Queue a message the way a service does: in a write transaction that commits."""
    begin_write()
    message = queue_reset_email(**kwargs)
    db.session.flush()
    message_id = message.id
    db.session.commit()
    return message_id


def outbox_row(message_id: int) -> OutboxMessage:
    db.session.rollback()  # read what the sender committed, not this session's cached copy
    return db.session.get(OutboxMessage, message_id)


def test_committed_message_is_delivered_over_smtp_with_chinese_text_and_attachment(ctx, smtp_server):
    invite = Attachment("开课提醒.ics", "text/calendar", INVITE_ICS)
    message_id = commit_reset_email(attachments=(invite,))
    before = utcnow()

    report = deliver_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [email] = smtp_server.messages
    assert email["To"] == "zhang@example.com"
    assert email["Subject"] == "重置您的密码"
    assert "玺承集团" in email["From"]
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "张喆，您好" in body
    assert "60 分钟内" in body
    assert RESET_LINK in body
    [attachment] = list(email.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "开课提醒.ics"
    assert attachment.get_payload(decode=True) == INVITE_ICS

    row = outbox_row(message_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1
    assert row.last_error is None
    assert before <= row.sent_at <= utcnow()


def test_nothing_is_stored_or_sent_for_an_action_that_rolled_back(ctx, smtp_server):
    begin_write()
    queue_reset_email()
    db.session.flush()  # the row reached the database inside the transaction...
    db.session.rollback()  # ...and the action failed afterwards

    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    report = deliver_due(now=utcnow() + timedelta(days=1))
    assert report.attempted == 0
    assert smtp_server.messages == []


def test_smtp_outage_keeps_the_message_and_retries_it_after_the_backoff(app, ctx, smtp_server, monkeypatch):
    down_port = free_port()  # nothing listens here until the "server comes back" below
    monkeypatch.setitem(app.config, "MAIL_PORT", down_port)
    message_id = commit_reset_email()
    now = utcnow()

    report = deliver_due(now=now)

    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    row = outbox_row(message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    first_delay = timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"])
    assert row.next_attempt_at == now + first_delay

    # The server comes back on the same address.
    restarted = Controller(smtp_server, hostname="127.0.0.1", port=down_port)
    restarted.start()
    try:
        # Before the backoff has passed, the sender leaves the message alone even though it could send.
        assert deliver_due(now=now + first_delay - timedelta(seconds=1)).attempted == 0
        assert smtp_server.messages == []
        assert outbox_row(message_id).attempts == 1

        report = deliver_due(now=now + first_delay)
        assert (report.sent, report.retried, report.failed) == (1, 0, 0)
        assert deliver_due(now=now + timedelta(days=1)).attempted == 0
    finally:
        restarted.stop()

    [email] = smtp_server.messages
    assert email["To"] == "zhang@example.com"
    row = outbox_row(message_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 2
    assert row.last_error is None


def test_retry_delay_doubles_from_the_base_and_is_capped():
    assert [retry_delay(n, 30, 3600).total_seconds() for n in (1, 2, 3, 4, 7, 8, 30)] == [
        30, 60, 120, 240, 1920, 3600, 3600,
    ]


def test_sender_waits_longer_after_each_failure_up_to_the_maximum(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_RETRY_BASE_SECONDS", 30)
    monkeypatch.setitem(app.config, "MAIL_RETRY_MAX_SECONDS", 100)
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 10)
    message_id = commit_reset_email()

    delays = []
    now = utcnow()
    for _ in range(4):
        assert deliver_due(now=now).retried == 1
        next_attempt_at = outbox_row(message_id).next_attempt_at
        delays.append((next_attempt_at - now).total_seconds())
        now = next_attempt_at

    assert delays == [30, 60, 100, 100]
    assert outbox_row(message_id).attempts == 4


def test_message_fails_for_good_after_max_attempts_and_is_not_retried(app, ctx, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    message_id = commit_reset_email()

    outcomes = []
    now = utcnow()
    for _ in range(3):
        report = deliver_due(now=now)
        outcomes.append((report.sent, report.retried, report.failed))
        now += timedelta(days=1)

    assert outcomes == [(0, 1, 0), (0, 1, 0), (0, 0, 1)]
    row = outbox_row(message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error

    # Even with the server reachable again, a failed message stays failed for an operator to look at.
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.controller.port)
    assert deliver_due(now=now + timedelta(days=30)).attempted == 0
    assert smtp_server.messages == []
    assert outbox_row(message_id).status is OutboxStatus.FAILED


def test_flask_outbox_send_reports_counts_and_delivers(app, smtp_server, monkeypatch):
    with app.app_context():
        commit_reset_email(to="first@example.com")
        commit_reset_email(to="second@example.com")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["outbox", "send"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 2, to retry 0, failed 0"
    assert sorted(email["To"] for email in smtp_server.messages) == ["first@example.com", "second@example.com"]
    assert runner.invoke(args=["outbox", "send"]).output.strip() == "sent 0, to retry 0, failed 0"
    assert len(smtp_server.messages) == 2

    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    with app.app_context():
        commit_reset_email(to="third@example.com")
    assert runner.invoke(args=["outbox", "send"]).output.strip() == "sent 0, to retry 1, failed 0"


def test_console_backend_logs_the_message_instead_of_sending_it(app, smtp_server, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    with app.app_context():
        message_id = commit_reset_email()

    with caplog.at_level(logging.WARNING, logger="app.mail.sender"):
        result = app.test_cli_runner().invoke(args=["outbox", "send"])

    assert result.output.strip() == "sent 1, to retry 0, failed 0"
    assert smtp_server.messages == []
    assert "MAIL_BACKEND=console" in caplog.text
    assert "zhang@example.com" in caplog.text
    assert "重置您的密码" in caplog.text
    assert RESET_LINK in caplog.text
    with app.app_context():
        assert db.session.get(OutboxMessage, message_id).status is OutboxStatus.SENT


class _StallingInbox:
    """An SMTP server that accepts the connection and then never answers the message."""

    def __init__(self) -> None:
        self.message_started = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.message_started.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "451 try again later"


def test_message_of_a_sender_killed_mid_send_is_due_again_after_the_lease(app, ctx, smtp_server):
    message_id = commit_reset_email()
    stalling = _StallingInbox()
    stalled_server = Controller(stalling, hostname="127.0.0.1", port=free_port())
    stalled_server.start()
    env = {
        **os.environ,
        "APP_CONFIG": "testing",
        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_PORT": str(stalled_server.port),
    }
    before_claim = utcnow()
    sender = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "send"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not stalling.message_started.wait(timeout=0.1):
            exited = sender.poll() is not None
            if exited or time.monotonic() > deadline:
                sender.kill()
                _, stderr = sender.communicate(timeout=30)
                pytest.fail("the sender never reached the SMTP server:\n" + stderr.decode(errors="replace"))
        after_claim = utcnow()
        sender.kill()  # the worker dies in the middle of the SMTP conversation
        sender.wait(timeout=30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(timeout=30)
        stalling.release.set()
        stalled_server.stop()

    row = outbox_row(message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert before_claim + SEND_LEASE <= row.next_attempt_at <= after_claim + SEND_LEASE
    leased_until = row.next_attempt_at

    # Another sender run during the lease does not touch it (the first one might still be sending).
    assert deliver_due(now=leased_until - timedelta(seconds=1)).attempted == 0
    assert smtp_server.messages == []

    report = deliver_due(now=leased_until)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert [email["To"] for email in smtp_server.messages] == ["zhang@example.com"]
    row = outbox_row(message_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 2


# --- the admin pages -------------------------------------------------------------------------


@pytest.fixture
def outbox_with_one_of_each(app):
    """A sent, a pending and a failed message, as the sender leaves them."""
    with app.app_context():
        begin_write()
        sent = queue_reset_email(to="sent@example.com")
        pending = queue_reset_email(to="pending@example.com")
        failed = queue_reset_email(to="failed@example.com")
        sent.status, sent.attempts, sent.sent_at = OutboxStatus.SENT, 1, utcnow()
        failed.status, failed.attempts = OutboxStatus.FAILED, 8
        failed.last_error = "SMTPRecipientsRefused: {'failed@example.com': (550, b'mailbox unavailable')}"
        db.session.commit()
        return {"sent": sent.id, "pending": pending.id, "failed": failed.id}


def test_admin_sees_the_outbox_and_filters_it_by_status(admin_client, outbox_with_one_of_each):
    page = admin_client.get("/admin/outbox/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for address in ("sent@example.com", "pending@example.com", "failed@example.com"):
        assert address in html
    assert "发送失败 (1)" in html

    failed_only = admin_client.get("/admin/outbox/?status=failed").get_data(as_text=True)
    assert "failed@example.com" in failed_only
    assert "sent@example.com" not in failed_only
    assert "pending@example.com" not in failed_only

    pending_only = admin_client.get("/admin/outbox/?status=pending").get_data(as_text=True)
    assert "pending@example.com" in pending_only
    assert "failed@example.com" not in pending_only


def test_admin_reads_one_message_with_its_body_and_error(admin_client, outbox_with_one_of_each):
    page = admin_client.get(f"/admin/outbox/{outbox_with_one_of_each['failed']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "重置您的密码" in html
    assert "张喆，您好" in html
    assert RESET_LINK in html
    assert "mailbox unavailable" in html

    assert admin_client.get("/admin/outbox/999999").status_code == 404


@pytest.mark.parametrize("status, label", [("sent", "已发送"), ("pending", "待发送"), ("failed", "发送失败")])
def test_the_outbox_names_each_status_in_chinese(admin_client, outbox_with_one_of_each, status, label):
    """Reported: a message's page said `sent`. The list, its filters and the message say the label."""
    message = admin_client.get(f"/admin/outbox/{outbox_with_one_of_each[status]}").get_data(as_text=True)
    [shown] = re.findall(r"<dt>状态</dt><dd>(.*?)</dd>", message)
    assert shown.startswith(f"{label} · ") and status not in shown

    listed = admin_client.get(f"/admin/outbox/?status={status}").get_data(as_text=True)
    [badge] = re.findall(r'<span class="badge badge-\w+">(.*?)</span>', listed)
    assert badge == label
    assert f"{label} (1)" in listed  # the filter, with its count
    assert re.search(rf">\s*{status}\s*<", listed) is None  # no bare English value in any element


@pytest.mark.parametrize("role_client", ["student_client", "staff_client"])
def test_students_and_staff_may_not_see_the_outbox(request, role_client, outbox_with_one_of_each):
    client = request.getfixturevalue(role_client)
    assert client.get("/admin/outbox/").status_code == 403
    assert client.get(f"/admin/outbox/{outbox_with_one_of_each['sent']}").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, outbox_with_one_of_each):
    for url in ("/admin/outbox/", f"/admin/outbox/{outbox_with_one_of_each['sent']}"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/account/login" in response.headers["Location"]


class _RefusingInbox:
    """An SMTP server that refuses every recipient for good (550), as for an address that does not exist."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user"


def test_message_that_cannot_be_built_fails_at_once_and_does_not_block_the_others(ctx, smtp_server):
    broken_id = commit_reset_email(to="li@example.com\nBcc: everyone@example.com")  # header injection attempt
    good_id = commit_reset_email(to="wang@example.com")

    report = deliver_due()

    assert (report.sent, report.failed) == (1, 1)
    broken = outbox_row(broken_id)
    assert broken.status is OutboxStatus.FAILED and broken.attempts == 1
    assert "ValueError" in broken.last_error
    assert outbox_row(good_id).status is OutboxStatus.SENT
    assert [m["To"] for m in smtp_server.messages] == ["wang@example.com"]


def test_recipient_refused_for_good_is_not_retried(ctx, app, monkeypatch):
    port = free_port()
    controller = Controller(_RefusingInbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        message_id = commit_reset_email(to="nobody@example.com")

        report = deliver_due()
    finally:
        controller.stop()

    assert report.failed == 1
    message = outbox_row(message_id)
    assert message.status is OutboxStatus.FAILED and message.attempts == 1
    assert "550" in message.last_error


# --- messages composed when sent -------------------------------------------------------------

@composer({"test_greeting": "欢迎邮件"})
def _compose_greeting(template: str, context: dict) -> ComposedEmail:
    user = db.session.get(User, context["user_id"])
    if user is None:
        raise LookupError(f"user {context['user_id']} no longer exists")
    return ComposedEmail(f"您好，{user.name}", f"{user.name}，欢迎加入！", None,
                         [Attachment("welcome.ics", "text/calendar", INVITE_ICS).as_json()])


def commit_greeting(user_id: int, to: str = "zhang@example.com") -> int:
    begin_write()
    queue_templated(to, "test_greeting", user_id=user_id)
    db.session.commit()
    return db.session.scalar(select(func.max(OutboxMessage.id)))


def test_a_templated_message_is_composed_when_sent_and_kept_as_sent(app, ctx, smtp_server):
    user_id = make_user(app, "zhe@example.com", name="张喆")
    message_id = commit_greeting(user_id)
    queued = outbox_row(message_id)
    assert (queued.subject, queued.body_text, queued.template) == (None, None, "test_greeting")
    # Composed from the data as it is when sent, not when queued.
    db.session.get(User, user_id).name = "张堃"
    db.session.commit()

    assert deliver_due().sent == 1

    [email] = smtp_server.messages
    assert email["Subject"] == "您好，张堃"
    assert email.get_body(("plain",)).get_content().strip() == "张堃，欢迎加入！"
    assert [a.get_filename() for a in email.iter_attachments()] == ["welcome.ics"]
    sent = outbox_row(message_id)
    assert sent.status is OutboxStatus.SENT
    assert (sent.subject, sent.body_text, sent.attachments[0]["filename"]) == ("您好，张堃", "张堃，欢迎加入！",
                                                                               "welcome.ics")


def test_a_message_that_cannot_be_composed_fails_and_does_not_block_the_others(app, ctx, smtp_server):
    gone = commit_greeting(user_id=424242, to="gone@example.com")
    begin_write()
    queue_templated("nobody@example.com", "no_such_template")
    db.session.commit()
    good = commit_greeting(make_user(app, "wang@example.com", name="王五"), to="wang@example.com")

    report = deliver_due()

    assert (report.sent, report.failed) == (1, 2)
    assert [m["To"] for m in smtp_server.messages] == ["wang@example.com"]
    assert "no longer exists" in outbox_row(gone).last_error
    assert outbox_row(gone).body_text is None  # nothing was composed, nothing pretends it was
    assert outbox_row(good).status is OutboxStatus.SENT
    assert "no_such_template" in outbox_row(gone + 1).last_error


def test_admin_previews_a_message_not_composed_yet(app, admin_client):
    with app.app_context():
        message_id = commit_greeting(make_user(app, "zhe@example.com", name="张喆"))

    listing = admin_client.get("/admin/outbox/").get_data(as_text=True)
    assert "（发送时生成）欢迎邮件" in listing
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "按当前数据生成的预览" in page
    assert "张喆，欢迎加入！" in page and "welcome.ics" in page
