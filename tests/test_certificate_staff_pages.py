"""The staff certificates page of a session: who qualifies, 一键颁发 (the no-JavaScript form and
the per-registration JSON endpoint its script uses), issuing by hand with a reason, revoking,
re-issuing after a name correction, names the certificate fonts cannot draw, the zip."""
from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import select

from app.accounts.models import User
from app.booking import service as booking
from app.certificates.models import Certificate, CertificateStatus
from app.extensions import db
from tests.factories import cohort, issue, person_of, rename_person, revoke
from tests.helpers import csrf_token_from, pdf_text, submit_form


def page_url(session_id: int) -> str:
    return f"/staff/sessions/{session_id}/certificates"


def certificates_by_registration(app) -> dict[int, dict]:
    with app.app_context():
        found = {c.registration_id: {"id": c.id, "serial": c.serial, "status": c.status, "name": c.name,
                                     "manual_reason": c.manual_reason, "revoked_reason": c.revoked_reason}
                 for c in db.session.scalars(select(Certificate))}
        db.session.remove()
    return found


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', html, re.S))


# --- the page -----------------------------------------------------------------------------------

def test_the_page_lists_each_confirmed_person_with_attendance_and_certificate(app, staff, staff_client):
    session_id, [issued, qualifies, absent] = cohort(app, staff, 3, attending=2)
    issue(app, issued, staff)
    serial = certificates_by_registration(app)[issued]["serial"]

    html = staff_client.get(page_url(session_id)).get_data(as_text=True)

    for registration_id in (issued, qualifies, absent):
        assert person_of(app, registration_id)["name"] in html
    assert serial in html and "有效" in html
    assert html.count("出勤 3 / 3 天") == 2 and "出勤 0 / 3 天" in html
    assert html.count('<span class="muted">未颁发</span>') == 2
    assert "破例颁发" in html  # for the one who did not attend
    assert f'data-issue-url="/staff/registrations/{qualifies}/certificate"' in html  # what the script will issue
    assert f'data-issue-url="/staff/registrations/{absent}/certificate"' not in html
    assert "js/certificates.js" in html


def test_names_no_font_can_draw_are_listed_before_issuing(app, staff, staff_client):
    session_id, [odd, plain] = cohort(app, staff, 2)
    rename_person(app, odd, "王\ue000明")  # a private-use character: no font has it

    html = staff_client.get(page_url(session_id)).get_data(as_text=True)

    warning = html.split('class="flash flash-warning cert-glyphs"', 1)[1].split("</div>", 1)[0]
    assert "王\ue000明" in warning and person_of(app, plain)["name"] not in warning


def test_the_roster_links_to_the_certificates_page(app, staff, staff_client):
    session_id, _registrations = cohort(app, staff, 1)
    html = staff_client.get(f"/staff/sessions/{session_id}/roster").get_data(as_text=True)
    assert f'href="{page_url(session_id)}"' in html and "结业证书" in html


# --- 一键颁发 -------------------------------------------------------------------------------------

def test_bulk_issue_without_javascript_issues_to_all_who_qualify_and_names_the_rest(app, staff, staff_client):
    session_id, registrations = cohort(app, staff, 4, attending=3)
    already = issue(app, registrations[0], staff)

    response = submit_form(staff_client, f"{page_url(session_id)}/issue", {}, form_page=page_url(session_id))

    assert response.status_code == 302 and response.headers["Location"].endswith(page_url(session_id))
    issued = certificates_by_registration(app)
    assert set(issued) == set(registrations[:3]) and issued[registrations[0]]["id"] == already
    messages = flashes(staff_client.get(page_url(session_id)).get_data(as_text=True))
    assert "已颁发 2 张结业证书；此前已颁发 1 张" in messages
    assert "未满足结业条件（1 人）" in messages and person_of(app, registrations[3])["name"] in messages


def test_the_per_registration_endpoint_answers_json_for_the_progress_bar(app, staff, staff_client):
    session_id, [qualifies, absent, cancelled] = cohort(app, staff, 3, attending=1)
    with app.app_context():
        booking.cancel_registration(cancelled, db.session.get(User, staff), by_staff=True)
        db.session.remove()
    token = csrf_token_from(staff_client.get(page_url(session_id)).get_data(as_text=True))

    def post(registration_id: int):
        return staff_client.post(f"/staff/registrations/{registration_id}/certificate",
                                 headers={"Accept": "application/json", "X-CSRFToken": token})

    first = post(qualifies)
    assert first.status_code == 200 and first.mimetype == "application/json"
    serial = certificates_by_registration(app)[qualifies]["serial"]
    assert first.json["serial"] == serial and first.json["status"] == "valid"
    assert post(qualifies).json["serial"] == serial  # twice: the same certificate

    refused = post(absent)
    assert refused.status_code == 422 and refused.json["code"] == "not_eligible"
    assert "需出勤 3 天，实际出勤 0 天" in refused.json["message"]
    conflict = post(cancelled)
    assert conflict.status_code == 409 and conflict.json["code"] == "not_confirmed"
    assert staff_client.post("/staff/registrations/999999/certificate",
                             headers={"Accept": "application/json", "X-CSRFToken": token}).status_code == 404
    assert set(certificates_by_registration(app)) == {qualifies}


# --- by hand, revoke, re-issue -------------------------------------------------------------------

def test_issuing_by_hand_needs_a_reason_for_someone_who_did_not_qualify(app, staff, staff_client):
    session_id, [absent] = cohort(app, staff, 1, attending=0)
    url = f"/staff/registrations/{absent}/certificate"

    refused = submit_form(staff_client, url, {"reason": "  "}, form_page=page_url(session_id),
                          follow_redirects=True)
    assert "未满足结业条件：需出勤 3 天，实际出勤 0 天" in flashes(refused.get_data(as_text=True))
    assert certificates_by_registration(app) == {}

    issued = submit_form(staff_client, url, {"reason": "因病缺课，已补课"}, form_page=page_url(session_id),
                         follow_redirects=True)
    certificate = certificates_by_registration(app)[absent]
    assert certificate["manual_reason"] == "因病缺课，已补课" and certificate["status"] is CertificateStatus.VALID
    html = issued.get_data(as_text=True)
    assert f"已为 {person_of(app, absent)['name']} 颁发结业证书：{certificate['serial']}" in flashes(html)
    assert "破例颁发：因病缺课，已补课" in html


def test_revoking_needs_a_reason_and_then_shows_as_revoked(app, staff, staff_client):
    session_id, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    url = f"/staff/certificates/{certificate_id}/revoke"

    refused = submit_form(staff_client, url, {"reason": ""}, form_page=page_url(session_id), follow_redirects=True)
    assert "请填写原因" in flashes(refused.get_data(as_text=True))
    assert certificates_by_registration(app)[registration_id]["status"] is CertificateStatus.VALID

    done = submit_form(staff_client, url, {"reason": "代签到"}, form_page=page_url(session_id), follow_redirects=True)
    certificate = certificates_by_registration(app)[registration_id]
    assert certificate["status"] is CertificateStatus.REVOKED and certificate["revoked_reason"] == "代签到"
    html = done.get_data(as_text=True)
    assert "已撤销" in html and "撤销原因：代签到" in html

    again = submit_form(staff_client, url, {"reason": "再次"}, form_page=page_url(session_id), follow_redirects=True)
    assert "这张证书已经撤销了" in flashes(again.get_data(as_text=True))


def test_reissue_after_a_name_correction_keeps_the_serial(app, staff, staff_client):
    session_id, [registration_id] = cohort(app, staff, 1)
    certificate_id = issue(app, registration_id, staff)
    before = certificates_by_registration(app)[registration_id]
    rename_person(app, registration_id, "张喆")

    html = staff_client.get(page_url(session_id)).get_data(as_text=True)
    assert f"/staff/certificates/{certificate_id}/reissue" in html and "现姓名“张喆”" in html

    done = submit_form(staff_client, f"/staff/certificates/{certificate_id}/reissue", {},
                       form_page=page_url(session_id), follow_redirects=True)
    after = certificates_by_registration(app)[registration_id]
    assert (after["name"], after["serial"]) == ("张喆", before["serial"])
    assert "已按新姓名重新颁发：张喆" in flashes(done.get_data(as_text=True))
    assert f"/staff/certificates/{certificate_id}/reissue" not in done.get_data(as_text=True)


# --- the zip ------------------------------------------------------------------------------------

def test_the_zip_holds_one_pdf_per_valid_certificate_and_none_for_revoked(app, staff, staff_client):
    session_id, registrations = cohort(app, staff, 3)
    ids = [issue(app, registration_id, staff) for registration_id in registrations]
    revoke(app, ids[1], staff)
    issued = certificates_by_registration(app)

    response = staff_client.get(f"{page_url(session_id)}.zip")

    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    expected = {f"{issued[r]['serial']}-{issued[r]['name']}.pdf": r for r in (registrations[0], registrations[2])}
    assert sorted(archive.namelist()) == sorted(expected)
    for member, registration_id in expected.items():
        text = pdf_text(archive.read(member))
        assert issued[registration_id]["name"] in text and issued[registration_id]["serial"] in text
    assert issued[registrations[1]]["serial"] not in " ".join(archive.namelist())


def test_the_zip_of_a_session_without_valid_certificates_says_so(app, staff, staff_client):
    session_id, [registration_id] = cohort(app, staff, 1)
    revoke(app, issue(app, registration_id, staff), staff)
    response = staff_client.get(f"{page_url(session_id)}.zip", follow_redirects=True)
    assert response.mimetype == "text/html" and "本场次还没有有效的结业证书" in flashes(response.get_data(as_text=True))
    assert staff_client.get("/staff/sessions/999999/certificates.zip").status_code == 404
