"""The worker: every background job (jobs.py), in rounds, until asked to stop.

A round runs each job once. A job that raises is logged and the round goes on with the next: one
job's fault (a provider down, a bug) must not hold up the others' emails, releases and reminders.
After each job the database session is removed, so whatever a job left open is rolled back and
its connection goes back to the pool before the next job starts.

Stopping (SIGTERM, SIGINT: cli.py) is asked for with a StopFlag: the worker finishes the job it
is in (a job working through batches stops between two), then returns. A worker killed outright
leaves nothing half done either, since each step of a job is its own transaction; a message or a
refund it was sending comes back to the others when its lease ends (jobs.py says how, per job).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from app.extensions import db
from app.worker.jobs import JOBS, Job, JobResult

log = logging.getLogger(__name__)

# Longest a stop request waits while the worker sleeps between rounds.
_WAKE_SECONDS = 0.2


class StopFlag:
    """Set from a signal handler or another thread; read between jobs. A plain flag, not a
    threading.Event: an Event set from a signal handler can deadlock on its own lock when the
    signal lands while the main thread is inside Event.wait's bookkeeping."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the flag is set meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._set and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, _WAKE_SECONDS))


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    result: JobResult | None = None
    error: str | None = None  # what it raised ("Type: message"); the traceback is in the log

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.result is not None and self.result.failed)

    @property
    def worked(self) -> bool:
        return self.result is not None and self.result.worked

    @property
    def summary(self) -> str:
        if self.result is None:
            return _("出错：%(error)s（详见日志）", error=self.error)
        return self.result.summary


def run_round(jobs: Sequence[Job] = JOBS, stop: StopFlag | None = None) -> list[JobOutcome]:
    """Run each job once, in order (all of them unless `stop` is set meanwhile): what each did."""
    stop = stop or StopFlag()
    outcomes = []
    for job in jobs:
        if stop.is_set():
            break
        try:
            outcomes.append(JobOutcome(job, result=job.run(stop.is_set)))
        except Exception as error:  # noqa: BLE001 - logged; the other jobs still run
            log.exception("worker job %s failed", job.name)
            outcomes.append(JobOutcome(job, error=f"{type(error).__name__}: {error}"[:300]))
        finally:
            db.session.remove()
    return outcomes


def run(interval_seconds: float, stop: StopFlag, jobs: Sequence[Job] = JOBS) -> None:
    """Run rounds until `stop` is set, sleeping `interval_seconds` after a round that found no work
    (a round that found some is followed at once by the next, for what it queued or left)."""
    log.info("worker started: %s; %ss between rounds that find nothing",
             ", ".join(job.name for job in jobs), interval_seconds)
    while not stop.is_set():
        outcomes = run_round(jobs, stop)
        for outcome in outcomes:
            if outcome.worked or (outcome.failed and outcome.error is None):
                log.info("%s: %s", outcome.job.name, outcome.summary)
        if not any(outcome.worked for outcome in outcomes):
            stop.sleep(interval_seconds)
    log.info("worker stopped")
