"""Sign-ups that race each other for one email or phone, with real threads and real connections."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert, text

from app.accounts.models import User
from app.extensions import db
from tests.helpers import VALID_SIGNUP, csrf_token_from, field_errors, text_of, user_count

EMAIL_TAKEN = "该邮箱已注册，请直接登录或找回密码"
PHONE_TAKEN = "该手机号已被其他账号使用"


@pytest.mark.parametrize("email", ["rush@example.com", "iphone.shop@example.com"])
def test_parallel_signups_with_one_email_create_exactly_one_account(app, email):
    """A double-tapped button or two people racing for one address: one account, a clear message, no 500."""
    browsers = 8
    clients = [app.test_client() for _ in range(browsers)]
    tokens = [csrf_token_from(text_of(c.get("/account/signup"))) for c in clients]
    start_together = threading.Barrier(browsers)

    def sign_up(i: int):
        # Different phones, so the only thing the browsers compete for is the email address.
        data = {**VALID_SIGNUP, "email": email, "phone": f"1390000000{i}", "csrf_token": tokens[i]}
        start_together.wait()
        return clients[i].post("/account/signup", data=data)

    with ThreadPoolExecutor(max_workers=browsers) as pool:
        responses = list(pool.map(sign_up, range(browsers)))

    assert sorted(r.status_code for r in responses) == [200] * (browsers - 1) + [302]
    for response in responses:
        if response.status_code == 200:
            assert field_errors(response) == [EMAIL_TAKEN]
    assert user_count(app) == 1


def wait_until_someone_waits_for_a_lock(engine) -> None:
    """Return once a connection to our database is blocked on a lock (PostgreSQL can show this)."""
    if engine.dialect.name != "postgresql":
        # SQLite cannot show who waits on its write lock. The sign-up queues on BEGIN IMMEDIATE
        # and sees the committed row either way, so a short pause is all this needs.
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    with engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.scalar(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) "
                    "WHERE NOT pg_locks.granted AND pg_stat_activity.datname = current_database()"
                )
            )
            probe.rollback()  # pg_stat_activity is a snapshot per transaction
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the sign-up never waited for the other transaction")


@pytest.mark.parametrize(
    ("other_email", "other_phone", "message"),
    [
        # An e-commerce seller's address that happens to contain the word "phone".
        pytest.param("iphone.shop@example.com", "13900000099", EMAIL_TAKEN, id="email"),
        pytest.param("someone@example.com", VALID_SIGNUP["phone"], PHONE_TAKEN, id="phone"),
    ],
)
def test_signup_that_loses_a_race_is_told_which_detail_is_taken(app, other_email, other_phone, message):
    """When another sign-up commits the same email (or phone) first, the message names the right field.

    The other sign-up's row is inserted and held uncommitted, so this request passes the "is it
    taken?" query and then meets the unique constraint: the path a real race takes.
    """
    signup_email = other_email if message == EMAIL_TAKEN else VALID_SIGNUP["email"]
    client = app.test_client()
    token = csrf_token_from(text_of(client.get("/account/signup")))
    with app.app_context():
        engine = db.engine

    with engine.connect() as other_signup, ThreadPoolExecutor(max_workers=1) as pool:
        other_signup.execute(
            insert(User.__table__).values(email=other_email, phone=other_phone, name="李四", password_hash="x")
        )
        pending = pool.submit(
            client.post, "/account/signup", data={**VALID_SIGNUP, "email": signup_email, "csrf_token": token}
        )
        wait_until_someone_waits_for_a_lock(engine)
        other_signup.commit()
        response = pending.result(timeout=60)

    assert response.status_code == 200
    assert field_errors(response) == [message]
    assert user_count(app) == 1
