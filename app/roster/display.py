"""How roster facts read on the staff pages: booking sources, and audit entries as history lines."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _

from app.audit.history import HistoryLine, history_line
from app.audit.models import AuditEntry
from app.booking.models import RegistrationStatus, waitlist_place_label
from app.catalog.models import CampSession
from app.common.money import format_money
from app.common.time import local_datetime
from app.invoices.history import invoice_state_text, is_invoice_state
from app.payments.models import PaymentProvider
from app.roster.service import status_label


@dataclass(frozen=True)
class SourceArticle:
    """The article a booking came through, as the roster names and links it."""

    id: int
    title: str
    slug: str
    public: bool  # readers can open it now (published, or scheduled and its time has come)


def article_id_of(source: str | None) -> int | None:
    """'article:12' -> 12; any other source (or a malformed one) -> None."""
    kind, _sep, value = (source or "").partition(":")
    return int(value) if kind == "article" and value.isascii() and value.isdigit() else None


def source_label(source: str | None, articles: Mapping[int, SourceArticle] | None = None) -> str:
    """'web' -> 网站, 'article:12' -> the article's title, or 文章 #12 if it is gone (pages and
    exports both use this; `articles` from queries.source_articles, fetched once for all rows)."""
    source = source or "web"
    article_id = article_id_of(source)
    if article_id is not None:
        article = (articles or {}).get(article_id)
        return article.title if article else _("文章 #%(id)s", id=article_id)
    return {"web": _("网站"), "api": _("API（小程序）"), "staff": _("工作人员添加")}.get(source, source)


def source_link(source: str | None, articles: Mapping[int, SourceArticle], for_admin: bool) -> tuple[str, str | None]:
    """The source's words and where they lead: an article's editor for admins, its public page
    for other staff while readers can see it, else nowhere."""
    article = articles.get(article_id_of(source) or 0)
    href = None
    if article is not None and for_admin:
        href = url_for("cms_admin.edit_article", article_id=article.id)
    elif article is not None and article.public:
        href = url_for("cms.article", slug=article.slug)
    return source_label(source, articles), href


def day_label(day: date) -> str:
    return format_date(day, "M月d日")


def session_label(camp: CampSession) -> str:
    """Short enough for a select option or a history line: 9月17日–9月19日 · 第12期."""
    first, last = camp.local_dates()
    dates = day_label(first) if first == last else f"{day_label(first)}–{day_label(last)}"
    return f"{dates} · {camp.label}" if camp.label else dates


def move_option_label(camp: CampSession) -> str:
    """A session offered as a move target, with what is left of it."""
    if camp.is_full:
        return _("%(session)s（已满）", session=session_label(camp))
    return _("%(session)s · 剩余 %(n)s 席", session=session_label(camp), n=camp.seats_left)


def history_lines(entries: list[AuditEntry], sessions: dict[int, CampSession]) -> list[HistoryLine]:
    """Audit entries in words. `sessions`: every session the entries' states name."""
    return [
        history_line(entry, str(entry.action.label), _state_text(entry.before, entry.after, sessions),
                     _state_text(entry.after, entry.before, sessions))
        for entry in entries
    ]


def state_session_ids(entries: list[AuditEntry]) -> set[int]:
    return {
        state["session_id"]
        for entry in entries for state in (entry.before, entry.after)
        if state and isinstance(state.get("session_id"), int)
    }


def _state_text(state: dict | None, other: dict | None, sessions: dict[int, CampSession]) -> str:
    if not state:
        return ""
    if "present" in state:  # attendance: {"day": "2026-09-17", "present": true}
        try:
            day = day_label(date.fromisoformat(state["day"]))
        except (KeyError, TypeError, ValueError):
            day = ""
        return f"{day} {_('已签到') if state['present'] else _('未签到')}".strip()
    if "capacity" in state:
        return _("名额 %(n)s", n=state["capacity"])
    if is_invoice_state(state):
        return invoice_state_text(state)
    if "amount" in state or "out_trade_no" in state or "hold_expires_at" in state:
        return _money_text(state)
    parts = []
    if "status" in state:
        try:
            status = RegistrationStatus(state["status"])
        except ValueError:
            parts.append(str(state["status"]))
        else:
            text = status_label(status)
            position = state.get("waitlist_position")
            if status is RegistrationStatus.WAITLISTED and isinstance(position, int):
                # The place then; entries older than this key have only the drawn number, which
                # is not a place, so they say just 候补.
                text = waitlist_place_label(position)
            parts.append(text)
    # Name the session only when it is what changed (a move), not on every line.
    session_id = state.get("session_id")
    if session_id is not None and other and other.get("session_id") not in (None, session_id):
        camp = sessions.get(session_id)
        parts.append(session_label(camp) if camp else _("场次 #%(id)s", id=session_id))
    return " · ".join(parts)


def _money_text(state: dict) -> str:
    """A payment entry's state (app/payments/service.py writes them): money received, a refund
    decided or sent back, a bank transfer's order or its longer hold."""
    parts = []
    amount = state.get("amount")
    if isinstance(amount, str):
        try:
            parts.append(format_money(Decimal(amount)))
        except ArithmeticError:
            parts.append(amount)
    provider = state.get("provider")
    if isinstance(provider, str):
        try:
            parts.append(PaymentProvider(provider).label)
        except ValueError:
            parts.append(provider)
    if state.get("transaction_id"):
        parts.append(_("交易号 %(id)s", id=state["transaction_id"]))
    if state.get("provider_refund_id"):
        parts.append(_("流水号 %(id)s", id=state["provider_refund_id"]))
    if state.get("out_trade_no"):
        parts.append(_("转账附言码 %(code)s", code=state["out_trade_no"]))
    if isinstance(state.get("hold_expires_at"), str):
        try:
            until = datetime.fromisoformat(state["hold_expires_at"])
        except ValueError:
            pass
        else:
            parts.append(_("名额保留至 %(when)s", when=local_datetime(until, "M月d日 HH:mm")))
    return " · ".join(parts)
