"""An invoice request as its audit entries keep it, and that state in words for the history lists
(the staff registration page reads it through app/roster/display.py)."""
from __future__ import annotations

import contextlib
from decimal import Decimal

from flask_babel import gettext as _

from app.common.money import format_money, plain_amount
from app.invoices.models import InvoiceKind, InvoiceRequest


def invoice_state(request: InvoiceRequest) -> dict:
    state = {"invoice_request_id": request.id, "invoice_status": request.status.value, "kind": request.kind.value,
             "title": request.title, "tax_id": request.tax_id, "email": request.email,
             "amount": plain_amount(request.amount)}
    if request.invoice_number:
        state["invoice_number"] = request.invoice_number
    return state


def is_invoice_state(state: dict) -> bool:
    return "invoice_request_id" in state


def invoice_state_text(state: dict) -> str:
    """企业 · 杭州某某科技有限公司 · 税号 9133… · ¥3,980.00 · 发票号码 …"""
    parts = []
    if state.get("kind") in set(InvoiceKind):
        parts.append(InvoiceKind(state["kind"]).label)
    if state.get("title"):
        parts.append(str(state["title"]))
    if state.get("tax_id"):
        parts.append(_("税号 %(id)s", id=state["tax_id"]))
    with contextlib.suppress(KeyError, TypeError, ArithmeticError):  # an entry written by older code
        parts.append(format_money(Decimal(state["amount"])))
    if state.get("invoice_number"):
        parts.append(_("发票号码 %(number)s", number=state["invoice_number"]))
    return " · ".join(parts)
