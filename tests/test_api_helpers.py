"""Helpers for the API tests (no tests here): sign up, get a token, build sessions, read rows back.

Reads and writes run in their own application context, so they see what the API committed.
"""
from __future__ import annotations

from sqlalchemy import select

from app.booking.models import Registration
from app.catalog.models import CampSession
from app.extensions import db
from tests.factories import PASSWORD, make_session, make_user

API = "/api/v1"

VALID_SIGNUP = {"email": "wangzhe@example.com", "password": "abcdefgh1", "name": "王喆", "phone": "13912345678"}


def signup(client, **changes):
    return client.post(f"{API}/auth/signup", json={**VALID_SIGNUP, **changes})


def token_for(client, login: str, password: str = PASSWORD) -> str:
    response = client.post(f"{API}/auth/token", json={"login": login, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def student_headers(app, client, email: str, phone: str, name: str | None = "李同学") -> dict:
    """A new student (with name and phone unless told otherwise) and the headers of their token."""
    make_user(app, email, name=name, phone=phone)
    return bearer(token_for(client, email))


def new_session(app, **fields) -> int:
    with app.app_context():
        session_id = make_session(**fields)
        db.session.remove()
    return session_id


def book(client, session_id: int, headers: dict):
    return client.post(f"{API}/sessions/{session_id}/registrations", headers=headers)


def seats_taken(app, session_id: int) -> int:
    with app.app_context():
        taken = db.session.get(CampSession, session_id).seats_taken
        db.session.remove()
    return taken


def registration_statuses(app, session_id: int) -> dict[int, str]:
    """{registration id: status} of a session, straight from the database."""
    with app.app_context():
        rows = db.session.execute(
            select(Registration.id, Registration.status).where(Registration.session_id == session_id)
        ).all()
        db.session.remove()
    return {registration_id: status.value for registration_id, status in rows}


def assert_error(response, status: int, code: str) -> dict:
    """The response is the API's JSON error with this status and code and a Chinese message."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body
