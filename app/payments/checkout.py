"""The student's side of paying, through the providers: open an order, ask the provider for what
the browser needs (a page to go to, a QR code, the parameters of WeChat's pay sheet), take the
provider's word that it was paid (a verified notification, or a query when the student says they
have paid), and the WeChat openid JSAPI needs.

The money itself is written by service.py (record_payment); this module talks to providers and
never holds a transaction open while it does: a provider that is slow or down delays only the
student who is paying, and their seat stays held.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.accounts.models import User
from app.booking.models import GroupBooking, Registration
from app.common.db import write_transaction
from app.common.money import fen, from_fen
from app.common.urls import absolute_url
from app.extensions import db
from app.payments import group_orders, queries, service
from app.payments.errors import LoginCodeRefused, PaymentMethodUnavailable, PaymentNotFound, PaymentServiceDown
from app.payments.methods import PayMethod
from app.payments.models import PaymentOrder, PaymentProvider
from app.payments.providers import ForgedNotification, PaidNotice, PaymentRequest, ProviderError, alipay, wechat

log = logging.getLogger(__name__)


def wechat_provider() -> wechat.WechatPayProvider:
    if not wechat.configured(current_app.config):
        raise PaymentMethodUnavailable()
    return _kept(wechat.WechatPayProvider, ("WECHATPAY_", "WECHAT_"))


def alipay_provider() -> alipay.AlipayProvider:
    if not alipay.configured(current_app.config):
        raise PaymentMethodUnavailable()
    return _kept(alipay.AlipayProvider, ("ALIPAY_",))


def _kept(provider_class, prefixes: tuple[str, ...]):
    """One provider client per process and settings: building one reads and parses its RSA keys,
    about 40 ms of CPU, which a notification would otherwise pay every time. Kept per app, keyed
    by the provider's settings, so new settings (a test's, a key rotated on restart) get a new one."""
    config = current_app.config
    settings = tuple(sorted((name, str(value)) for name, value in config.items() if name.startswith(prefixes)))
    kept = current_app.extensions.setdefault("payment_providers", {})
    key = (provider_class.__name__, settings)
    if key not in kept:
        try:
            kept[key] = provider_class(config)
        except ValueError as error:  # a key that cannot be read, in the wrong slot: the settings' fault
            raise ProviderError(f"{provider_class.__name__}: {error}") from error
    return kept[key]


@dataclass
class Checkout:
    """What the browser does next: go to `redirect_url` (Alipay, WeChat H5), show `qr_url` as a QR
    code (WeChat Native), call WeChat's pay sheet with `jsapi` (inside WeChat), or show the bank
    transfer's details (`order`, whose number is the transfer's reference)."""

    order: PaymentOrder
    redirect_url: str | None = None
    qr_url: str | None = None
    jsapi: dict = field(default_factory=dict)
    # Outside WeChat (development against the stand-in): where its pay page is, for the JSAPI order.
    jsapi_fallback_url: str | None = None


def start(registration_id: int, user: User, method: PayMethod, client_ip: str | None = None) -> Checkout:
    """Open an order for what `user` owes on their registration and ask the provider to collect it."""
    return _start(lambda: service.open_order(registration_id, user, method.provider, method.channel), user, method,
                  client_ip, lambda: absolute_url("payments.pay", registration_id=registration_id))


def start_group(group_id: int, user: User, method: PayMethod, client_ip: str | None = None) -> Checkout:
    """Open one order for what the group's held seats owe (its booker pays once) and ask the
    provider to collect it."""
    return _start(lambda: group_orders.open_group_order(group_id, user, method.provider, method.channel), user,
                  method, client_ip, lambda: absolute_url("payments.group_pay", group_id=group_id))


def _start(open_order: Callable[[], PaymentOrder], user: User, method: PayMethod, client_ip: str | None,
           back_url: Callable[[], str]) -> Checkout:
    provider = {PaymentProvider.WECHAT: wechat_provider, PaymentProvider.ALIPAY: alipay_provider}.get(method.provider)
    try:
        client = provider() if provider else None  # unavailable methods fail before an order is opened
    except ProviderError as error:  # its keys could not be read: a configuration fault, logged
        log.error("%s is configured but cannot be used: %s", method.provider.value, error)
        raise PaymentServiceDown() from error
    if method is PayMethod.WECHAT_JSAPI and not user.wechat_openid:
        raise PaymentMethodUnavailable()
    order = open_order()
    checkout = Checkout(order)
    if client is None:  # a bank transfer: the page shows the account and the reference
        return checkout
    request = _payment_request(order, user, client_ip)
    try:
        if method is PayMethod.WECHAT_JSAPI:
            checkout.jsapi = client.create_jsapi(request)
            checkout.jsapi_fallback_url = client.standin_page_url(checkout.jsapi, back_url())
        elif method is PayMethod.WECHAT_NATIVE:
            checkout.qr_url = client.create_native(request)
        elif method is PayMethod.WECHAT_H5:
            checkout.redirect_url = client.create_h5(request)
        elif method is PayMethod.ALIPAY_PAGE:
            checkout.redirect_url = client.page_pay_url(request)
        else:
            checkout.redirect_url = client.wap_pay_url(request)
    except ProviderError as error:
        log.warning("%s could not open order %s: %s", method.provider.value, order.out_trade_no, error)
        raise PaymentServiceDown() from error
    return checkout


def _payment_request(order: PaymentOrder, user: User, client_ip: str | None) -> PaymentRequest:
    if order.group_booking_id is not None:  # a group's: what the payer sees names the group
        camp = order.group.session
        description = _("%(course)s %(label)s 团体报名 %(n)s 人", course=camp.course.title, label=camp.label,
                        n=len(order.lines))
        expires_at = min(line.registration.hold_expires_at for line in order.lines)
    else:
        registration: Registration = db.session.get(Registration, order.registration_id)
        camp = registration.session
        description = f"{camp.course.title} {camp.label}".strip()
        expires_at = registration.hold_expires_at
    notify = "payments.wechat_notify" if order.provider is PaymentProvider.WECHAT else "payments.alipay_notify"
    return PaymentRequest(
        out_trade_no=order.out_trade_no, amount_fen=fen(order.amount), description=" ".join(description.split())[:100],
        notify_url=absolute_url(notify), expires_at=expires_at,
        payer_openid=user.wechat_openid, client_ip=client_ip,
        return_url=absolute_url("payments.alipay_return"))


# --- the mini-program -------------------------------------------------------------------------

# What wx.requestPayment takes, of create_jsapi's answer (the mini-program knows its own appId).
MINI_PROGRAM_PAYMENT_KEYS = ("timeStamp", "nonceStr", "package", "signType", "paySign")
# jscode2session's errcodes for a code WeChat does not accept: invalid (made up, expired, another
# app's) and used already. Any other refusal (appid, secret, rate limit, busy) is ours or WeChat's.
_LOGIN_CODE_ERRCODES = frozenset({"40029", "40163"})


def mini_program_configured(config: Mapping[str, Any]) -> bool:
    """Whether the mini-program can pay: WeChat Pay's settings, and an AppSecret for jscode2session
    (the mini-program's own, or else the official account's, as WechatPayProvider falls back)."""
    secret = config.get("WECHAT_MINIPROGRAM_APP_SECRET") or config.get("WECHAT_APP_SECRET") or ""
    return wechat.configured(config) and bool(str(secret).strip())


def start_mini_program(registration_id: int, user: User, login_code: str) -> dict[str, str]:
    """Pay for `user`'s held seat in the mini-program: an order for what is due (as `start`), made
    for the payer that the mini-program's wx.login() `login_code` names, and the signed parameters
    of wx.requestPayment (MINI_PROGRAM_PAYMENT_KEYS).

    The openid is asked for each time and not kept on the account: it is the mini-program's, not
    the official account's that `User.wechat_openid` holds for the web's JSAPI orders (an openid
    belongs to one app), and a login code is WeChat's to give at every payment anyway."""
    queries.registration_to_pay(registration_id, user)  # someone else's: not found, before anything else
    return _start_mini_program(
        lambda: service.open_order(registration_id, user, PaymentProvider.WECHAT, PayMethod.WECHAT_JSAPI.channel),
        user, login_code)


def start_group_mini_program(group_id: int, user: User, login_code: str) -> dict[str, str]:
    """As start_mini_program, for the group `user` booked: one order for what its held seats owe."""
    group_orders.group_to_pay(group_id, user)  # someone else's: not found, before anything else
    return _start_mini_program(
        lambda: group_orders.open_group_order(group_id, user, PaymentProvider.WECHAT, PayMethod.WECHAT_JSAPI.channel),
        user, login_code)


def _start_mini_program(open_order: Callable[[], PaymentOrder], user: User, login_code: str) -> dict[str, str]:
    if not mini_program_configured(current_app.config):
        raise PaymentMethodUnavailable(_("小程序暂时不能支付，请稍后再试或在网页上完成支付"))
    try:
        client = wechat_provider()
    except ProviderError as error:  # its keys cannot be loaded: the site's to fix, the student's to wait for
        log.error("WeChat Pay is configured but cannot start: %s", error)
        raise PaymentServiceDown() from error
    order = open_order()
    try:
        openid = client.openid_from_login_code(login_code)
    except wechat.WechatRefused as refusal:
        if refusal.code in _LOGIN_CODE_ERRCODES:
            raise LoginCodeRefused() from refusal
        log.warning("WeChat refused the login code of order %s: %s", order.out_trade_no, refusal)
        raise PaymentServiceDown() from refusal
    except ProviderError as error:
        log.warning("WeChat could not be asked for the payer of order %s: %s", order.out_trade_no, error)
        raise PaymentServiceDown() from error
    request = replace(_payment_request(order, user, None), payer_openid=openid)
    try:
        parameters = client.create_jsapi(request, mini_program=True)
    except ProviderError as error:
        log.warning("WeChat Pay could not open order %s: %s", order.out_trade_no, error)
        raise PaymentServiceDown() from error
    return {key: parameters[key] for key in MINI_PROGRAM_PAYMENT_KEYS}


# --- what the providers tell us -------------------------------------------------------------

def _record(provider: PaymentProvider, notice: PaidNotice) -> service.PaymentOutcome | None:
    try:
        return service.record_payment(provider, notice.out_trade_no, notice.transaction_id,
                                      from_fen(notice.amount_fen), notice.paid_at)
    except PaymentNotFound:
        # Signed by the provider, yet not an order of ours (another system on the same merchant
        # account?): nothing to do here, and asking the provider to retry would not help.
        log.error("%s notified payment %s of an unknown order %s", provider.value, notice.transaction_id,
                  notice.out_trade_no)
        return None


def wechat_notification(headers: Mapping[str, str], body: bytes) -> bool:
    """A WeChat Pay notification: False when it is forged (refused, logged); True otherwise."""
    return _take_notification(PaymentProvider.WECHAT, lambda: wechat_provider().parse_notification(headers, body))


def alipay_notification(form: Mapping[str, str]) -> bool:
    """An Alipay notification: False when it is forged (refused, logged); True otherwise."""
    return _take_notification(PaymentProvider.ALIPAY, lambda: alipay_provider().parse_notification(form))


def _take_notification(provider: PaymentProvider, parse: Callable[[], PaidNotice | None]) -> bool:
    """Verify a notification (`parse`: the provider's SDK) and record the payment it tells of.
    PaymentServiceDown when it cannot be verified here (settings that cannot be read): the
    provider then sends it again later."""
    try:
        notice = parse()
    except ForgedNotification as error:
        log.warning("refused a %s notification: %s", provider.value, error)
        return False
    except ProviderError as error:
        log.error("could not verify a %s notification: %s", provider.value, error)
        raise PaymentServiceDown() from error
    if notice is not None:
        _record(provider, notice)
    return True


def check_with_provider(registration: Registration) -> None:
    """The student says they have paid: ask the provider about their open orders (a notification
    may be late or lost) and record what was paid. Quietly does nothing if the provider is down."""
    _ask_about(db.session.scalars(
        db.select(PaymentOrder).where(PaymentOrder.registration_id == registration.id,
                                      PaymentOrder.provider != PaymentProvider.BANK)
        .order_by(PaymentOrder.id.desc()).limit(3)).all())


def check_group_with_provider(group: GroupBooking) -> None:
    """The booker says they have paid for the group: as check_with_provider, for its orders."""
    _ask_about(group_orders.provider_orders_of_group(group.id))


def _ask_about(orders: list[PaymentOrder]) -> None:
    for order in orders:
        try:
            client = wechat_provider() if order.provider is PaymentProvider.WECHAT else alipay_provider()
            notice = client.query(order.out_trade_no)
        except (ProviderError, PaymentMethodUnavailable) as error:  # down, or switched off since
            log.info("could not ask %s about %s: %r", order.provider.value, order.out_trade_no, error)
            continue
        if notice is not None:
            _record(order.provider, notice)


# --- WeChat's openid --------------------------------------------------------------------------

def wechat_authorize_url(state: str) -> str:
    return wechat_provider().oauth_authorize_url(absolute_url("payments.wechat_callback"), state)


def remember_openid(user: User, code: str) -> None:
    """WeChat sent the reader back with a code: keep their openid on the account (JSAPI needs it).
    WeChat is asked first, outside any transaction (a write transaction on SQLite would hold every
    booking of the site while WeChat answers)."""
    try:
        openid = wechat_provider().openid_from_code(code)
    except ProviderError as error:
        raise PaymentServiceDown() from error
    _store_openid(user, openid)


@write_transaction
def _store_openid(user: User, openid: str) -> None:
    if user.wechat_openid == openid:
        return
    # One account per openid: another account that had it (the same phone, a second sign-up) lets go.
    db.session.execute(db.update(User).where(User.wechat_openid == openid).values(wechat_openid=None))
    db.session.get(User, user.id).wechat_openid = openid
