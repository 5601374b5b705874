"""`flask --app wsgi worker run`: the one command that runs every background job (jobs.py)."""
from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.worker import service

log = logging.getLogger(__name__)

worker_cli = AppGroup("worker", help="后台任务：名额释放、退款、开课提醒、邮件发送、阅读计数")


@worker_cli.command("run")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds to wait after a round that found nothing to do.")
@click.option("--once", is_flag=True, help="Run one round of every job, print what each did, and exit.")
def run_command(interval: float, once: bool) -> None:
    """Run every background job in rounds until SIGTERM or SIGINT (Ctrl+C), which end it after
    the job under way; a second signal ends it at once (each step is its own transaction, so
    nothing is left half done). Several may run at once, on several machines: each job's work is
    done once. With --once, exits with status 1 if a job failed."""
    stop = service.StopFlag()
    with _stop_on_signals(stop):
        if not once:
            service.run(interval, stop)
            click.echo(_("后台任务已停止"))
            return
        outcomes = service.run_round(stop=stop)
    for outcome in outcomes:
        click.echo(f"{outcome.job.label}：{outcome.summary}")
    if any(outcome.failed for outcome in outcomes):
        raise SystemExit(1)


@contextmanager
def _stop_on_signals(stop: service.StopFlag) -> Iterator[None]:
    """SIGTERM (systemd, docker stop, the cluster script) and SIGINT set `stop`; a second one exits now."""

    def request_stop(signum: int, _frame) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)
        log.info("worker: %s received, stopping after the current job", signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
