"""Roster exports, through the URLs staff use: who may download them, and that the CSV, the XLSX
and the printed sign-in sheet say the right things in Chinese (statuses, Shanghai times, waitlist
positions, ticket codes, attendance), including names with characters the main PDF font lacks."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app.accounts.models import Role, User
from app.booking import service as booking
from app.booking.models import Registration, RegistrationStatus
from app.common import fonts
from app.extensions import db
from app.roster import service as roster
from tests.factories import make_session, make_user
from tests.helpers import recorded_statements, unembedded_fonts

TITLE = "快速玩转小红书成长特训营"
# 2027-09-17 09:00 to 2027-09-19 18:00 in Shanghai: three days to sign for.
STARTS = datetime(2027, 9, 17, 1, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 19, 10, 0, tzinfo=UTC)
BOOKED = datetime(2027, 8, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
RARE = "王𠮷"  # 𠮷 is U+20BB7, outside the BMP and missing from WenQuanYi Zen Hei
HEADER = ["姓名", "手机号", "邮箱", "状态", "候补顺位", "报名时间", "来源", "团体报名", "票码",
          "应付金额", "已付金额", "已退金额", "支付状态", "9月17日 签到", "9月18日 签到", "9月19日 签到"]
FREE = ["", "", "", ""]  # a free session's registrations: no money columns filled
ROUTES = ("csv", "xlsx", "signin.pdf")
BOM = b"\xef\xbb\xbf"


def url(session_id: int, what: str) -> str:
    return f"/staff/sessions/{session_id}/{what if what == 'signin.pdf' else 'roster.' + what}"


@pytest.fixture
def session_id(app) -> int:
    with app.app_context():
        session_id = make_session(capacity=3, starts_at=STARTS, ends_at=ENDS, label="第12期", city="杭州",
                                  venue="玺承集团培训中心", address="西湖区文三路 478 号")
        db.session.remove()
    return session_id


@pytest.fixture
def roster_data(app, session_id, staff) -> dict:
    """Three confirmed (王𠮷, 张喆, 陈一), two waiting (黄三, 周四: positions 1 and 2 once 林二, who
    waited first, cancelled) and 林二 cancelled; 王𠮷 checked in on the first and last day."""
    people = [  # name, phone, source, minutes after BOOKED
        (RARE, "13800138000", "web", 0),
        ("张喆", "13800138001", "api", 5),
        ("陈一", "13800138002", "article:7", 10 * 60 + 30),  # 2027-08-01 22:30 in Shanghai
        ("林二", "13800138003", "web", 14 * 60),  # 2027-08-02 02:00 in Shanghai: the day after, there
        ("黄三", "13800138004", "web", 15 * 60),
        ("周四", "13800138005", "staff", 16 * 60),
    ]
    ids = {}
    with app.test_request_context():
        for n, (name, phone, source, minutes) in enumerate(people):
            user_id = make_user(app, f"p{n}@example.com", Role.STUDENT, name, phone)
            outcome = booking.book_seat(db.session.get(User, user_id), session_id, source=source,
                                        now=BOOKED + timedelta(minutes=minutes))
            ids[name] = outcome.registration.id
        actor = db.session.get(User, staff)
        booking.cancel_registration(ids["林二"], actor, by_staff=True, now=BOOKED + timedelta(days=1))
        roster.set_attendance(ids[RARE], date(2027, 9, 17), True, actor)
        roster.set_attendance(ids[RARE], date(2027, 9, 19), True, actor)
        codes = {name: db.session.get(Registration, rid).ticket_code for name, rid in ids.items()}
        statuses = {name: db.session.get(Registration, rid).status for name, rid in ids.items()}
        db.session.remove()
    assert statuses["黄三"] is RegistrationStatus.WAITLISTED and statuses["林二"] is RegistrationStatus.CANCELLED
    return {"ids": ids, "codes": codes}


def dashed(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def expected_rows(codes: dict) -> list[list[str]]:
    rows = [  # name, phone, email, status, position, booked at (Shanghai), source, attendance
        (RARE, "13800138000", "p0@example.com", "已确认", "", "2027-08-01 12:00", "网站", ["✓", "", "✓"]),
        ("张喆", "13800138001", "p1@example.com", "已确认", "", "2027-08-01 12:05", "API（小程序）", ["", "", ""]),
        ("陈一", "13800138002", "p2@example.com", "已确认", "", "2027-08-01 22:30", "文章 #7", ["", "", ""]),
        ("黄三", "13800138004", "p4@example.com", "候补", "1", "2027-08-02 03:00", "网站", ["", "", ""]),
        ("周四", "13800138005", "p5@example.com", "候补", "2", "2027-08-02 04:00", "工作人员添加", ["", "", ""]),
        ("林二", "13800138003", "p3@example.com", "已取消", "", "2027-08-02 02:00", "网站", ["", "", ""]),
    ]
    return [[*row[:7], "", dashed(codes[row[0]]), *FREE, *row[7]] for row in rows]


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- who may download ------------------------------------------------------------------------

@pytest.mark.parametrize("what", ROUTES)
def test_anonymous_visitors_are_sent_to_login(client, session_id, what):
    response = client.get(url(session_id, what))
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("what", ROUTES)
def test_students_are_refused(student_client, session_id, what):
    assert student_client.get(url(session_id, what)).status_code == 403


@pytest.mark.parametrize("what", ROUTES)
@pytest.mark.parametrize("role_client", ["staff_client", "admin_client"])
def test_staff_and_admins_download(request, session_id, what, role_client):
    response = request.getfixturevalue(role_client).get(url(session_id, what))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("what", ROUTES)
def test_unknown_session_is_not_found(staff_client, what):
    assert staff_client.get(url(999_999, what)).status_code == 404




# --- CSV -------------------------------------------------------------------------------------

def test_csv_has_bom_header_and_every_registration(staff_client, session_id, roster_data):
    response = staff_client.get(url(session_id, "csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    rows = read_csv(response)
    assert rows[0] == HEADER
    assert rows[1:] == expected_rows(roster_data["codes"])


def test_csv_filename_is_chinese(staff_client, session_id, roster_data):
    disposition = staff_client.get(url(session_id, "csv")).headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote(f'{TITLE}-第12期-2027-09-17-名单.csv')}" in disposition
    assert f'filename="roster-{session_id}.csv"' in disposition


@pytest.mark.parametrize(("status", "names"), [
    ("confirmed", [RARE, "张喆", "陈一"]),
    ("waitlisted", ["黄三", "周四"]),
    ("cancelled", ["林二"]),
    ("all", [RARE, "张喆", "陈一", "黄三", "周四", "林二"]),
    ("paid", [RARE, "张喆", "陈一", "黄三", "周四", "林二"]),  # unknown: everyone, as on the roster page
])
def test_csv_status_filter(staff_client, session_id, roster_data, status, names):
    rows = read_csv(staff_client.get(url(session_id, "csv") + f"?status={status}"))
    assert [row[0] for row in rows[1:]] == names
    if status == "waitlisted":
        assert [row[4] for row in rows[1:]] == ["1", "2"]  # positions, not the raw numbers 2 and 3


def test_csv_spans_several_batches(staff_client, session_id, roster_data, monkeypatch):
    """Rows and attendance fetched batch by batch give the same file as one batch."""
    from app.roster import exports

    whole = staff_client.get(url(session_id, "csv")).get_data()
    original = exports.roster_batches
    monkeypatch.setattr(exports, "roster_batches",
                        lambda camp, status=None, columns=None: original(camp, status, batch_size=2, columns=columns))
    assert staff_client.get(url(session_id, "csv")).get_data() == whole


def test_names_are_never_run_as_formulas(app, staff_client, session_id):
    with app.test_request_context():
        user_id = make_user(app, "formula@example.com", Role.STUDENT, '=HYPERLINK("http://x","点我")', "13900000009")
        booking.book_seat(db.session.get(User, user_id), session_id, now=BOOKED)
        db.session.remove()
    rows = read_csv(staff_client.get(url(session_id, "csv")))
    assert rows[1][0] == '\'=HYPERLINK("http://x","点我")'
    sheet = load_workbook(io.BytesIO(staff_client.get(url(session_id, "xlsx")).get_data())).active
    cell = sheet["A2"]
    assert cell.value == '=HYPERLINK("http://x","点我")' and cell.data_type == "s"


# --- XLSX ------------------------------------------------------------------------------------

def test_xlsx_has_the_same_rows(staff_client, session_id, roster_data):
    response = staff_client.get(url(session_id, "xlsx"))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert quote(f"{TITLE}-第12期-2027-09-17-名单.xlsx") in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER
    assert values[1:] == expected_rows(roster_data["codes"])
    assert sheet["E5"].value == 1  # a waitlist position is a number, not text
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width == 28


def test_xlsx_status_filter(staff_client, session_id, roster_data):
    response = staff_client.get(url(session_id, "xlsx") + "?status=waitlisted")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["黄三", "周四"]


# --- PDF sign-in sheet ----------------------------------------------------------------------

def pdf_of(response) -> PdfReader:
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.get_data()))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts_of(reader: PdfReader) -> list:
    return [ref.get_object() for page in reader.pages for ref in page["/Resources"]["/Font"].values()]


def test_signin_sheet_lists_confirmed_people_with_a_box_per_day(staff_client, session_id, roster_data):
    response = staff_client.get(url(session_id, "signin.pdf"))
    reader = pdf_of(response)
    assert quote(f"{TITLE}-第12期-2027-09-17-签到表.pdf") in response.headers["Content-Disposition"]
    text = text_of(reader)
    assert f"《{TITLE}》签到表" in text
    assert "2027年9月17日—9月19日（3天）" in text and "玺承集团培训中心" in text
    for heading in ("9月17日 签到", "9月18日 签到", "9月19日 签到"):
        assert text.count(heading) == len(reader.pages)  # the heading repeats on every page
    assert "9月20日" not in text
    for name, phone in (("张喆", "13800138001"), ("陈一", "13800138002")):
        assert name in text and phone in text
    assert "已确认 3 人" in text
    for absent in ("林二", "黄三", "周四"):  # cancelled, waitlisted
        assert absent not in text


def test_signin_sheet_is_for_confirmed_people_whatever_the_filter(staff_client, session_id, roster_data):
    text = text_of(pdf_of(staff_client.get(url(session_id, "signin.pdf") + "?status=cancelled")))
    assert "张喆" in text and "林二" not in text


def test_signin_sheet_embeds_its_cjk_font(app, staff_client, session_id, roster_data):
    with app.app_context():
        main = fonts.pdf_fonts().main
    if not fonts.is_embedded(main):
        pytest.skip("no TrueType CJK font on this machine (the CID fallback is not embedded)")
    reader = pdf_of(staff_client.get(url(session_id, "signin.pdf")))
    embedded = [font for font in fonts_of(reader)
                if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"]]
    face = fonts.pdfmetrics.getFont(main).face.name.decode()  # WenQuanYiZenHei
    # Subsets of it: /AAAAAA+WenQuanYiZenHei-0, /AAAAAB+WenQuanYiZenHei-1 ...
    assert any(font["/BaseFont"].partition("+")[2].startswith(face + "-") for font in embedded)


def test_signin_sheet_draws_a_character_the_main_font_lacks_with_the_fallback(app, staff_client, session_id,
                                                                              roster_data):
    with app.app_context():
        pdf_fonts = fonts.pdf_fonts()
    assert not fonts.has_glyph(pdf_fonts.main, "𠮷") and fonts.has_glyph(pdf_fonts.main, "王")
    assert pdf_fonts.runs(RARE)[-1] == (pdf_fonts.font_for("𠮷"), "𠮷")
    assert fonts.is_embedded(pdf_fonts.font_for("𠮷"))  # Hanazono Mincho, not a font the viewer supplies
    reader = pdf_of(staff_client.get(url(session_id, "signin.pdf")))
    assert RARE in text_of(reader)  # not dropped, not a box, not a wrong character
    assert unembedded_fonts(reader) == []
    assert "姓名含无法打印的字" not in text_of(reader)


def test_long_names_wrap_inside_their_cell(app, staff_client, session_id):
    long_name = "阿卜杜热合曼·买买提江·艾合买提·阿不都拉"
    with app.test_request_context():
        user_id = make_user(app, "long@example.com", Role.STUDENT, long_name, "13900000008")
        booking.book_seat(db.session.get(User, user_id), session_id, now=BOOKED)
        db.session.remove()
    lines = text_of(pdf_of(staff_client.get(url(session_id, "signin.pdf")))).splitlines()
    name_lines = [line for line in lines if "阿卜杜" in line or "阿不都拉" in line]
    assert len(name_lines) == 2  # wrapped onto a second line inside its cell, nothing cut off
    assert long_name in "".join(lines)


def test_empty_session_prints_an_empty_sheet(staff_client, session_id):
    text = text_of(pdf_of(staff_client.get(url(session_id, "signin.pdf"))))
    assert "暂无已确认的学员" in text and "已确认 0 人" in text


def test_a_long_sheet_runs_over_pages_with_everyone_once(app, staff_client, session_id, roster_data):
    """Forty people: several pages, every confirmed person on exactly one of them."""
    with app.test_request_context():
        camp_id = make_session(capacity=40, starts_at=STARTS, ends_at=ENDS)
        for n in range(40):
            user_id = make_user(app, f"bulk{n}@example.com", Role.STUDENT, f"学员{n:02d}", f"1370000{n:04d}")
            booking.book_seat(db.session.get(User, user_id), camp_id, now=BOOKED)
        db.session.remove()
    reader = pdf_of(staff_client.get(url(camp_id, "signin.pdf")))
    assert len(reader.pages) >= 2
    text = text_of(reader)
    for n in range(40):
        assert text.count(f"学员{n:02d}") == 1 and f"1370000{n:04d}" in text


# --- the font helper -----------------------------------------------------------------------

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.mark.skipif(not (Path(DEJAVU).is_file() and Path(fonts.SYSTEM_CJK_FONTS[0]).is_file()),
                    reason="needs DejaVu Sans and WenQuanYi Zen Hei")
def test_fallback_chain_picks_the_first_font_that_has_each_character():
    """A Latin-only main font (as PDF_FONT_PATH): Chinese falls back to the system CJK font, and
    what it lacks to Hanazono Mincho, keeping every character; no CID font once TrueType fonts are there."""
    chain = fonts.load_pdf_fonts(DEJAVU)
    assert chain.main == "CJK-DejaVuSans"
    assert chain.fallbacks[:3] == ("CJK-wqy-zenhei", "CJK-HanaMinA", "CJK-HanaMinB")
    assert fonts.CID_FONT not in chain.chain
    assert chain.runs("Li 王𠮷") == [("CJK-DejaVuSans", "Li "), ("CJK-wqy-zenhei", "王"), ("CJK-HanaMinA", "𠮷")]
    assert chain.markup("A&王") == 'A&amp;<font name="CJK-wqy-zenhei">王</font>'
    assert fonts.load_pdf_fonts(DEJAVU) is chain  # registered once per process


def test_an_unusable_configured_font_falls_back_to_system_fonts(tmp_path, caplog):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    chain = fonts.load_pdf_fonts(str(broken))
    assert chain.main != "CJK-broken"
    assert "PDF_FONT_PATH" in caplog.text and "left out" in caplog.text


def test_configured_font_path_is_used_first(app, monkeypatch):
    if not Path(DEJAVU).is_file():
        pytest.skip("needs DejaVu Sans")
    monkeypatch.setitem(app.config, "PDF_FONT_PATH", DEJAVU)
    with app.app_context():
        assert fonts.pdf_fonts().main == "CJK-DejaVuSans"


@pytest.mark.parametrize(("batch_size", "selects"), [(500, 6), (4, 7), (2, 8)])
def test_one_query_for_the_rows_and_one_per_batch_for_attendance(app, session_id, roster_data, batch_size,
                                                                 selects):
    """The rows come from one streamed SELECT read in batches; each batch adds one attendance
    SELECT, however many rows it holds (never a query per row). Two more name the sources once:
    the session's distinct sources, then the titles of their articles; two more find the answer
    columns (the questions asked, the others answered: none here, so no batch reads answers)."""

    from app.roster import exports

    with app.test_request_context():
        camp = exports.session_for_export(session_id)
        with recorded_statements(app) as statements:
            rows = [row for batch in exports.roster_batches(camp, batch_size=batch_size) for row in batch]
        db.session.remove()
    assert len(rows) == 6
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == selects
