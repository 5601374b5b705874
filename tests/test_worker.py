"""The worker (`flask worker run`): one command runs every background job, as an operator runs it;
two workers racing over the same work send each email once and expire each hold once; a job that
raises does not stop the others; a worker killed mid-job leaves nothing half done and the next run
finishes the work; SIGTERM ends it after the job under way."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.actions import AuditAction
from app.audit.models import AuditEntry
from app.booking import reminders
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.cms import service as cms
from app.cms.models import Article
from app.common.db import begin_write
from app.common.time import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.service import queue_email
from app.payments import worker as payments_worker
from app.payments.models import RefundRequest, RefundStatus
from app.worker import jobs, service
from app.worker.jobs import Job, JobResult
from tests.factories import book, make_editor, make_person, make_students, new_session, pay, staff_refund, write_article
from tests.helpers import run_together, stored_registration

PROJECT_DIR = Path(__file__).resolve().parent.parent


def hours_from_now(hours: float):
    return utcnow().replace(microsecond=0) + timedelta(hours=hours)


def free_session(app, starts_in_hours: float, capacity: int = 10, **fields) -> int:
    return new_session(app, capacity=capacity, starts_at=hours_from_now(starts_in_hours), **fields)


def paid_session_with_a_lapsed_hold(app, students: list[int]) -> tuple[int, int, int]:
    """A paid session of one seat, held for students[0] until an hour ago, with students[1] waiting
    since before it ran out: (session, the hold, the waiting one)."""
    session_id = new_session(app, capacity=1, price="3980.00")
    booked_at = utcnow() - timedelta(hours=2)
    hold = book(app, students[0], session_id, at=booked_at)
    waiting = book(app, students[1], session_id, at=booked_at + timedelta(minutes=1))
    return session_id, hold, waiting


def queue_plain_emails(app, addresses: list[str]) -> None:
    with app.app_context():
        begin_write()
        for address in addresses:
            queue_email(address, "重置您的密码", "password_reset", user=SimpleNamespace(display_name="张喆"),
                        link="https://example.com/reset", valid_minutes=60)
        db.session.commit()
        db.session.remove()


def reminder_rows(app) -> list[int]:
    """The registration of each reminder in the outbox, one entry per message."""
    with app.app_context():
        contexts = db.session.scalars(
            select(OutboxMessage.context).where(OutboxMessage.template == "booking_reminder")).all()
        db.session.remove()
    return sorted(context["registration_id"] for context in contexts)


def audit_count(app, action: AuditAction, registration_id: int | None = None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action.value)
        if registration_id is not None:
            query = query.where(AuditEntry.registration_id == registration_id)
        count = db.session.scalar(query)
        db.session.remove()
    return count


def outbox_templates(app) -> Counter:
    with app.app_context():
        templates = Counter(db.session.scalars(select(OutboxMessage.template)).all())
        db.session.remove()
    return templates


def queue_due_reminders(app) -> int:
    with app.app_context():
        queued = reminders.send_due_reminders()
        db.session.remove()
    return queued


def run_until_idle(rounds: int = 10) -> list[list[service.JobOutcome]]:
    """What a worker does: rounds until one finds nothing (in the caller's app context)."""
    done = []
    for _ in range(rounds):
        outcomes = service.run_round()
        done.append(outcomes)
        failed = [(o.job.name, o.summary) for o in outcomes if o.failed]
        assert not failed, failed
        if not any(o.worked for o in outcomes):
            return done
    raise AssertionError(f"still finding work after {rounds} rounds")


# --- one command for every job ------------------------------------------------------------------

def test_worker_run_once_does_every_job_and_says_what_each_did(app, smtp_server, redis_counts):
    racers = make_students(app, 3)
    _session_id, hold, waiting = paid_session_with_a_lapsed_hold(app, racers[:2])
    tomorrow = free_session(app, starts_in_hours=10)
    seated = book(app, racers[2], tomorrow)
    make_editor(app)
    with app.app_context():
        article_id = write_article("爆款文章")
        cms.record_view(article_id, cms.visitor_key(7, None))
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["worker", "run", "--once"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "名额释放：释放 1 个逾期未支付的名额",
        "退款：完成 0 笔退款，0 笔本轮未成功",
        "开课提醒：1 位学员的开课提醒已加入发送队列",
        # held, waitlisted, confirmed when booked; expired and offered now; the reminder
        "邮件发送：已发送 6 封，待重试 0 封，失败 0 封",
        "阅读计数：已写入 1 条记录：阅读 +1，卡片点击 +0",
    ]
    assert stored_registration(app, hold).status is RegistrationStatus.EXPIRED
    assert stored_registration(app, waiting).status is RegistrationStatus.OFFERED
    assert stored_registration(app, seated).reminded_at is not None
    subjects = [email["Subject"] for email in smtp_server.messages]
    assert any(subject.startswith("未在期限内支付") for subject in subjects)
    assert any(subject.startswith("候补到名额了") for subject in subjects)
    assert any(subject.startswith("开课提醒") for subject in subjects)
    with app.app_context():
        assert db.session.get(Article, article_id).view_count == 1

    again = app.test_cli_runner().invoke(args=["worker", "run", "--once"])
    assert again.exit_code == 0, again.output
    assert "名额释放：释放 0 个逾期未支付的名额" in again.output
    assert "开课提醒：0 位学员的开课提醒已加入发送队列" in again.output
    assert "邮件发送：已发送 0 封，待重试 0 封，失败 0 封" in again.output
    assert len(smtp_server.messages) == 6


def test_without_redis_the_worker_leaves_counts_to_the_web_processes(app, smtp_server):
    result = app.test_cli_runner().invoke(args=["worker", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "阅读计数：未设置 REDIS_URL：由各网站进程自己写入" in result.output


def test_a_job_that_raises_does_not_stop_the_others(app, smtp_server, monkeypatch):
    [student] = make_students(app, 1)
    seated = book(app, student, free_session(app, starts_in_hours=10))

    def database_gone() -> int:
        raise RuntimeError("连接数据库失败")

    monkeypatch.setattr(payments_worker, "release_lapsed_holds", database_gone)
    result = app.test_cli_runner().invoke(args=["worker", "run", "--once"])

    assert result.exit_code == 1  # an operator's script sees that a job failed
    lines = result.output.splitlines()
    assert lines[0] == "名额释放：出错：RuntimeError: 连接数据库失败（详见日志）"
    assert "开课提醒：1 位学员的开课提醒已加入发送队列" in lines
    assert "邮件发送：已发送 2 封，待重试 0 封，失败 0 封" in lines  # the booking's email and the reminder
    assert stored_registration(app, seated).reminded_at is not None
    assert len(smtp_server.messages) == 2


def test_the_worker_keeps_running_rounds_past_a_failing_job_until_asked_to_stop(app):
    stop = service.StopFlag()
    calls = Counter()

    def failing(stopping) -> JobResult:
        calls["failing"] += 1
        raise RuntimeError("坏了")

    def steady(stopping) -> JobResult:
        calls["steady"] += 1
        if calls["steady"] == 3:
            stop.set()  # as SIGTERM does, in the middle of the third round
        return JobResult("好", worked=False)

    def never_reached(stopping) -> JobResult:
        calls["after stop"] += 1
        return JobResult("", worked=False)

    with app.app_context():
        service.run(0.01, stop, jobs=[Job("failing", "坏", failing), Job("steady", "稳", steady),
                                      Job("last", "末", never_reached)])

    assert calls == {"failing": 3, "steady": 3, "after stop": 2}  # the round in progress ends after the job


# --- reminders ------------------------------------------------------------------------------

def test_a_reminder_says_the_time_in_shanghai_the_venue_and_the_ticket_with_a_link_on_site_url(
        app, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://xue.example.com/academy")
    person = make_person(app, "张<b>喆", "13900000001", email="zhe@example.com")
    session_id = free_session(app, starts_in_hours=20, city="上海", venue="静安嘉里中心 2 号楼",
                              address="南京西路 1515 号")
    registration_id = book(app, person, session_id)
    with app.app_context():
        camp_starts = db.session.get(Registration, registration_id).session.starts_at
        code = db.session.get(Registration, registration_id).ticket_code
        db.session.remove()

    assert queue_due_reminders(app) == 1
    # Sent as the worker sends it, whatever host a request in flight names.
    with app.test_request_context(base_url="http://evil.example"):
        jobs.deliver_outbox(lambda: False)

    [email] = [e for e in smtp_server.messages if e["Subject"].startswith("开课提醒")]
    assert email["To"] == "zhe@example.com"
    assert email["Subject"] == "开课提醒：快速玩转小红书成长特训营"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    shanghai = camp_starts.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    utc = camp_starts.strftime("%Y-%m-%d %H:%M")
    grouped = "-".join(code[i:i + 4] for i in range(0, 12, 4))
    link = f"https://xue.example.com/academy/me/registrations/{registration_id}"
    for body in (text, html):
        assert shanghai in body and utc not in body
        assert "上海" in body and "静安嘉里中心 2 号楼" in body and "南京西路 1515 号" in body
        assert grouped in body
        assert link in body
        assert "evil.example" not in body
    assert "您报名的课程将于" in text and "张<b>喆，您好" in text
    assert f'href="{link}"' in html
    assert "张&lt;b&gt;喆，您好" in html and "张<b>喆" not in html  # the name is text, not markup
    assert sorted(a.get_filename() for a in email.iter_attachments()) == ["camp.ics", "ticket-qr.png"]


def test_reminders_go_once_to_confirmed_seats_of_sessions_starting_within_the_window(app, monkeypatch):
    a, b, c, d, e, f, g, h, i, j = make_students(app, 10)
    tomorrow = free_session(app, starts_in_hours=10, capacity=2)
    seated_a, cancelled_b = book(app, a, tomorrow), book(app, b, tomorrow)
    promoted_c, waiting_d = book(app, c, tomorrow), book(app, d, tomorrow)  # waiting, then c gets b's seat
    with app.app_context():
        booking.cancel_registration(cancelled_b, db.session.get(User, b))
        db.session.remove()
    paid = new_session(app, capacity=5, price="980.00", starts_at=hours_from_now(10))
    holding_e = book(app, e, paid, at=utcnow())  # pending payment: not a seat yet
    expired_f = book(app, f, paid, at=utcnow() - timedelta(hours=1))
    with app.app_context():
        booking.release_lapsed_holds(paid)
        db.session.remove()
    paid_g = book(app, g, paid, at=utcnow())
    pay(app, paid_g, "wx-g")
    started = free_session(app, starts_in_hours=-1)  # started an hour ago: too late to remind
    too_late_h = book(app, h, started)
    later = free_session(app, starts_in_hours=30)
    later_i = book(app, i, later)
    statuses = {r: stored_registration(app, r).status for r in (cancelled_b, waiting_d, holding_e, expired_f)}
    assert statuses == {cancelled_b: RegistrationStatus.CANCELLED, waiting_d: RegistrationStatus.WAITLISTED,
                        holding_e: RegistrationStatus.PENDING_PAYMENT, expired_f: RegistrationStatus.EXPIRED}

    assert queue_due_reminders(app) == 3
    assert reminder_rows(app) == sorted([seated_a, promoted_c, paid_g])
    assert queue_due_reminders(app) == 0  # run again (another worker, a restart): nothing twice
    assert stored_registration(app, too_late_h).reminded_at is None

    # Confirmed after the window opened: promoted from the waiting list, booked three hours before.
    with app.app_context():
        booking.cancel_registration(seated_a, db.session.get(User, a))
        db.session.remove()
    soon = free_session(app, starts_in_hours=3)
    late_j = book(app, j, soon, at=utcnow())
    assert stored_registration(app, waiting_d).status is RegistrationStatus.CONFIRMED
    assert queue_due_reminders(app) == 2
    assert reminder_rows(app) == sorted([seated_a, promoted_c, paid_g, waiting_d, late_j])

    # The window is a setting: 48 hours reaches the session in 30; 0 turns reminders off.
    monkeypatch.setitem(app.config, "REMINDER_HOURS_BEFORE", 0)
    assert queue_due_reminders(app) == 0
    monkeypatch.setitem(app.config, "REMINDER_HOURS_BEFORE", 48)
    assert queue_due_reminders(app) == 1
    assert stored_registration(app, later_i).reminded_at is not None
    assert Counter(reminder_rows(app)).most_common(1)[0][1] == 1


def test_a_registration_moved_to_another_session_is_reminded_of_the_new_one(app, staff):
    [student] = make_students(app, 1)
    tomorrow = free_session(app, starts_in_hours=10)
    with app.app_context():
        from app.catalog.models import CampSession

        course_id = db.session.get(CampSession, tomorrow).course_id
        db.session.remove()
    next_week = new_session(app, course_id, starts_at=hours_from_now(24 * 7))
    registration_id = book(app, student, tomorrow)
    assert queue_due_reminders(app) == 1

    with app.app_context():
        booking.move_registration(registration_id, next_week, db.session.get(User, staff))
        db.session.remove()

    assert stored_registration(app, registration_id).reminded_at is None
    assert queue_due_reminders(app) == 0  # not due yet
    with app.app_context():
        assert reminders.send_due_reminders(now=utcnow() + timedelta(days=6, hours=12)) == 1
        db.session.remove()
    assert reminder_rows(app) == [registration_id, registration_id]


def test_a_reminder_of_a_registration_cancelled_before_it_went_out_is_not_sent(app, smtp_server):
    [student] = make_students(app, 1)
    registration_id = book(app, student, free_session(app, starts_in_hours=10))
    assert queue_due_reminders(app) == 1
    with app.app_context():
        booking.cancel_registration(registration_id, db.session.get(User, student))
        jobs.deliver_outbox(lambda: False)
        reminder = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "booking_reminder"))
        assert reminder.status is OutboxStatus.FAILED and "cancelled" in reminder.last_error
        db.session.remove()
    assert not any(email["Subject"].startswith("开课提醒") for email in smtp_server.messages)
    assert any(email["Subject"].startswith("报名已取消") for email in smtp_server.messages)


# --- a worker killed mid-job --------------------------------------------------------------------

def test_reminders_of_a_worker_killed_mid_batch_are_neither_marked_nor_queued_and_the_next_run_sends_them(
        app, monkeypatch):
    students = make_students(app, 3)
    session_id = free_session(app, starts_in_hours=10)
    registrations = [book(app, student, session_id) for student in students]
    real_queue = reminders.queue_registration_email
    queued = []

    def dies_after_the_first(template, registration_id, to_address, **kwargs):
        if queued:
            raise KeyboardInterrupt  # the process is stopped between two statements of the batch
        queued.append(registration_id)
        real_queue(template, registration_id, to_address, **kwargs)

    monkeypatch.setattr(reminders, "queue_registration_email", dies_after_the_first)
    with pytest.raises(KeyboardInterrupt), app.app_context():
        reminders.send_due_reminders()
    assert queued  # it got as far as marking them all and queueing one

    assert [stored_registration(app, r).reminded_at for r in registrations] == [None, None, None]
    assert reminder_rows(app) == []
    monkeypatch.setattr(reminders, "queue_registration_email", real_queue)
    assert queue_due_reminders(app) == 3  # the restarted worker carries on
    assert reminder_rows(app) == sorted(registrations)


def test_a_hold_release_interrupted_after_its_expiry_leaves_the_hold_and_the_next_run_releases_it_once(
        app, monkeypatch):
    session_id, hold, waiting = paid_session_with_a_lapsed_hold(app, make_students(app, 2))
    emails_before = outbox_templates(app)

    def dies_before_the_offer(*args, **kwargs):
        raise KeyboardInterrupt  # the hold is already marked expired, audited and emailed in the transaction

    monkeypatch.setattr(booking, "_promote_waiting", dies_before_the_offer)
    with pytest.raises(KeyboardInterrupt), app.app_context():
        payments_worker.release_lapsed_holds()
    assert stored_registration(app, hold).status is RegistrationStatus.PENDING_PAYMENT
    assert stored_registration(app, waiting).status is RegistrationStatus.WAITLISTED
    assert audit_count(app, AuditAction.REGISTRATION_EXPIRE) == 0
    assert outbox_templates(app) == emails_before

    monkeypatch.undo()
    with app.app_context():
        assert jobs.release_holds(lambda: False).summary == "释放 1 个逾期未支付的名额"
        assert jobs.release_holds(lambda: False).summary == "释放 0 个逾期未支付的名额"
        db.session.remove()
    assert stored_registration(app, hold).status is RegistrationStatus.EXPIRED
    assert stored_registration(app, waiting).status is RegistrationStatus.OFFERED
    assert audit_count(app, AuditAction.REGISTRATION_EXPIRE, hold) == 1
    assert audit_count(app, AuditAction.REGISTRATION_OFFER, waiting) == 1
    templates = outbox_templates(app) - emails_before
    assert templates == Counter({"booking_expired": 1, "booking_offered": 1})


def test_a_refund_whose_worker_died_mid_call_waits_for_its_lease_then_is_sent_again(app, staff, monkeypatch):
    [student] = make_students(app, 1)
    registration_id = book(app, student, new_session(app, price="980.00"), at=utcnow())
    pay(app, registration_id, "wx-1")
    [request_id] = staff_refund(app, registration_id, "980.00", "学员退课", staff)
    asked = []

    def provider_call_dies(request):
        asked.append(request.out_refund_no)
        raise KeyboardInterrupt  # killed while the provider was being asked

    monkeypatch.setattr(payments_worker, "_send", provider_call_dies)
    with pytest.raises(KeyboardInterrupt), app.app_context():
        payments_worker.send_refunds()
    monkeypatch.undo()
    with app.app_context():
        request = db.session.get(RefundRequest, request_id)
        assert request.status is RefundStatus.PENDING and request.attempts == 0
        assert request.leased_until > utcnow() + timedelta(minutes=4)
        assert payments_worker.send_refunds() == (0, 0)  # the lease holds: nobody asks meanwhile
        assert db.session.get(RefundRequest, request_id).attempts == 0

        request = db.session.get(RefundRequest, request_id)
        request.leased_until = utcnow() - timedelta(seconds=1)  # the lease has run out
        db.session.commit()
        # Asked again (no provider is configured here: the try fails and counts, as a refusal would).
        assert payments_worker.send_refunds() == (0, 1)
        request = db.session.get(RefundRequest, request_id)
        assert request.attempts == 1 and request.leased_until <= utcnow()
        db.session.remove()
    assert len(asked) == 1


# --- two workers at once ----------------------------------------------------------------------

def test_two_workers_racing_over_the_same_outbox_send_each_message_once(app, smtp_server):
    addresses = [f"student{n}@example.com" for n in range(30)]
    queue_plain_emails(app, addresses)

    run_together(app, [lambda: jobs.deliver_outbox(lambda: False)] * 2)

    assert sorted(email["To"] for email in smtp_server.messages) == sorted(addresses)
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 1)}
        db.session.remove()


def test_two_workers_racing_over_every_job_send_each_email_once_and_expire_each_hold_once(
        app, smtp_server, monkeypatch):
    monkeypatch.setattr(jobs, "OUTBOX_BATCH", 4)  # small batches: the two interleave
    monkeypatch.setattr(reminders, "REMINDER_BATCH", 3)
    students = make_students(app, 22)
    holds = [paid_session_with_a_lapsed_hold(app, students[n:n + 2]) for n in (0, 2, 4)]
    seated = []
    for first in (6, 14):
        session_id = free_session(app, starts_in_hours=10)
        seated += [book(app, student, session_id) for student in students[first:first + 8]]

    run_together(app, [run_until_idle, run_until_idle])

    for _session_id, hold, waiting in holds:
        assert stored_registration(app, hold).status is RegistrationStatus.EXPIRED
        assert stored_registration(app, waiting).status is RegistrationStatus.OFFERED
        assert audit_count(app, AuditAction.REGISTRATION_EXPIRE, hold) == 1
        assert audit_count(app, AuditAction.REGISTRATION_OFFER, waiting) == 1
    assert reminder_rows(app) == sorted(seated)
    templates = outbox_templates(app)
    assert templates["booking_expired"] == 3 and templates["booking_offered"] == 3
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 1)}
        db.session.remove()
    # 6 bookings of the paid sessions, 16 of the free ones, 3 expiries, 3 offers, 16 reminders.
    assert len(rows) == 44
    sent = Counter((email["To"], email["Subject"]) for email in smtp_server.messages)
    assert len(smtp_server.messages) == 44 and set(sent.values()) == {1}


def test_two_workers_racing_over_the_same_refunds_ask_the_provider_once_for_each(app, staff, providers,
                                                                                 monkeypatch):
    students = make_students(app, 6)
    session_id = new_session(app, capacity=6, price="980.00")
    request_ids = []
    for n, student in enumerate(students):
        registration_id = book(app, student, session_id, at=utcnow())
        pay(app, registration_id, f"wx-{n}")
        request_ids += staff_refund(app, registration_id, "980.00", "学员退课", staff)
    real_send, asked = payments_worker._send, Counter()

    def counted_send(request):
        asked[request.out_refund_no] += 1
        return real_send(request)  # the WeChat Pay stand-in, over HTTP

    monkeypatch.setattr(payments_worker, "_send", counted_send)

    run_together(app, [payments_worker.send_refunds] * 2)

    assert len(asked) == 6 and set(asked.values()) == {1}
    with app.app_context():
        # The stand-in never saw these orders paid, so it refuses each: one try counted per refund.
        refunds = db.session.scalars(select(RefundRequest)).all()
        assert [request.attempts for request in refunds] == [1] * 6
        assert all(request.leased_until <= utcnow() for request in refunds)  # free for the next round
        db.session.remove()


# --- stopping ---------------------------------------------------------------------------------

def test_sigterm_stops_a_running_worker_cleanly(app, smtp_server):
    queue_plain_emails(app, ["first@example.com"])
    env = {**os.environ, "APP_CONFIG": "testing", "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "MAIL_PORT": str(smtp_server.controller.port)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "run", "--interval", "0.2"],
                              cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages:  # it is running rounds
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate(timeout=30)
            time.sleep(0.05)
        queue_plain_emails(app, ["second@example.com"])
        while len(smtp_server.messages) < 2:  # a round after a sleep finds new work
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate(timeout=30)
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    assert worker.returncode == 0, stderr.decode(errors="replace")
    assert "后台任务已停止" in stdout.decode()
    assert "SIGTERM received, stopping after the current job" in stderr.decode()
