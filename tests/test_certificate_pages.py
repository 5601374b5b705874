"""The certificate pages a student and the public use: downloading one's own 结业证书, the
public verification page (by the QR code's link or a typed serial), the link in 我的报名; and
who may open every certificate page."""
from __future__ import annotations

import re

import pytest

from app.certificates.models import Certificate
from app.certificates.service import find_for_verification
from app.extensions import db
from tests.factories import DAYS, attend, cohort, finished_cohort, issue, person_of, revoke
from tests.helpers import client_of, csrf_token_from, outbox_messages, pdf_text, submit_form


def _certificate(app, certificate_id: int) -> dict:
    with app.app_context():
        certificate = db.session.get(Certificate, certificate_id)
        found = {"serial": certificate.serial, "token": certificate.verify_token, "session_id":
                 certificate.registration.session_id, "registration_id": certificate.registration_id}
        db.session.remove()
    return found


# --- who may open what ------------------------------------------------------------------------

STAFF_GETS = ["/staff/sessions/{session}/certificates", "/staff/sessions/{session}/certificates.zip"]
STAFF_POSTS = ["/staff/sessions/{session}/certificates/issue", "/staff/registrations/{registration}/certificate",
               "/staff/certificates/{certificate}/revoke", "/staff/certificates/{certificate}/reissue"]


@pytest.fixture
def issued(app, staff):
    session_id, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    return {"session": session_id, "registration": registration_id, "certificate": certificate_id}


def test_anonymous_visitors_are_sent_to_login_for_staff_pages_and_downloads(app, client, issued):
    for url in [*STAFF_GETS, "/me/certificates/{certificate}"]:
        response = client.get(url.format(**issued))
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url
    # A real CSRF token, so that only the login rule can say no.
    token = csrf_token_from(client.get("/account/login").get_data(as_text=True))
    for url in STAFF_POSTS:
        response = client.post(url.format(**issued), data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url


def test_students_get_403_on_every_staff_route(app, student_client, issued):
    for url in STAFF_GETS:
        assert student_client.get(url.format(**issued)).status_code == 403, url
    token = csrf_token_from(student_client.get("/me/registrations").get_data(as_text=True))
    for url in STAFF_POSTS:
        response = student_client.post(url.format(**issued), data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 403, url
    assert db_status(app, issued["certificate"]) == "valid"  # the revoke attempt changed nothing


def db_status(app, certificate_id: int) -> str:
    with app.app_context():
        status = db.session.get(Certificate, certificate_id).status.value
        db.session.remove()
    return status


@pytest.mark.parametrize("who", ["staff_client", "admin_client"])
def test_staff_and_admins_open_the_session_page_and_the_zip(request, issued, who):
    client = request.getfixturevalue(who)
    assert client.get(STAFF_GETS[0].format(**issued)).status_code == 200
    response = client.get(STAFF_GETS[1].format(**issued))
    assert response.status_code == 200 and response.mimetype == "application/zip"


def test_verification_needs_no_login(app, client, issued):
    certificate = _certificate(app, issued["certificate"])
    assert client.get("/verify").status_code == 200
    assert client.get(f"/verify/{certificate['token']}").status_code == 200
    assert client.get("/verify", query_string={"serial": certificate["serial"]}).status_code == 200


# --- the student's download ---------------------------------------------------------------------

def test_a_student_downloads_their_own_certificate_as_a_pdf(app, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    serial = _certificate(app, certificate_id)["serial"]
    client = client_of(app, registration_id)

    response = client.get(f"/me/certificates/{certificate_id}")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline") and serial in disposition
    assert "private" in response.headers["Cache-Control"]
    text = pdf_text(response.data)
    assert person_of(app, registration_id)["name"] in text and serial in text
    assert "快速玩转小红书成长特训营" in text


def test_another_persons_certificate_is_not_found(app, staff):
    _session, [mine, theirs] = cohort(app, staff, 2)
    issue(app, mine, staff)
    their_certificate = issue(app, theirs, staff)
    client = client_of(app, mine)
    assert client.get(f"/me/certificates/{their_certificate}").status_code == 404
    assert client.get("/me/certificates/999999").status_code == 404


def test_a_revoked_certificate_cannot_be_downloaded_and_says_why(app, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    revoke(app, certificate_id, staff, "代签到，经核实未到场")
    client = client_of(app, registration_id)

    response = client.get(f"/me/certificates/{certificate_id}")

    html = response.get_data(as_text=True)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "已撤销" in html and "代签到，经核实未到场" in html


def test_my_registrations_links_to_a_valid_certificate_only(app, staff):
    _session, [valid, revoked, none] = cohort(app, staff, 3)
    valid_id = issue(app, valid, staff)
    revoked_id = issue(app, revoked, staff)
    revoke(app, revoked_id, staff)

    page = client_of(app, valid).get("/me/registrations").get_data(as_text=True)
    assert "下载结业证书" in page and f'href="/me/certificates/{valid_id}"' in page

    for registration_id in (revoked, none):
        page = client_of(app, registration_id).get("/me/registrations").get_data(as_text=True)
        assert "我的报名" in page and "下载结业证书" not in page and "/me/certificates/" not in page


# --- public verification ------------------------------------------------------------------------

def _assert_shows_certificate(html: str, app, registration_id: int, serial: str) -> None:
    student = person_of(app, registration_id)
    assert student["name"] in html and serial in html
    assert "快速玩转小红书成长特训营" in html
    assert "2025年9月17日 – 2025年9月19日" in html  # the study dates (Shanghai)
    assert "24 学时" in html and "杭州" in html
    # Nothing private: no phone, no email, no account id in links.
    assert student["phone"] not in html and student["email"] not in html
    assert f"/staff/registrations/{registration_id}" not in html


def test_the_qr_link_shows_a_valid_certificate_without_private_data(app, client, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate = _certificate(app, issue(app, registration_id, staff))

    response = client.get(f"/verify/{certificate['token']}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "有效" in html and "已撤销" not in html
    _assert_shows_certificate(html, app, registration_id, certificate["serial"])


def test_a_typed_serial_finds_the_certificate_in_any_case(app, client, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate = _certificate(app, issue(app, registration_id, staff))

    response = client.get("/verify", query_string={"serial": " " + certificate["serial"].lower() + " "})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "有效" in html
    _assert_shows_certificate(html, app, registration_id, certificate["serial"])
    assert certificate["token"] not in html  # the typed serial does not reveal the QR code's key


def _typings(serial: str) -> list[str]:
    """How people type a serial read off paper or a phone photo (XC2025-0002-0017)."""
    year, session, number = serial.removeprefix("XC").split("-")
    fullwidth = str.maketrans("XC0123456789-", "ＸＣ０１２３４５６７８９－")
    return [
        f"xc{year} {session} {number}",                 # lower case, spaces for dashes
        f"XC{year}{session}{number}",                   # no dashes at all
        f"  XC {year} - {session} - {number}\u3000",    # spaces around, an ideographic space
        serial.translate(fullwidth),                    # a Chinese input method's full-width characters
        f"XC{year}—{session}‐{number}",                 # an em dash and a Unicode hyphen
        f"XC{year}－{session}－{number}",               # full-width hyphen-minus only
        f"Xc{year}\u200b-{session}-{number}\ufeff",     # a zero-width space and a BOM from a copy
    ]


def test_a_serial_typed_as_people_type_it_is_found_and_shown_normalised(app, client, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate = _certificate(app, issue(app, registration_id, staff))
    for typed in _typings(certificate["serial"]):
        response = client.get("/verify", query_string={"serial": typed})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "有效" in html, typed
        assert f'value="{certificate["serial"]}"' in html, typed  # the box shows the serial as read


def test_an_unknown_serial_typed_loosely_is_shown_back_normalised(client):
    response = client.get("/verify", query_string={"serial": "xc2025 9999 0001"})
    assert response.status_code == 404
    assert "没有编号为 XC2025-9999-0001 的证书" in response.get_data(as_text=True)
    for junk in ("𠮷䶮喆堃", "XC2025-0001", "XC" + "9" * 62):
        response = client.get("/verify", query_string={"serial": junk})
        assert response.status_code == 404 and "未找到该证书" in response.get_data(as_text=True), junk
    response = client.get("/verify", query_string={"serial": "\x00" * 40})  # no person types a NUL
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)


def test_a_serial_with_a_five_digit_session_id_is_found_without_dashes(app, staff):
    """XC2025123450017 could be session 1234 or 12345: every split is tried, the real one is found."""
    _session, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    with app.app_context():
        db.session.get(Certificate, certificate_id).serial = "XC2025-12345-0017"
        db.session.commit()
        assert find_for_verification("xc2025123450017").id == certificate_id
        assert find_for_verification("XC2025 12345 0017").id == certificate_id
        assert find_for_verification("XC2025123450018") is None
        db.session.remove()


def test_a_revoked_certificate_shows_as_revoked_without_the_private_reason(app, client, staff):
    _session, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    revoke(app, certificate_id, staff, "内部原因：代签到")
    certificate = _certificate(app, certificate_id)

    for response in (client.get(f"/verify/{certificate['token']}"),
                     client.get("/verify", query_string={"serial": certificate["serial"]})):
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "已撤销" in html and "撤销，不再有效" in html
        assert "内部原因" not in html and "代签到" not in html


def test_an_unknown_certificate_is_a_clear_404(client):
    for response in (client.get("/verify", query_string={"serial": "XC2025-9999-0001"}),
                     client.get("/verify/not-a-real-token-at-all")):
        assert response.status_code == 404
        assert "未找到该证书" in response.get_data(as_text=True)


def test_the_qr_link_accepts_only_the_token_not_a_serial(app, client, staff):
    """Serials are guessable; the unthrottled link must not look them up."""
    _session, [registration_id] = cohort(app, staff, 1)
    certificate = _certificate(app, issue(app, registration_id, staff))
    assert client.get(f"/verify/{certificate['serial']}").status_code == 404


def test_typed_serial_lookups_are_rate_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_VERIFY", "3 per minute")
    statuses = [client.get("/verify", query_string={"serial": f"XC2025-0001-{n:04d}"}).status_code
                for n in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert client.get("/verify").status_code == 200  # the empty form is not counted


def test_staff_issue_reaches_the_student_through_the_site(app, staff, staff_client):
    """End to end: staff issue from the page, the student downloads from 我的报名."""
    session_id, [registration_id] = cohort(app, staff, 1)
    url = f"/staff/registrations/{registration_id}/certificate"
    response = submit_form(staff_client, url, {}, form_page=f"/staff/sessions/{session_id}/certificates")
    assert response.status_code == 302
    page = client_of(app, registration_id).get("/me/registrations").get_data(as_text=True)
    assert "下载结业证书" in page


# --- what a certificate issued by exception says --------------------------------------------------

def test_a_certificate_issued_by_exception_does_not_claim_the_whole_course(app, staff, staff_client):
    """破例颁发 to someone who came 2 of 3 days: the PDF and the email say they took part and were
    approved, not 完成全部课程; the one who came every day still reads 完成全部课程."""
    session_id, [every_day, two_days] = cohort(app, staff, 2, attending=1)
    attend(app, two_days, DAYS[:2], staff)
    issue(app, every_day, staff)
    submit_form(staff_client, f"/staff/registrations/{two_days}/certificate", {"reason": "因病缺课一天，已补课"},
                form_page=f"/staff/sessions/{session_id}/certificates")

    def pdf_of(registration_id: int) -> str:
        client = client_of(app, registration_id)
        [link] = re.findall(r'href="(/me/certificates/\d+)"', client.get("/me/registrations").get_data(as_text=True))
        return pdf_text(client.get(link).data)

    exception_pdf = pdf_of(two_days)
    assert "完成全部课程" not in exception_pdf
    assert ("于 2025年9月17日 至 2025年9月19日 参加《快速玩转小红书成长特训营》课程学习（课程共计 24 学时），"
            "经主办方审核，准予结业。") in exception_pdf
    assert "因病" not in exception_pdf  # staff's reason stays private
    assert "完成全部课程，共计 24 学时，准予结业。" in pdf_of(every_day)

    emails = {message.to_address: message.body_text for message in outbox_messages(app)
              if message.subject.startswith("结业证书已颁发")}
    exception_email = emails[person_of(app, two_days)["email"]]
    assert "全部课程" not in exception_email and "经主办方审核" in exception_email
    assert "全部课程" in emails[person_of(app, every_day)["email"]]


def test_a_certificate_earned_under_a_minimum_of_days_does_not_claim_every_day(app, staff):
    """The course asks for 2 of 3 days: whoever qualifies reads 出勤达到结业要求, not 完成全部课程,
    on the PDF and in the email, even the one who came every day (the sentence states the rule met)."""
    _session_id, [two_days, every_day] = finished_cohort(app, 2, min_days=2)
    attend(app, two_days, DAYS[:2], staff)
    attend(app, every_day, DAYS, staff)
    for registration_id in (two_days, every_day):
        issue(app, registration_id, staff)
        client = client_of(app, registration_id)
        [link] = re.findall(r'href="(/me/certificates/\d+)"', client.get("/me/registrations").get_data(as_text=True))
        text = pdf_text(client.get(link).data)
        assert "完成全部课程" not in text
        assert ("于 2025年9月17日 至 2025年9月19日 参加《快速玩转小红书成长特训营》课程学习（课程共计 24 学时），"
                "出勤达到结业要求，准予结业。") in text
    for message in outbox_messages(app):
        if message.subject.startswith("结业证书已颁发"):
            assert "全部课程" not in message.body_text and "出勤达到结业要求" in message.body_text
