"""Who earns a certificate, and what issuing, re-issuing and revoking do: through the service
functions staff pages and the CLI call. Serial numbers stay unique under concurrent bulk issuing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.booking import service as booking
from app.certificates import service as certificates
from app.certificates.errors import AlreadyRevoked, NotConfirmed, NotEligible, ReasonRequired
from app.certificates.models import Certificate, CertificateStatus
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import AFTER, DAYS, attend, finished_cohort
from tests.helpers import run_together


def test_attending_every_day_earns_a_certificate_with_a_readable_serial(app, ctx, staff):
    session_id, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS, staff)

    certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff), now=AFTER)

    assert certificate.serial == f"XC2025-{session_id:04d}-0001"
    assert certificate.status is CertificateStatus.VALID
    assert (certificate.start_date, certificate.end_date, certificate.place) == (DAYS[0], DAYS[-1], "杭州")
    assert certificate.name == db.session.get(User, certificate.registration.user_id).name
    assert len(certificate.verify_token) >= 32
    [email] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("结业证书已颁发%"))).all()
    assert certificate.serial in email.body_text and f"/me/certificates/{certificate.id}" in email.body_text


def test_missing_a_day_is_not_enough_unless_the_course_asks_for_fewer(app, ctx, staff):
    _session, [strict] = finished_cohort(app, 1)
    attend(app, strict, DAYS[:2], staff)
    with pytest.raises(NotEligible) as refused:
        certificates.issue_certificate(strict, db.session.get(User, staff))
    assert "需出勤 3 天，实际出勤 2 天" in str(refused.value.message)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0

    _session, [lenient] = finished_cohort(app, 1, min_days=2)
    attend(app, lenient, DAYS[:2], staff)
    assert certificates.issue_certificate(lenient, db.session.get(User, staff)).is_valid


def test_staff_can_issue_by_hand_with_a_reason(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS[:1], staff)

    certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff),
                                                 reason="因病缺课两天，已补课")

    assert certificate.manual_reason == "因病缺课两天，已补课"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.issue"))
    assert entry.actor_id == staff and entry.note == "因病缺课两天，已补课"


def test_issuing_twice_returns_the_same_certificate(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS, staff)
    first = certificates.issue_certificate(registration_id, db.session.get(User, staff)).serial
    second = certificates.issue_certificate(registration_id, db.session.get(User, staff)).serial
    assert first == second
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_cancelled_registrations_get_no_certificate(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    booking.cancel_registration(registration_id, db.session.get(User, staff), by_staff=True)
    with pytest.raises(NotConfirmed):
        certificates.issue_certificate(registration_id, db.session.get(User, staff), reason="试试")


def test_revoking_needs_a_reason_and_happens_once(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS, staff)
    certificate_id = certificates.issue_certificate(registration_id, db.session.get(User, staff)).id
    with pytest.raises(ReasonRequired):
        certificates.revoke_certificate(certificate_id, db.session.get(User, staff), "  ")

    revoked = certificates.revoke_certificate(certificate_id, db.session.get(User, staff), "代签到")

    assert revoked.status is CertificateStatus.REVOKED and revoked.revoked_reason == "代签到"
    with pytest.raises(AlreadyRevoked):
        certificates.revoke_certificate(certificate_id, db.session.get(User, staff), "再次")
    assert certificates.find_for_verification(revoked.verify_token).status is CertificateStatus.REVOKED


def test_reissue_after_a_name_correction_keeps_the_serial_and_records_the_change(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS, staff)
    certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff))
    serial, old_name = certificate.serial, certificate.name
    user = db.session.get(User, certificate.registration.user_id)
    from app.accounts import service as accounts

    accounts.update_profile(user, "王𠮷", user.phone, user.email)
    assert db.session.get(Certificate, certificate.id).name == old_name  # a snapshot, not a live link

    reissued = certificates.reissue_certificate(certificate.id, db.session.get(User, staff))

    assert (reissued.serial, reissued.name) == (serial, "王𠮷")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.reissue"))
    assert entry.before == {"name": old_name} and entry.after["name"] == "王𠮷"


def test_verification_finds_by_token_or_by_typed_serial(app, ctx, staff):
    _session, [registration_id] = finished_cohort(app, 1)
    attend(app, registration_id, DAYS, staff)
    certificate = certificates.issue_certificate(registration_id, db.session.get(User, staff))
    assert certificates.find_for_verification(certificate.verify_token).id == certificate.id
    assert certificates.find_for_verification(" " + certificate.serial.lower() + " ").id == certificate.id
    assert certificates.find_for_verification("XC2025-9999-0001") is None
    assert certificates.find_for_verification("") is None


def test_bulk_issuing_skips_who_does_not_qualify_and_reports_progress(app, ctx, staff):
    session_id, registrations = finished_cohort(app, 4)
    for registration_id in registrations[:3]:
        attend(app, registration_id, DAYS, staff)
    steps = []

    report = certificates.issue_for_session(session_id, db.session.get(User, staff),
                                            progress=lambda done, total: steps.append((done, total)))

    assert len(report.issued) == 3 and len(report.not_eligible) == 1 and report.already == 0
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    again = certificates.issue_for_session(session_id, db.session.get(User, staff))
    assert (again.issued, again.already) == ([], 3)


def test_serials_stay_unique_when_two_staff_issue_a_session_at_once(app, staff):
    session_id, registrations = finished_cohort(app, 12)
    for registration_id in registrations:
        attend(app, registration_id, DAYS, staff)

    def bulk():
        return certificates.issue_for_session(session_id, db.session.get(User, staff)).issued

    results, _ = run_together(app, [bulk, bulk, bulk])

    with app.app_context():
        serials = db.session.scalars(select(Certificate.serial)).all()
        db.session.remove()
    assert len(serials) == 12 == len(set(serials))
    assert sorted(s for issued in results for s in issued) == sorted(serials)  # each issued exactly once
    assert sorted(serials) == [f"XC2025-{session_id:04d}-{n:04d}" for n in range(1, 13)]


def test_the_cli_issues_a_session_and_says_who_did_not_qualify(app, staff):
    session_id, registrations = finished_cohort(app, 3)
    for registration_id in registrations[:2]:
        attend(app, registration_id, DAYS, staff)

    result = app.test_cli_runner().invoke(args=["certificates", "issue", "--session", str(session_id)])

    assert result.exit_code == 0, result.output
    assert "issued 2, already issued 0, not eligible 1" in result.output
    again = app.test_cli_runner().invoke(args=["certificates", "issue", "--session", str(session_id)])
    assert "issued 0, already issued 2, not eligible 1" in again.output
    unknown = app.test_cli_runner().invoke(args=["certificates", "issue", "--session", "999999"])
    assert unknown.exit_code != 0 and "no session" in unknown.output
