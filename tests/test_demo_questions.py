"""`seed-demo` gives the 小红书 camp its registration questions (the issue's example set), and its
registrants answers to them, as the booking page would have stored them."""
from __future__ import annotations

from sqlalchemy import func, select

from app.booking.models import Registration
from app.extensions import db
from app.questions.models import Answer, QuestionKind
from app.questions.queries import questions_for_session
from tests.test_demo_articles import run, upcoming_xhs_session_id


def test_the_demo_camp_asks_the_example_questions_and_its_registrants_answered(app):
    assert run(app, "seed-demo").exit_code == 0
    assert run(app, "seed-demo").exit_code == 0  # twice: nothing doubles

    with app.app_context():
        session_id = upcoming_xhs_session_id()
        asked = questions_for_session(session_id)
        assert [(q.label, q.kind, q.required) for q in asked] == [
            ("公司名称", QuestionKind.SHORT_TEXT, True), ("店铺类型", QuestionKind.SINGLE_CHOICE, True),
            ("主营类目", QuestionKind.SHORT_TEXT, True), ("年营业额", QuestionKind.SINGLE_CHOICE, True),
            ("是否已开通小红书店铺", QuestionKind.YES_NO, True), ("小红书店铺名称", QuestionKind.SHORT_TEXT, True),
            ("想解决的问题", QuestionKind.LONG_TEXT, False)]
        assert asked[1].choices == ["淘宝", "天猫", "抖音", "小红书", "其他"]
        assert (asked[5].condition_question_id, asked[5].condition_value) == (asked[4].id, "yes")

        registrations = db.session.scalar(
            select(func.count()).select_from(Registration).where(Registration.session_id == session_id))
        answered = dict(db.session.execute(
            select(Answer.label, func.count()).join(Registration, Registration.id == Answer.registration_id)
            .where(Registration.session_id == session_id).group_by(Answer.label)).all())
        # Everyone answered the required questions once; the shop's name only those who have one.
        for label in ("公司名称", "店铺类型", "主营类目", "年营业额", "是否已开通小红书店铺"):
            assert answered[label] == registrations
        assert 0 < answered["小红书店铺名称"] < registrations
