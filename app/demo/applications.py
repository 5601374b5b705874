"""A demo 私董会 that requires approval (报名审核): four owners' applications waiting for staff, one
already turned down with a message; made through the booking and review services the site uses."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.booking import review
from app.booking.models import Registration, RegistrationStatus
from app.catalog import service as catalog
from app.catalog.models import CampSession
from app.common.time import utcnow
from app.demo.catalog import SHANGHAI, DemoCourse, _course, _demo_students, _session
from app.demo.questions import TURNOVER_BANDS, book_answering, seed_questions
from app.extensions import db
from app.questions.models import QuestionKind

PRIVATE_BOARD_SLUG = "owners-private-board"
PRIVATE_BOARD = DemoCourse(
    PRIVATE_BOARD_SLUG, "电商老板私董会", "综合", "2天1夜",
    "只面向年营业额 1000 万元以上的电商企业创始人：十二位老板围坐一桌，带着真问题来，互为顾问。"
    "报名需审核，审核通过后按顺序分配席位。",
    "企业增长瓶颈的同侪诊断\n组织与团队搭建的实战经验\n多平台布局与利润结构复盘",
    "年营业额 1000 万元以上的电商企业创始人或合伙人",
)
# What staff decide on: the applicant's company, turnover and question (app/questions).
PRIVATE_BOARD_QUESTIONS = [
    ("公司名称", QuestionKind.SHORT_TEXT, True, "", []),
    ("年营业额", QuestionKind.SINGLE_CHOICE, True, "本期只面向年营业额 1000 万元以上的企业", TURNOVER_BANDS),
    ("想解决的问题", QuestionKind.LONG_TEXT, False, "带着真问题来，审核时我们会先看这一项", []),
]
REJECTION = "您提交的年营业额未达到本期私董会 1000 万元的门槛，欢迎关注我们的公开课与特训营。"


def seed_applications(password: str, staff: User) -> int:
    """The 私董会's session, its pending applications and one rejected; how many applications it made."""
    today = utcnow().astimezone(SHANGHAI).date()
    course = _course(PRIVATE_BOARD)
    camp = _session(course, today + timedelta(days=40), 2, 12, "19800.00", "杭州", "玺承集团杭州培训中心",
                    "杭州市滨江区网商路 699 号", "第3期")
    if not camp.requires_approval:
        catalog.update_session(camp.id, requires_approval=True)
    seed_questions(course.id, PRIVATE_BOARD_QUESTIONS)
    applicants = _demo_students(password)[20:25]
    before = _count(camp)
    already = set(db.session.scalars(select(Registration.user_id).where(Registration.session_id == camp.id)))
    for number, (hours_ago, user) in enumerate(zip(range(len(applicants) * 7, 0, -7), applicants, strict=True)):
        if user.id not in already:  # a second run: the rejected one does not apply again
            # The first (rejected below) answers the lowest turnover band, as REJECTION says.
            book_answering(user, camp, number, utcnow() - timedelta(hours=hours_ago))
    first = db.session.scalar(select(Registration).where(Registration.session_id == camp.id,
                                                         Registration.user_id == applicants[0].id))
    if first.status is RegistrationStatus.PENDING_REVIEW:
        review.reject_application(first.id, staff, REJECTION)
    return _count(camp) - before


def _count(camp: CampSession) -> int:
    return len(db.session.scalars(select(Registration.id).where(Registration.session_id == camp.id)).all())
