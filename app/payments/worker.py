"""The payments worker: what happens after the commit, away from any request.

- Holds and offers past their time are released (booking.release_lapsed_holds), so their notices
  go out and the next person waiting is offered the seat even when nobody books the session.
- Refunds decided in a transaction are sent to the provider they came by; the provider's
  acceptance settles them (a Refund row, the student's email); a provider that refuses or is down
  is tried again next round, REFUND_MAX_ATTEMPTS times, then left to staff.

`flask payments work --loop` runs it (scripts/dev.sh does; production runs it beside the outbox).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import current_app

from app.booking import service as booking
from app.common.money import fen
from app.common.time import utcnow
from app.extensions import db
from app.payments import checkout, queries, refunds
from app.payments.errors import PaymentMethodUnavailable
from app.payments.models import PaymentProvider, RefundRequest
from app.payments.providers import ProviderError

log = logging.getLogger(__name__)


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
    requests = [request for request in queries.pending_refunds(limit)
                if request.payment.provider is not PaymentProvider.BANK]  # staff pay those back
    for request in requests:
        request_id, out_refund_no, attempts = request.id, request.out_refund_no, request.attempts
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
    db.session.remove()
    return settled, failed


def _send(request: RefundRequest):
    payment = request.payment
    out_trade_no = payment.order.out_trade_no
    if payment.provider is PaymentProvider.WECHAT:
        return checkout.wechat_provider().refund(out_trade_no, request.out_refund_no, fen(request.amount),
                                                 fen(payment.amount), request.reason[:80])
    return checkout.alipay_provider().refund(out_trade_no, request.out_refund_no, fen(request.amount),
                                             request.reason[:80])


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
