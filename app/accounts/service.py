"""Every change to an account goes through here: one function per thing a person can do."""
from __future__ import annotations

import functools
import hashlib

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts import logins
from app.accounts.errors import (
    AccountDisabled,
    AdminRequired,
    AlreadyActive,
    AlreadyDeactivated,
    CannotChangeOwnRole,
    CannotDeactivateSelf,
    DeactivationReasonRequired,
    EmailTaken,
    InvalidCredentials,
    InvalidResetToken,
    LastActiveAdmin,
    PasswordNeededForContactChange,
    PhoneTaken,
    RoleUnchanged,
    UserNotFound,
    WrongPassword,
)
from app.accounts.models import Role, User
from app.audit.actions import AuditAction
from app.audit.service import record
from app.common.db import write_transaction
from app.common.time import utcnow
from app.common.urls import absolute_url
from app.common.validators import normalise_phone
from app.extensions import db
from app.mail.service import queue_email

_RESET_SALT = "password-reset"


def find_by_login(login: str) -> User | None:
    """An account by email (any case) or by mobile number (any common spelling)."""
    login = login.strip()
    if "@" in login:
        return db.session.scalar(select(User).where(User.email == login.lower()))
    phone = normalise_phone(login)
    return db.session.scalar(select(User).where(User.phone == phone)) if phone else None


def _raise_if_taken(email: str | None, phone: str | None, exclude_user_id: int | None = None) -> None:
    clauses = []
    if email:
        clauses.append(User.email == email)
    if phone:
        clauses.append(User.phone == phone)
    if not clauses:
        return
    query = select(User.email, User.phone).where(or_(*clauses))
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    for taken_email, taken_phone in db.session.execute(query):
        if email and taken_email == email:
            raise EmailTaken()
        if phone and taken_phone == phone:
            raise PhoneTaken()


def _flush_account_change() -> None:
    """Flush; a unique-index race lost to a parallel request becomes the same friendly error."""
    try:
        db.session.flush()
    except IntegrityError as error:
        text = str(error.orig).lower()
        # Match the constraint, not the word "phone": the message also quotes the duplicate value,
        # and an address like iphone.shop@example.com contains it. PostgreSQL names the constraint
        # (uq_users_phone), SQLite the column (users.phone).
        if "uq_users_phone" in text or "users.phone" in text:
            raise PhoneTaken() from error
        raise EmailTaken() from error


def register_user(
    email: str | None, password: str, name: str | None, phone: str | None, role: Role = Role.STUDENT,
) -> User:
    """A new account. `email` may be None only for an account staff make for a walk-in who gave a
    phone number alone (app/roster/service.py: add_person)."""
    return insert_account(email, hash_password(password), name, phone, role)


def sign_up(email: str, password: str, name: str | None, phone: str | None, user_agent: str = "") -> User:
    """The sign-up page: a new student account, logged in at once (its first login, the admin
    pages' 最近登录), in one transaction: no account is left that its owner was never logged in to.
    The returned user carries the login's token (`login_token`)."""
    return _sign_up(email, hash_password(password), name, phone, user_agent)


@write_transaction
def _sign_up(email: str, password_hash: str, name: str | None, phone: str | None, user_agent: str) -> User:
    user = insert_account(email, password_hash, name, phone, Role.STUDENT, logs_in=True)
    logins.add_login(user, user_agent)
    return user


def hash_password(password: str) -> str:
    """The password's hash: slow on purpose (scrypt), so made before the write transaction that
    stores it (on SQLite its lock is shared by all)."""
    return generate_password_hash(password)


@write_transaction
def insert_account(email: str | None, password_hash: str, name: str | None, phone: str | None,
                   role: Role = Role.STUDENT, logs_in: bool = False) -> User:
    """A new account row with a password hashed beforehand (`hash_password`); EmailTaken or
    PhoneTaken when either is someone's. A step of the caller's write transaction, if one runs."""
    email = email.strip().lower() if email else None
    phone = phone or None
    _raise_if_taken(email, phone)
    user = User(email=email, name=name or None, phone=phone, role=role, password_hash=password_hash,
                last_login_at=utcnow() if logs_in else None)
    db.session.add(user)
    _flush_account_change()
    return user


@functools.cache
def _dummy_password_hash() -> str:
    return generate_password_hash("no account has this password")


def _check_credentials(login: str, password: str) -> User:
    user = find_by_login(login)
    if user is None:
        # Spend the same time as a wrong password, so response times do not reveal who is registered.
        check_password_hash(_dummy_password_hash(), password)
        raise InvalidCredentials()
    # The slow hash check runs outside the write transaction: on SQLite that lock is shared by all.
    if not user.check_password(password):
        raise InvalidCredentials()
    if not user.is_active:
        raise AccountDisabled()
    return user


def authenticate(login: str, password: str) -> User:
    """The account for these credentials, with its last login recorded; or InvalidCredentials.
    (The API's token exchange; the login form uses log_in.)"""
    return _record_login(_check_credentials(login, password))


def log_in(login: str, password: str, user_agent: str = "") -> User:
    """The login form: check the credentials and start a web login, in one transaction with the
    last login time. The returned user carries the new login's token (`login_token`)."""
    return _record_login(_check_credentials(login, password), web_user_agent=user_agent)


@write_transaction
def _record_login(user: User, web_user_agent: str | None = None) -> User:
    user.last_login_at = utcnow()
    if web_user_agent is not None:
        logins.add_login(user, web_user_agent)
    return user


@write_transaction
def log_out(user: User) -> None:
    """End this login only: a cookie copied before logout stops working, the person's other
    devices stay logged in."""
    logins.end_login(user.login_token)


@write_transaction
def complete_profile(user: User, name: str | None = None, phone: str | None = None) -> User:
    """Fill in the 姓名 and 手机号 that booking needs, without touching the rest of the profile."""
    # Only a missing phone is filled in here: changing one needs the password (update_profile).
    if phone and not user.phone:
        _raise_if_taken(None, phone, exclude_user_id=user.id)
        user.phone = phone
    if name:
        user.name = name
    _flush_account_change()
    return user


def update_profile(user: User, name: str, phone: str, email: str, current_password: str | None = None) -> User:
    """Save the 姓名, 手机号 and 邮箱 of the profile page.

    A new email or phone needs the current password (PasswordNeededForContactChange,
    WrongPassword): both are ways into the account (login, password reset). The address the
    account had is then told, with a link to set a new password, in the same transaction."""
    email = email.strip().lower()
    if email != user.email or phone != user.phone:
        if not current_password:
            raise PasswordNeededForContactChange()
        # The slow hash check runs outside the write transaction: on SQLite that lock is shared by all.
        if not user.check_password(current_password):
            raise WrongPassword()
    return _store_profile(user, name, phone, email)


def _contact_state(user: User) -> dict:
    return {"user_id": user.id, "email": user.email, "phone": user.phone}


@write_transaction
def _store_profile(user: User, name: str, phone: str, email: str) -> User:
    _raise_if_taken(email, phone, exclude_user_id=user.id)
    before = _contact_state(user)
    user.name, user.phone, user.email = name, phone, email
    _flush_account_change()
    after = _contact_state(user)
    if after != before:
        record(AuditAction.ACCOUNT_CONTACT, user, account_id=user.id, before=before, after=after)
        _tell_old_address(user, before)
    return user


def _tell_old_address(user: User, before: dict) -> None:
    """Email the address the account had: if the change was not theirs, the reset link (valid as
    a reset link always is, and sent only there) lets them take the account back."""
    queue_email(
        to=before["email"],
        subject=_("您的账号邮箱或手机号已修改"),
        template="contact_changed",
        user=user,
        old_email=before["email"],
        new_email=user.email if user.email != before["email"] else None,
        old_phone=before["phone"],
        new_phone=user.phone if user.phone != before["phone"] else None,
        link=absolute_url("accounts.reset_password", token=make_reset_token(user)),
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Set a new password and end the user's other logins and API tokens; this login stays."""
    if not user.check_password(current_password):
        raise WrongPassword()
    return write_transaction(_set_password_hash)(user, generate_password_hash(new_password),
                                                 keep_login=user.login_token)


def _set_password_hash(user: User, password_hash: str, keep_login: str | None = None) -> User:
    """Set a new password hash and end the user's web logins (but `keep_login`) and API tokens."""
    user.password_hash = password_hash
    user.session_version += 1  # revokes the API bearer tokens
    logins.end_logins(user.id, keep_token=keep_login)
    return user


# --- what admins do to accounts (the admin user pages) ----------------------------------------

def _account_state(user: User) -> dict:
    """An account as its audit entries record it: user_id finds the entries for the user's page."""
    return {"user_id": user.id, "email": user.email, "role": user.role.value, "active": user.is_active}


def _lock_active_admins() -> set[int]:
    """The ids of the active admins, their rows locked until the transaction ends.

    Every admin action on accounts takes these locks first, so two admins demoting each other at
    the same moment run one after the other and the second sees the first's result: someone is
    always left in charge. On SQLite the write transaction (BEGIN IMMEDIATE) already runs alone.
    """
    return set(db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id).with_for_update()
    ))


def _account_for_admin(user_id: int, actor: User | None) -> tuple[User, set[int]]:
    """The account to change, read fresh under the admins' locks, once the actor is known to be one.

    No actor: an operator at the command line, who has the server and so every right already."""
    admin_ids = _lock_active_admins()
    if actor is not None and actor.id not in admin_ids:  # demoted or deactivated while their page was open
        raise AdminRequired()
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise UserNotFound()
    return user, admin_ids


def _refuse_losing_last_admin(user: User, admin_ids: set[int]) -> None:
    if user.id in admin_ids and not admin_ids - {user.id}:
        raise LastActiveAdmin()


@write_transaction
def change_role(user_id: int, role: Role, actor: User | None, note: str = "") -> User:
    """Make the account a student, staff or admin. Nobody demotes themselves or the last admin.

    `actor` None is an operator at the command line (`flask users set-role`); `note` then says so
    in the audit entry, which otherwise could not tell them from the system."""
    user, admin_ids = _account_for_admin(user_id, actor)
    if user.role is role:
        raise RoleUnchanged()
    if role is not Role.ADMIN:
        _refuse_losing_last_admin(user, admin_ids)
        if actor is not None and user.id == actor.id:
            raise CannotChangeOwnRole()
    before = _account_state(user)
    user.role = role
    record(AuditAction.ACCOUNT_ROLE, actor, account_id=user.id, before=before, after=_account_state(user), note=note)
    return user


@write_transaction
def deactivate_user(user_id: int, actor: User, reason: str) -> User:
    """Block the account: it cannot log in, and its web sessions, remember-me cookies and API
    tokens end at once (its logins are deleted, its tokens carry session_version, which moves on)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DeactivationReasonRequired()
    user, admin_ids = _account_for_admin(user_id, actor)
    if not user.is_active:
        raise AlreadyDeactivated()
    _refuse_losing_last_admin(user, admin_ids)
    if user.id == actor.id:
        raise CannotDeactivateSelf()
    before = _account_state(user)
    user.is_active = False
    # Ended for good, also if the account is reactivated later: its web logins are deleted and
    # its API tokens carry the old session_version.
    logins.end_logins(user.id)
    user.session_version += 1
    record(AuditAction.ACCOUNT_DEACTIVATE, actor, account_id=user.id, before=before, after=_account_state(user),
           note=reason)
    return user


@write_transaction
def reactivate_user(user_id: int, actor: User) -> User:
    """Let the account log in again (with a new login: the old sessions stay ended)."""
    user, _admin_ids = _account_for_admin(user_id, actor)
    if user.is_active:
        raise AlreadyActive()
    before = _account_state(user)
    user.is_active = True
    record(AuditAction.ACCOUNT_REACTIVATE, actor, account_id=user.id, before=before, after=_account_state(user))
    return user


# --- password reset -------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Part of the token: once the password changes the token stops matching, so a link works once.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user)})


@write_transaction
def request_password_reset(email: str) -> None:
    """Email a reset link if an active account has this address. Says nothing either way."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        return
    link = absolute_url("accounts.reset_password", token=make_reset_token(user))  # SITE_URL, never the Host header
    queue_email(
        to=user.email,
        subject=_("重置您的密码"),
        template="password_reset",
        user=user,
        link=link,
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )


def user_for_reset_token(token: str) -> User:
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature) as error:
        raise InvalidResetToken() from error
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("pw") != _password_fingerprint(user):
        raise InvalidResetToken()
    return user


def reset_password(token: str, new_password: str) -> User:
    user_for_reset_token(token)  # refuse a bad token before spending time on the hash
    return _store_reset_password(token, generate_password_hash(new_password))


@write_transaction
def _store_reset_password(token: str, password_hash: str) -> User:
    user = user_for_reset_token(token)  # again under the write lock: of two parallel uses, one wins
    return _set_password_hash(user, password_hash)


def count_users_by_role() -> dict[Role, int]:
    rows = db.session.execute(select(User.role, func.count()).group_by(User.role))
    counts = {role: 0 for role in Role}
    counts.update({role: count for role, count in rows})
    return counts
