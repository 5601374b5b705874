from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, func, true
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash

from app.accounts.search import KEY_LENGTH, name_search_key
from app.common.time import UtcDateTime, utcnow
from app.extensions import db


class Role(enum.StrEnum):
    STUDENT = "student"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        return {Role.STUDENT: _("学员"), Role.STAFF: _("工作人员"), Role.ADMIN: _("管理员")}[self]


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased so that the unique index also catches case variants. None only for a
    # walk-in whom staff added with a name and a phone (app/roster/service.py: add_person): no
    # email reaches them and they cannot log in by email; NULLs do not collide in the index.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # Mainland mobile number, 11 digits. Accounts created by operators may lack one until booking.
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    name: Mapped[str | None] = mapped_column(String(50))
    # The person's openid with the organisation's WeChat official account (from WeChat's silent
    # web authorisation, or the mini-program's login): WeChat Pay inside WeChat (JSAPI) needs it.
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The name as staff search for it (folded, in pinyin, its initials: app/accounts/search.py),
    # kept in step with `name` by the validator below, whoever writes the name.
    search_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    # Werkzeug's generate_password_hash: scrypt, a memory-hard KDF with a random salt per hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda roles: [r.value for r in roles],
             create_constraint=True, name="role"),
        default=Role.STUDENT,
        server_default=Role.STUDENT.value,
        index=True,
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Part of every API bearer token: bumping it revokes the user's tokens (password change or
    # reset, deactivation). Web logins are rows of login_sessions instead (LoginSession).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @validates("name")
    def _keep_search_key(self, _key: str, name: str | None) -> str | None:
        self.search_key = name_search_key(name)
        return name

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # The token of the web login this object was loaded for (app/accounts/logins.py sets it): what
    # Flask-Login keeps in the session cookie and in the 记住我 cookie. Not a column.
    # (No annotation: Declarative would take an annotated attribute for a column.)
    login_token = None

    def get_id(self) -> str:
        if not self.login_token:
            # A login must be started (accounts.service: log_in, sign_up) before Flask-Login stores its id; the
            # account id alone would be a cookie no logout could end.
            raise RuntimeError("no login started for this user")
        return self.login_token

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.name or (self.email or "").split("@", 1)[0] or self.phone or ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"


class LoginSession(db.Model):
    """One web login (one browser or phone), from the login form to logout.

    Its id is the SHA-256 of a random token that only the browser has (in the session cookie and
    the 记住我 cookie), so a copy of the table logs nobody in. Logout deletes the row, so a cookie
    copied before it no longer works; a password change deletes the user's other rows, a password
    reset or a deactivation all of them."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, server_default=func.now())
    # The browser it started in, so a person could tell their logins apart (shortened).
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")
