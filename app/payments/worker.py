"""The payments worker: what happens after the commit, away from any request.

- Holds and offers past their time are released (booking.release_lapsed_holds), so their notices
  go out and the next person waiting is offered the seat even when nobody books the session.
- Refunds decided in a transaction are sent to the provider they came by; the provider's
  acceptance settles them (a Refund row, the student's email); a provider that refuses or is down
  is tried again next round, REFUND_MAX_ATTEMPTS times, then left to staff.

`flask worker run` runs both among every background job (app/worker/), on any number of machines:
- a session's lapsed holds are released under its row lock (PostgreSQL; SQLite's write lock),
  read again under it, so a second worker finds nothing left to release;
- a refund is leased before the provider is asked, outside any transaction (the call takes
  seconds, and SQLite's writer or the session's lock must not wait for it): a conditional UPDATE
  moves `leased_until` from the value the worker read to the lease's end, so of two workers that
  read the same refund only one takes it, and a worker killed mid-call leaves it to the next one
  after REFUND_LEASE. When the provider has answered, `leased_until` becomes that moment: a worker
  that read the refund before then no longer finds the value it read, and leaves it for its next
  round. (Asking twice would be harmless anyway: the provider knows the refund by our out_refund_no;
  but each failed ask counts towards REFUND_MAX_ATTEMPTS.)
`flask payments work` runs these two alone (one round, or with --loop rounds).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, update

from app.booking import service as booking
from app.common.db import write_transaction
from app.common.money import fen
from app.common.time import utcnow
from app.extensions import db
from app.payments import checkout, queries, refunds
from app.payments.errors import PaymentMethodUnavailable
from app.payments.models import Payment, PaymentProvider, RefundRequest, RefundStatus
from app.payments.providers import ProviderError

log = logging.getLogger(__name__)

# Longer than any provider call (WECHATPAY_TIMEOUT_SECONDS, ALIPAY_TIMEOUT) and its recording.
REFUND_LEASE = timedelta(minutes=5)


@dataclass
class RoundReport:
    released: int = 0  # holds and offers that ran out
    refunded: int = 0  # refunds the provider says are done
    failed: int = 0  # refund tries that failed this round

    @property
    def did_something(self) -> bool:
        return bool(self.released or self.refunded or self.failed)


def release_lapsed_holds() -> int:
    released = 0
    for session_id in booking.sessions_with_lapsed_holds():
        try:
            released += len(booking.release_lapsed_holds(session_id))
        except Exception:  # one session's fault must not keep the others' holds
            log.exception("releasing the lapsed holds of session %s failed", session_id)
        db.session.remove()
    return released


def send_refunds(limit: int = 50) -> tuple[int, int]:
    """Send pending provider refunds: (settled, failed). Sending one again is safe: the provider
    knows it by our out_refund_no and answers with the same refund, so a refund still PROCESSING
    is simply asked about again next round, and settled (its Refund row, the email) only when the
    provider says SUCCESS. A refund the provider ends otherwise (ABNORMAL, CLOSED) goes to staff."""
    settled = failed = 0
    # As read now: each lease's commit expires what the session loaded, and a value read again
    # later could be another worker's answer of a moment ago.
    listed = [(request.id, request.leased_until) for request in queries.pending_refunds(limit)
              if request.payment.provider is not PaymentProvider.BANK]  # staff pay those back
    for request_id, read in listed:
        if not _lease_refund(request_id, read, utcnow()):
            continue  # another worker is sending it or has just asked, or it was settled meanwhile
        request = db.session.get(RefundRequest, request_id)
        out_refund_no, attempts = request.out_refund_no, request.attempts
        try:
            result = _send(request)
        except (ProviderError, PaymentMethodUnavailable) as error:
            give_up = attempts + 1 >= current_app.config["REFUND_MAX_ATTEMPTS"]
            log.warning("refund %s failed (try %s): %s", out_refund_no, attempts + 1, error)
            refunds.refund_failed(request_id, str(error) or type(error).__name__, give_up)
            failed += 1
        except Exception:  # one refund's fault must not stop the others, nor the worker
            log.exception("refund %s: unexpected error", out_refund_no)
            db.session.rollback()
            failed += 1
        else:
            if result.status == "SUCCESS":
                refunds.settle_refund(request_id, result.refund_id)
                settled += 1
            elif result.status != "PROCESSING":
                log.warning("refund %s ended %s at the provider", out_refund_no, result.status)
                refunds.refund_failed(request_id, f"provider: {result.status}", give_up=True)
                failed += 1
        _end_lease(request_id)  # PROCESSING, or failed: asked again next round (if not given up)
    db.session.remove()
    return settled, failed


@write_transaction
def _lease_refund(request_id: int, read: datetime | None, now: datetime) -> bool:
    """Take the refund for REFUND_LEASE if it is still pending, nobody holds it, and `leased_until`
    is still what this worker read (`read`): whether it did."""
    column = RefundRequest.leased_until
    leased = db.session.execute(
        update(RefundRequest)
        .where(RefundRequest.id == request_id, RefundRequest.status == RefundStatus.PENDING,
               column.is_(None) if read is None else (column == read) & (column <= now))
        .values(leased_until=now + REFUND_LEASE)
        .execution_options(synchronize_session=False))
    return leased.rowcount == 1


@write_transaction
def _end_lease(request_id: int) -> None:
    """The provider has answered (or the ask failed): free now, marked with this moment."""
    db.session.execute(update(RefundRequest).where(RefundRequest.id == request_id).values(leased_until=utcnow())
                       .execution_options(synchronize_session=False))


def _send(request: RefundRequest):
    payment = request.payment
    out_trade_no = payment.order.out_trade_no
    if payment.provider is PaymentProvider.WECHAT:
        return checkout.wechat_provider().refund(out_trade_no, request.out_refund_no, fen(request.amount),
                                                 fen(_transaction_total(payment)), request.reason[:80])
    return checkout.alipay_provider().refund(out_trade_no, request.out_refund_no, fen(request.amount),
                                             request.reason[:80])


def _transaction_total(payment: Payment) -> Decimal:
    """What the payer paid in the provider's transaction, which WeChat checks a refund against: a
    group's payment is one row per attendee (service._record_group_payment), so it is the sum of the
    transaction's rows, not the one row this refund comes from."""
    return db.session.scalar(select(func.sum(Payment.amount)).where(
        Payment.provider == payment.provider, Payment.transaction_id == payment.transaction_id))


def work_once() -> RoundReport:
    report = RoundReport(released=release_lapsed_holds())
    report.refunded, report.failed = send_refunds()
    return report


def run(interval_seconds: float, stop_after: int | None = None) -> None:
    rounds = 0
    while stop_after is None or rounds < stop_after:
        rounds += 1
        try:
            report = work_once()
        except Exception:  # the database away, a bug: logged, and the next round tries again
            log.exception("payments worker round failed")
            db.session.remove()
            time.sleep(interval_seconds)
            continue
        if report.did_something:
            log.info("payments %s: %s released, %s refunded, %s refund tries failed", utcnow().isoformat(),
                     report.released, report.refunded, report.failed)
        time.sleep(interval_seconds)
