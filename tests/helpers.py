"""Helpers that act and look as a person does, through HTTP (browser pages and the JSON API), and
read back what a test checks: CSRF-posting, login, sign-up, the editor's form, the outbox, SQL
statement counting, threads released together, and the text and fonts of a PDF.

Reads run in their own application context (where they take `app`), so they see what was
committed and never reuse a session (or, on SQLite, a read snapshot) left over from an earlier step.
"""
from __future__ import annotations

import io
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import has_app_context
from pypdf import PdfReader
from sqlalchemy import event, func, select

from app.accounts.models import User
from app.booking.models import Registration
from app.catalog.models import CampSession
from app.cms.count_buffer import FlushReport, flush_counts
from app.cms.models import Article
from app.common.fonts import PdfFonts
from app.extensions import db
from app.mail.models import OutboxMessage
from app.mail.service import compose
from tests.factories import PASSWORD, make_user, person_of

# --- the browser ------------------------------------------------------------------------------

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def submit_form(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """GET the page that shows the form (default: `url`), then POST `data` with its CSRF token."""
    page = client.get(form_page or url)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def login(client, login: str, password: str, remember: bool = False, **kwargs):
    data = {"login": login, "password": password}
    if remember:
        data["remember"] = "y"
    return submit_form(client, "/account/login", data, **kwargs)


def logout(client):
    return submit_form(client, "/account/logout", {}, form_page="/")


def is_logged_in(client) -> bool:
    """Whether this browser is logged in: the profile page opens instead of redirecting to login."""
    response = client.get("/account/profile")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def client_of(app, registration_id: int):
    """A client logged in as the student of this registration."""
    client = app.test_client()
    response = login(client, person_of(app, registration_id)["email"], PASSWORD)
    assert response.status_code == 302
    return client


def text_of(response) -> str:
    return response.get_data(as_text=True)


_FIELD_ERROR_RE = re.compile(r'<p class="field-error" role="alert"[^>]*>(.*?)</p>')
_CSRF_VALUE_RE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+(")')


def field_errors(response) -> list[str]:
    """The error messages shown under form fields."""
    return _FIELD_ERROR_RE.findall(text_of(response))


def stored_registration(app, registration_id: int) -> Registration:
    """The registration as committed (detached: its columns can be read after the context ends)."""
    with app.app_context():
        found = db.session.get(Registration, registration_id)
        db.session.expunge(found)
        return found


def without_csrf_tokens(html: str) -> str:
    """The page with its CSRF token values blanked: they differ on every render."""
    return _CSRF_VALUE_RE.sub(r"\1\2", html)


# --- accounts ---------------------------------------------------------------------------------

VALID_SIGNUP = {
    "name": "王喆",
    "phone": "13912345678",
    "email": "wangzhe@example.com",
    "password": "abcdefgh1",
    "confirm": "abcdefgh1",
}


def signup(client, **changes):
    """Fill in the sign-up form with valid data, changed by `changes`, and submit it."""
    return submit_form(client, "/account/signup", {**VALID_SIGNUP, **changes})


def find_user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def get_user(app, user_id: int) -> User:
    with app.app_context():
        return db.session.get(User, user_id)


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def set_active(app, user_id: int, active: bool) -> None:
    """What an operator does to block an account: flip is_active in the database."""
    with app.app_context():
        db.session.get(User, user_id).is_active = active
        db.session.commit()


# --- the outbox -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Email:
    """An outbox message as its reader gets it: composed, as the sender composes it."""

    id: int
    to_address: str
    template: str | None
    subject: str
    body_text: str
    attachments: list[dict]


def as_sent(message: OutboxMessage) -> Email:
    composed = compose(message)
    return Email(message.id, message.to_address, message.template, composed.subject, composed.body_text,
                 composed.attachments)


def outbox_emails() -> list[Email]:
    """Every queued message, composed (inside an app context)."""
    db.session.expire_all()
    return [as_sent(m) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def outbox_messages(app) -> list[Email]:
    with app.app_context():
        return outbox_emails()


# --- the JSON API -----------------------------------------------------------------------------

API = "/api/v1"


API_SIGNUP = {"email": "wangzhe@example.com", "password": "abcdefgh1", "name": "王喆", "phone": "13912345678"}


def api_signup(client, **changes):
    return client.post(f"{API}/auth/signup", json={**API_SIGNUP, **changes})


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


def api_book(client, session_id: int, headers: dict):
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


# --- the article editor -----------------------------------------------------------------------

EDITOR_FORM = {
    "title": "小红书种草的三个细节",
    "slug": "",
    "summary": "品牌做小红书，先想清楚这三件事。",
    "body": "## 先定人群\n\n笔记写给谁看，比写什么更重要。\n\n- 人群\n- 场景",
    "cover_image": "",
    "column_id": "0",
    "tags": "小红书、种草，运营",
    "seo_description": "",
    "author_name": "玺承集团",
    "publish_at": "",
}


def submit_editor(client, url: str, data: dict, form_page: str | None = None, **kwargs):
    """Post the editor as a browser does: multipart/form-data (the form carries the cover file)."""
    return submit_form(client, url, data, form_page=form_page, content_type="multipart/form-data", **kwargs)


_FIELD_BLOCK = re.compile(r'<div class="field(?: field-invalid)?">')


def field_errors_in(html: str, name: str) -> list[str]:
    """The error messages shown inside the form field named `name` (not elsewhere on the page)."""
    for block in _FIELD_BLOCK.split(html)[1:]:
        if f'name="{name}"' in block:
            return re.findall(r'<p class="field-error" role="alert">([^<]*)</p>', block)
    raise AssertionError(f"no field {name} on the page")


def editor_values(html: str) -> dict:
    """The editor's fields as the page shows them, as a browser would post them back."""
    values = dict(EDITOR_FORM)
    for name in ("title", "slug", "author_name", "tags", "cover_image", "base_revision", "publish_at"):
        match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
        value = re.search(r'value="([^"]*)"', match.group(0)) if match else None
        values[name] = _unescape(value.group(1)) if value else ""
    for name in ("summary", "body", "seo_description"):
        match = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
        values[name] = _unescape(match.group(1)) if match else ""
    selected = re.search(r'<select[^>]*name="column_id"[^>]*>.*?<option selected value="(\d+)"', html, re.S)
    values["column_id"] = selected.group(1) if selected else "0"
    return values


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'")
            .replace("&quot;", '"').replace("&amp;", "&"))


def only_article() -> Article:
    articles = db.session.scalars(db.select(Article)).all()
    assert len(articles) == 1, articles
    return articles[0]


def article_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Article))


# --- buffered view counts ---------------------------------------------------------------------

def flushed_counts(app) -> FlushReport:
    """Write the buffered views and card clicks now, as the flusher does every few seconds (tests
    run without the flusher thread): what a reader sees once it has run."""
    if has_app_context():
        report = flush_counts()
    else:
        with app.app_context():
            report = flush_counts()
            db.session.remove()
    assert not report.failed
    return report


# --- SQL statements ---------------------------------------------------------------------------

@contextmanager
def recorded_statements(app) -> Iterator[list[str]]:
    """The SQL statements run inside the block, in order. SQLite's BEGIN (a transaction start,
    emitted by app/common/db.py) is not a query and is left out."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement)

    if has_app_context():
        engine = db.engine
    else:
        with app.app_context():
            engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, url: str) -> list[str]:
    """The SQL statements of one GET, which must succeed."""
    with recorded_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return statements


# --- threads ----------------------------------------------------------------------------------

def run_together(app, calls: list[Callable[[], Any]], observe: Callable[[], Any] | None = None):
    """Run each call in its own thread and application context, all released at once.

    Returns the calls' results in order, and what `observe` returned each time it was called in
    a loop (in one more thread) while the calls ran. Fails the test if any call raised or hung.
    """
    barrier = threading.Barrier(len(calls) + (1 if observe else 0))
    finished = threading.Event()
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    observations: list[Any] = []

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            with app.app_context():  # its own session and connection
                barrier.wait(timeout=60)
                results[index] = call()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def observer() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=60)
                while True:
                    last_round = finished.is_set()
                    observations.append(observe())
                    db.session.rollback()  # the next look sees what was committed since
                    if last_round:
                        break
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n, call)) for n, call in enumerate(calls)]
    watcher = threading.Thread(target=observer) if observe else None
    for thread in threads + ([watcher] if watcher else []):
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    finished.set()
    if watcher:
        watcher.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads + ([watcher] if watcher else [])), "a thread hung"
    assert errors == [], [repr(error) for error in errors]
    return results, observations


# --- PDF files --------------------------------------------------------------------------------

# Real names with characters WenQuanYi Zen Hei lacks (𠮷 U+20BB7, 𡈼 U+2123C, 𪚥 U+2A6A5: CJK
# Extension B, plane 2) or that are rare in the BMP (䶮 U+4DAE in Extension A, 龘 U+9F98), and a
# name typed with combining marks (a Vietnamese name as macOS sends it, decomposed: NFD).
RARE_NAMES = ["王𠮷", "李䶮", "陈𡈼", "张龘", "𪚥", "Nguye\u0302\u0303n Thi\u0323 Ha\u0300"]
# CJK Extension I (Unicode 15.1, 2023): newer than every font installed; the tests check that none has it.
UNPRINTABLE = "\U0002EBF0"


def nfc(text: str) -> str:
    """Text compared as Unicode does: e + U+0301 is é (the PDF may draw the composed form)."""
    return unicodedata.normalize("NFC", text)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text().replace("\n", "")


def all_text(reader: PdfReader) -> str:
    return nfc("\n".join(page.extract_text() for page in reader.pages))


def fonts_used(reader: PdfReader) -> list:
    """Every font dictionary the pages use: their /Font resources, those of the forms they draw,
    and the descendant fonts of composite (Type0) fonts."""
    found, seen = [], set()

    def visit_resources(resources) -> None:
        resources = resources.get_object() if resources is not None else {}
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            if id(font) in seen:
                continue
            seen.add(id(font))
            found.append(font)
            for descendant in font.get("/DescendantFonts") or []:
                found.append(descendant.get_object())
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                visit_resources(xobject["/Resources"])

    for page in reader.pages:
        visit_resources(page.get("/Resources"))
    return found


def unembedded_fonts(reader: PdfReader) -> list[str]:
    """The /BaseFont of each font whose program is not in the file (a font a viewer must supply)."""
    missing = []
    for font in fonts_used(reader):
        if font.get("/Subtype") == "/Type0":
            continue  # its descendant is checked instead
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            missing.append(str(font.get("/BaseFont")))
    return missing


def assert_no_font_has(fonts: PdfFonts, char: str) -> None:
    """The test character really is in no installed font: checked against the fonts' own cmaps."""
    assert not any(fonts.has(name, char) for name in fonts.chain), f"U+{ord(char):04X} is in a font now"
