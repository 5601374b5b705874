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
    refunded: int = 0  # refunds the provider accepted
    failed: int = 0  # refund tries that failed this round

    @property
    def did_something(self) -> bool:
        return bool(self.released or self.refunded or self.failed)


def release_lapsed_holds() -> int:
    released = 0
    for session_id in booking.sessions_with_lapsed_holds():
        released += len(booking.release_lapsed_holds(session_id))
        db.session.remove()
    return released


def send_refunds(limit: int = 50) -> tuple[int, int]:
    """Send pending provider refunds: (accepted, failed)."""
    accepted = failed = 0
    requests = [request for request in queries.pending_refunds(limit)
                if request.payment.provider is not PaymentProvider.BANK]  # staff pay those back
    for request in requests:
        try:
            result = _send(request)
        except (ProviderError, PaymentMethodUnavailable) as error:
            give_up = request.attempts + 1 >= current_app.config["REFUND_MAX_ATTEMPTS"]
            log.warning("refund %s failed (try %s): %s", request.out_refund_no, request.attempts + 1, error)
            refunds.refund_failed(request.id, str(error) or type(error).__name__, give_up)
            failed += 1
            continue
        refunds.settle_refund(request.id, result.refund_id)
        accepted += 1
    db.session.remove()
    return accepted, failed


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
        report = work_once()
        rounds += 1
        if report.did_something:
            log.info("payments %s: %s released, %s refunded, %s refund tries failed", utcnow().isoformat(),
                     report.released, report.refunded, report.failed)
        time.sleep(interval_seconds)
