"""Every background job, in the order a round of `flask worker run` runs them.

A job is a function called with `stopping` (true once the worker was asked to stop: a job that
works through batches stops between two) that returns a JobResult. Any number of workers may run
a job at once, on several machines, and any may be killed at any point; so each step of a job is
its own short transaction, and claims what it works on in the database, where a second worker
sees the claim. Each job's docstring says how it claims; none relies on being the only worker.

The order is the one in which one job's work feeds the next: released holds and reminders queue
emails that the outbox sends in the same round.

Adding a job: a function here and a line in JOBS, under the same rule. A periodic job (a nightly
export, a clean-up) finds what is due in the database the same way, e.g. a "done at" column moved
by a conditional UPDATE, or a row per period under a unique key, written in the step's
transaction: the first worker to get there does it and the others find it done. Never by
remembering in the worker's memory when it last ran: another worker, or a restarted one, does not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.booking import reminders
from app.cms import count_buffer
from app.mail import sender
from app.payments import worker as payments_worker

Stopping = Callable[[], bool]

# Messages a call of the sender: between two, a worker asked to stop stops.
OUTBOX_BATCH = 20


@dataclass(frozen=True)
class JobResult:
    summary: str  # one line, in Chinese, for `flask worker run --once` and the log
    # It found work: the worker goes on to the next round at once instead of sleeping, for what
    # the work queued or what came meanwhile.
    worked: bool
    failed: bool = False  # it stopped on an error it reported itself (what it had not done waits)


@dataclass(frozen=True)
class Job:
    name: str  # in the log
    label: str  # what --once prints before the summary
    run: Callable[[Stopping], JobResult]


def release_holds(stopping: Stopping) -> JobResult:
    """Holds and waiting-list offers past their time. Once: a session's are read and released
    under its row lock (`FOR UPDATE`; on SQLite the write lock), so a second worker that waited
    for the lock finds none left (booking.release_lapsed_holds)."""
    released = payments_worker.release_lapsed_holds()
    return JobResult(_("释放 %(n)s 个逾期未支付的名额", n=released), worked=released > 0)


def send_refunds(stopping: Stopping) -> JobResult:
    """Refunds to the providers. Once: a refund is leased (`refund_requests.leased_until`, moved by
    a conditional UPDATE from the value the worker read) before the provider is asked outside any
    transaction (payments.worker)."""
    settled, failed = payments_worker.send_refunds()
    # Failed tries do not make the next round come sooner: a provider that is down is asked next round.
    return JobResult(_("完成 %(settled)s 笔退款，%(failed)s 笔本轮未成功", settled=settled, failed=failed),
                     worked=settled > 0)


def queue_reminders(stopping: Stopping) -> JobResult:
    """Reminders before a session. Once: a registration is marked `reminded_at` by a conditional
    UPDATE in the transaction that queues its email; PostgreSQL picks the rows `FOR UPDATE SKIP
    LOCKED` (booking.reminders)."""
    if reminders.reminder_window() is None:
        return JobResult(_("未开启（REMINDER_HOURS_BEFORE 为 0）"), worked=False)
    queued = 0
    while True:
        marked = reminders.send_due_reminders(limit=reminders.REMINDER_BATCH)
        queued += marked
        if marked < reminders.REMINDER_BATCH or stopping():
            break
    return JobResult(_("%(n)s 位学员的开课提醒已加入发送队列", n=queued), worked=queued > 0)


def deliver_outbox(stopping: Stopping) -> JobResult:
    """The outbox. Once: a message is leased (`next_attempt_at`) in a transaction of its own,
    picked `FOR UPDATE SKIP LOCKED`, before it is composed and sent (mail.sender)."""
    total = sender.DeliveryReport()
    while True:
        report = sender.deliver_due(limit=OUTBOX_BATCH)
        total.sent, total.retried, total.failed = (total.sent + report.sent, total.retried + report.retried,
                                                   total.failed + report.failed)
        if report.attempted < OUTBOX_BATCH or stopping():
            break
    return JobResult(_("已发送 %(sent)s 封，待重试 %(retried)s 封，失败 %(failed)s 封",
                       sent=total.sent, retried=total.retried, failed=total.failed), worked=total.attempted > 0)


def flush_counts(stopping: Stopping) -> JobResult:
    """Buffered article views and card clicks, only with REDIS_URL: without it they wait in each
    web process's memory, which that process flushes itself (CMS_COUNT_FLUSH_SECONDS), and the
    worker has none of them. Once: a batch is moved atomically (a Lua script) to one flusher's
    claim list; one a dead flusher claimed is put back later, and written twice it counts once
    (cms.count_buffer, count_writer)."""
    if not current_app.config.get("REDIS_URL"):
        return JobResult(_("未设置 REDIS_URL：由各网站进程自己写入"), worked=False)
    report = count_buffer.flush_counts()
    summary = _("已写入 %(events)s 条记录：阅读 +%(views)s，卡片点击 +%(clicks)s", events=report.events,
                views=report.views, clicks=report.clicks)
    if report.failed:
        summary += _("；写入中断，未写入的记录留待下次写入")
    # Never `worked`: readers keep reading, and waiting for a batch is what saves the writes.
    return JobResult(summary, worked=False, failed=report.failed)


JOBS: tuple[Job, ...] = (
    Job("holds", _l("名额释放"), release_holds),
    Job("refunds", _l("退款"), send_refunds),
    Job("reminders", _l("开课提醒"), queue_reminders),
    Job("outbox", _l("邮件发送"), deliver_outbox),
    Job("counts", _l("阅读计数"), flush_counts),
)
