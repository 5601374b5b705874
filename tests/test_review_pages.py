"""报名审核 through the pages and the API: a student applies (web and API, pending_review), sees
待审核 and withdraws; staff see the queue, approve or reject in bulk with a message; others cannot;
hostile messages are refused with a clear answer, never a 500. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.booking.models import Registration, RegistrationStatus
from app.extensions import db
from tests.factories import make_students, new_course, new_session, xhs_questions
from tests.helpers import API, api_book, csrf_token_from, outbox_messages, student_headers, submit_form, text_of

S = RegistrationStatus


def statuses(app, session_id: int) -> list[RegistrationStatus]:
    with app.app_context():
        return list(db.session.scalars(select(Registration.status).where(Registration.session_id == session_id)
                                       .order_by(Registration.id)))


def applications(app, session_id: int, people: int) -> list[int]:
    from tests.test_booking_approval import apply  # the service call the pages make
    return [apply(app, user, session_id).id for user in make_students(app, people)]


def post_decision(client, session_id: int, ids: list[int], button: str, message: str = "", **kwargs):
    url = f"/staff/sessions/{session_id}/applications"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"registration_id": [str(i) for i in ids], "message": message, button: "1",
                                  "csrf_token": token}, **kwargs)


def test_a_student_applies_on_the_site_sees_it_pending_and_withdraws_it(app, student_client):
    session_id = new_session(app, capacity=5, requires_approval=True)

    page = student_client.get(f"/sessions/{session_id}/book")
    booked = submit_form(student_client, f"/sessions/{session_id}/book", {}, follow_redirects=True)
    assert "提交报名申请" in text_of(page) and "需要审核" in text_of(page)
    assert "报名申请已提交，等待审核" in text_of(booked) and "待审核" in text_of(booked)
    assert statuses(app, session_id) == [S.PENDING_REVIEW]

    with app.app_context():
        registration_id = db.session.scalar(select(Registration.id))
    withdrawn = submit_form(student_client, f"/me/registrations/{registration_id}/cancel", {},
                            form_page="/me/registrations", follow_redirects=True)
    assert "已撤回报名申请" in text_of(withdrawn) and "已撤回" in text_of(withdrawn)
    assert statuses(app, session_id) == [S.WITHDRAWN]


def test_the_api_answers_pending_review_and_withdraws_it(app, client):
    session_id = new_session(app, capacity=5, requires_approval=True)
    headers = student_headers(app, client, "api@example.com", "13900000001")

    first, again = api_book(client, session_id, headers), api_book(client, session_id, headers)
    listed = client.get(f"{API}/me/registrations", headers=headers).get_json()["items"]
    withdrawn = client.delete(f"{API}/registrations/{first.get_json()['id']}", headers=headers)

    assert (first.status_code, first.get_json()["status"]) == (201, "pending_review")
    assert (again.status_code, again.get_json()["id"]) == (200, first.get_json()["id"])
    assert [item["status"] for item in listed] == ["pending_review"]
    assert (withdrawn.status_code, withdrawn.get_json()["status"]) == (200, "withdrawn")
    assert first.get_json()["session"]["seats_left"] == 5  # the application took no seat


def test_staff_approve_in_bulk_seats_the_earliest_and_waitlist_the_rest(app, staff_client):
    session_id = new_session(app, capacity=2, requires_approval=True)
    ids = applications(app, session_id, 3)

    queue = staff_client.get(f"/staff/sessions/{session_id}/applications")
    done = post_decision(staff_client, session_id, ids, "approve", "欢迎参加私董会", follow_redirects=True)

    assert queue.status_code == 200 and "学员0" in text_of(queue) and "批量通过" in text_of(queue)
    assert "已通过 3 份申请：2 人已确认，0 人名额保留待支付，1 人因名额已满进入候补" in text_of(done)
    assert statuses(app, session_id) == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED]
    overview = staff_client.get("/staff/applications/")
    assert overview.status_code == 200 and "快速玩转小红书成长特训营" in text_of(overview)
    mails = [m for m in outbox_messages(app) if m.template == "application_approved"]
    assert len(mails) == 3 and all("欢迎参加私董会" in m.body_text for m in mails)


def test_staff_reject_in_bulk_with_a_message_shown_to_the_applicant(app, staff_client):
    session_id = new_session(app, capacity=2, requires_approval=True)
    ids = applications(app, session_id, 2)

    done = post_decision(staff_client, session_id, ids, "reject", "年营业额未达 1000 万", follow_redirects=True)
    rejected = staff_client.get(f"/staff/sessions/{session_id}/applications?status=rejected")

    assert "已拒绝 2 份申请" in text_of(done)
    assert statuses(app, session_id) == [S.REJECTED, S.REJECTED]
    assert "年营业额未达 1000 万" in text_of(rejected)


def test_a_student_cannot_see_the_queue_or_decide(app, student_client, staff):
    session_id = new_session(app, capacity=2, requires_approval=True)
    ids = applications(app, session_id, 1)
    token = csrf_token_from(student_client.get("/me/registrations").get_data(as_text=True))

    page = student_client.get(f"/staff/sessions/{session_id}/applications")
    post = student_client.post(f"/staff/sessions/{session_id}/applications",
                               data={"registration_id": str(ids[0]), "approve": "1", "csrf_token": token})

    assert page.status_code in (403, 404) and post.status_code in (403, 404)
    assert statuses(app, session_id) == [S.PENDING_REVIEW]


@pytest.mark.parametrize(("message", "expected"), [("坏\x00消息", (400,)), ("长" * 501, (200,)),
                                                   ("x" * 10_000_000, (200, 413))])
def test_a_hostile_message_is_refused_clearly_and_decides_nothing(app, staff_client, message, expected):
    session_id = new_session(app, capacity=2, requires_approval=True)
    ids = applications(app, session_id, 1)

    response = post_decision(staff_client, session_id, ids, "reject", message)

    assert response.status_code in expected  # the form again with its reason, or 413 past the size limit
    if response.status_code != 413:
        assert "留言最多 500 个字" in text_of(response) or "控制字符" in text_of(response)
    assert statuses(app, session_id) == [S.PENDING_REVIEW]


def test_applications_of_another_session_are_not_decided_from_this_one(app, staff_client):
    this = new_session(app, capacity=2, requires_approval=True)
    other = new_session(app, capacity=2, requires_approval=True)
    theirs = applications(app, other, 1)

    response = post_decision(staff_client, this, theirs, "approve", follow_redirects=True)

    assert "请先勾选要审核的申请" in text_of(response)
    assert statuses(app, other) == [S.PENDING_REVIEW]


def test_staff_decide_on_the_answers_and_an_approval_keeps_them(app, student_client, staff_client):
    course_id = new_course(app)
    session_id = new_session(app, course_id, capacity=2, requires_approval=True)
    ids = xhs_questions(app, course_id)
    fields = {"公司名称": "宁波𠮷祥家居有限公司", "店铺类型": "小红书", "主营类目": "家居日用",
              "年营业额": "2000万–1亿", "是否已开通小红书店铺": "no", "想解决的问题": "投放 ROI 低"}
    submit_form(student_client, f"/sessions/{session_id}/book",
                {f"q{ids[label]}": value for label, value in fields.items()})
    with app.app_context():
        application_id = db.session.scalar(select(Registration.id).where(Registration.session_id == session_id))

    queue = text_of(staff_client.get(f"/staff/sessions/{session_id}/applications"))
    post_decision(staff_client, session_id, [application_id], "approve")
    approved = text_of(staff_client.get(f"/staff/registrations/{application_id}"))

    assert "宁波𠮷祥家居有限公司" in queue and "2000万–1亿" in queue and "投放 ROI 低" in queue
    assert statuses(app, session_id) == [S.CONFIRMED]
    assert "宁波𠮷祥家居有限公司" in approved and "2000万–1亿" in approved
