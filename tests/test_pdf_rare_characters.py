"""Rare characters in every PDF, through the entry points staff use: names such as 王𠮷 and 𪚥, course
titles and venues print whole on the certificate and the sign-in sheet, in embedded fonts; a
character no installed font has stops a certificate (unless staff give a reason) and is marked on
the sign-in sheet, never silently dropped."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.certificates import documents
from app.certificates import service as certificates
from app.certificates.errors import UnprintableCharacters
from app.certificates.models import Certificate
from app.common import fonts
from app.extensions import db
from tests.factories import DAYS, attend, cohort, issue, make_course, make_session, make_user, person_of, rename_person
from tests.helpers import (
    RARE_NAMES,
    UNPRINTABLE,
    all_text,
    assert_no_font_has,
    csrf_token_from,
    nfc,
    submit_form,
    unembedded_fonts,
)

REFUSAL = f"姓名中的「{UNPRINTABLE}」（U+2EBF0）无法打印在证书上"


def certificate_pdf(app, certificate_id: int) -> PdfReader:
    with app.app_context():
        data = documents.pdf_of(db.session.get(Certificate, certificate_id))
        db.session.remove()
    return PdfReader(io.BytesIO(data))


def test_the_character_used_for_unprintable_is_in_no_installed_font(ctx):
    assert_no_font_has(fonts.pdf_fonts(), UNPRINTABLE)


# --- certificates ---------------------------------------------------------------------------------

def test_rare_names_are_issued_without_a_reason_and_print_whole(app, staff):
    _session, registrations = cohort(app, staff, len(RARE_NAMES))
    for registration_id, name in zip(registrations, RARE_NAMES, strict=True):
        rename_person(app, registration_id, name)
    for registration_id, name in zip(registrations, RARE_NAMES, strict=True):
        reader = certificate_pdf(app, issue(app, registration_id, staff))
        assert nfc(name) in all_text(reader).replace("\n", "")
        assert unembedded_fonts(reader) == []


def test_a_name_no_font_can_print_is_refused_then_issued_with_a_reason(app, ctx, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    rename_person(app, registration_id, f"王{UNPRINTABLE}")
    actor = db.session.get(User, staff)

    with pytest.raises(UnprintableCharacters) as refused:
        certificates.issue_certificate(registration_id, actor)
    assert REFUSAL in str(refused.value.message) and "请填写原因" in str(refused.value.message)
    assert certificates.certificate_of(registration_id) is None

    certificate = certificates.issue_certificate(registration_id, actor, reason="本人确认，证书上手写补字")
    assert certificate.name == f"王{UNPRINTABLE}" and certificate.manual_reason == "本人确认，证书上手写补字"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.issue"))
    assert entry.after["unprintable"] == ["U+2EBF0"] and entry.note == "本人确认，证书上手写补字"
    reader = certificate_pdf(app, certificate.id)
    assert "王" in all_text(reader) and unembedded_fonts(reader) == []


def test_a_course_title_or_city_no_font_can_print_is_refused_too(app, ctx, staff):
    with app.app_context():
        course_id = make_course(title=f"电商{UNPRINTABLE}实战营", slug="unprintable-course")
        session_id = make_session(course_id, starts_at=datetime(2025, 9, 17, 1, tzinfo=UTC),
                                  ends_at=datetime(2025, 9, 19, 10, tzinfo=UTC), city=f"杭州{UNPRINTABLE}")
        student = make_user(app, "odd-course@example.com", Role.STUDENT, "王五", "13900000077")
        registration_id = booking.book_seat(db.session.get(User, student), session_id,
                                            now=datetime(2025, 8, 1, tzinfo=UTC)).registration.id
        db.session.remove()
    attend(app, registration_id, DAYS, staff)
    with pytest.raises(UnprintableCharacters) as refused:
        certificates.issue_certificate(registration_id, db.session.get(User, staff))
    message = str(refused.value.message)
    assert f"课程名称中的「{UNPRINTABLE}」（U+2EBF0）无法打印在证书上" in message
    assert f"地点中的「{UNPRINTABLE}」（U+2EBF0）" in message


def test_bulk_issuing_leaves_out_and_names_who_cannot_be_printed(app, ctx, staff):
    session_id, [plain, odd] = cohort(app, staff, 2)
    rename_person(app, odd, f"王{UNPRINTABLE}")
    report = certificates.issue_for_session(session_id, db.session.get(User, staff))
    assert len(report.issued) == 1 and report.unprintable == [f"王{UNPRINTABLE}"]
    assert certificates.certificate_of(plain) is not None and certificates.certificate_of(odd) is None


def test_reissue_to_a_name_no_font_can_print_is_refused(app, ctx, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    rename_person(app, registration_id, f"王{UNPRINTABLE}")
    with pytest.raises(UnprintableCharacters) as refused:
        certificates.reissue_certificate(certificate_id, db.session.get(User, staff))
    assert REFUSAL in str(refused.value.message)
    assert db.session.get(Certificate, certificate_id).name != f"王{UNPRINTABLE}"


def test_the_staff_page_refuses_and_then_issues_with_a_reason(app, staff, staff_client):
    session_id, [odd, plain] = cohort(app, staff, 2)
    rename_person(app, odd, f"王{UNPRINTABLE}")
    page = f"/staff/sessions/{session_id}/certificates"
    html = staff_client.get(page).get_data(as_text=True)
    warning = html.split('class="flash flash-warning cert-glyphs"', 1)[1].split("</div>", 1)[0]
    assert f"王{UNPRINTABLE}" in warning and REFUSAL in warning
    assert person_of(app, plain)["name"] not in warning
    # 一键颁发's script skips the row; the row offers issuing with a reason instead.
    assert f'data-issue-url="/staff/registrations/{odd}/certificate"' not in html
    assert f'data-issue-url="/staff/registrations/{plain}/certificate"' in html
    assert f'id="issue-reason-{odd}"' in html

    token = csrf_token_from(html)
    refused = staff_client.post(f"/staff/registrations/{odd}/certificate",
                                headers={"Accept": "application/json", "X-CSRFToken": token})
    assert refused.status_code == 422 and refused.json["code"] == "unprintable_characters"
    assert REFUSAL in refused.json["message"]

    done = submit_form(staff_client, f"/staff/registrations/{odd}/certificate", {"reason": "本人确认，手写补字"},
                       form_page=page, follow_redirects=True)
    assert "破例颁发：本人确认，手写补字" in done.get_data(as_text=True)
    with app.app_context():
        assert certificates.certificate_of(odd).manual_reason == "本人确认，手写补字"
        db.session.remove()


# --- the sign-in sheet ----------------------------------------------------------------------------

def test_the_signin_sheet_prints_rare_names_titles_and_venues_and_marks_what_it_cannot(app, staff_client):
    starts = datetime(2027, 9, 17, 1, tzinfo=UTC)
    names = [*RARE_NAMES, f"王{UNPRINTABLE}"]
    with app.test_request_context():
        course_id = make_course(title="𠮷祥䶮𪚥电商实战营", slug="rare-title")
        session_id = make_session(course_id, capacity=10, starts_at=starts, ends_at=starts + timedelta(days=1, hours=9),
                                  city="杭州", venue="𡈼园龘楼")
        for n, name in enumerate(names):
            user_id = make_user(app, f"rare{n}@example.com", Role.STUDENT, name, f"1390000{n:04d}")
            booking.book_seat(db.session.get(User, user_id), session_id, now=starts - timedelta(days=30))
        db.session.remove()

    response = staff_client.get(f"/staff/sessions/{session_id}/signin.pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.get_data()))
    text = all_text(reader)
    assert "《𠮷祥䶮𪚥电商实战营》签到表" in text and "𡈼园龘楼" in text
    for name in RARE_NAMES:
        assert nfc(name) in text
    assert unembedded_fonts(reader) == []
    # Only the row whose name has a character no font has carries the note, under that name.
    assert text.count("姓名含无法打印的字") == 1
    lines = text.splitlines()
    note = next(number for number, line in enumerate(lines) if "姓名含无法打印的字：U+2EBF0" in line)
    # The name's cell: 王, then the character as the font's .notdef glyph (pypdf reads NUL), then the note.
    assert lines[note - 1].startswith("王"), lines[note - 2:note + 1]


# --- the font settings ----------------------------------------------------------------------------

HANAMIN_B = "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"


def test_configured_fallback_fonts_come_before_the_system_ones(app, monkeypatch):
    assert Path(HANAMIN_B).is_file(), "fonts-hanazono is installed by scripts/bootstrap.sh"
    monkeypatch.setitem(app.config, "PDF_FALLBACK_FONT_PATHS", [HANAMIN_B, "/nowhere/missing.ttf"])
    with app.app_context():
        chain = fonts.pdf_fonts()
    assert chain.main == "CJK-wqy-zenhei"  # still the system font: PDF_FONT_PATH is unset
    assert chain.fallbacks[0] == "CJK-HanaMinB"  # the missing file is left out, with a logged error
    assert chain.runs("王𠮷") == [(chain.main, "王"), ("CJK-HanaMinB", "𠮷")]


def test_fallback_fonts_are_read_only_when_a_character_needs_them(ctx):
    """Hanazono Mincho takes about 90 MB once read: a process printing only common names never reads it."""
    main = fonts.pdf_fonts().main
    chain = fonts.PdfFonts(main, [("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", None), (HANAMIN_B, None)])
    assert chain.runs("王五 张喆 李堃") == [(main, "王五 张喆 李堃")] and chain.missing("买买提·艾力") == []
    assert chain.loaded_fallbacks == ()
    assert chain.runs("王𠮷") == [(main, "王"), ("CJK-HanaMinA", "𠮷")]
    assert chain.loaded_fallbacks == ("CJK-HanaMinA",)
    assert chain.missing("𪛖") == [] and chain.loaded_fallbacks == ("CJK-HanaMinA", "CJK-HanaMinB")
