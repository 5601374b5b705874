"""`seed-demo` shows paid seats as an organisation would have them: the 小红书 camp at ¥3,980 with
seats paid by WeChat Pay and Alipay, seats held right now, a bank transfer awaiting staff, and a
free open day that confirms at once."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.booking.models import Registration, RegistrationStatus
from app.catalog.models import CampSession, Course
from app.demo.catalog import OPEN_DAY_SLUG
from app.extensions import db
from app.payments.models import Payment, PaymentOrder, PaymentProvider
from tests.test_demo_articles import run, upcoming_xhs_session_id


def statuses(session_id: int) -> dict[RegistrationStatus, int]:
    return dict(db.session.execute(select(Registration.status, func.count()).where(
        Registration.session_id == session_id).group_by(Registration.status)).all())


def test_the_demo_camp_is_paid_with_seats_paid_held_and_a_transfer_awaiting(app):
    assert run(app, "seed-demo").exit_code == 0
    assert run(app, "seed-demo").exit_code == 0  # twice: nothing doubles

    with app.app_context():
        session_id = upcoming_xhs_session_id()
        camp = db.session.get(CampSession, session_id)
        assert camp.price == Decimal("3980.00")
        counted = statuses(session_id)
        assert counted[RegistrationStatus.CONFIRMED] >= 10 and counted[RegistrationStatus.PENDING_PAYMENT] == 3
        paid = db.session.execute(select(Payment.provider, func.sum(Payment.amount)).join(Registration)
                                  .where(Registration.session_id == session_id).group_by(Payment.provider)).all()
        assert {provider for provider, _total in paid} == {PaymentProvider.WECHAT, PaymentProvider.ALIPAY}
        assert sum(total for _provider, total in paid) == Decimal("3980.00") * counted[RegistrationStatus.CONFIRMED]
        transfers = db.session.scalars(select(PaymentOrder).join(Registration).where(
            Registration.session_id == session_id, PaymentOrder.provider == PaymentProvider.BANK)).all()
        assert len(transfers) == 1 and transfers[0].registration.status is RegistrationStatus.PENDING_PAYMENT
        assert camp.seats_taken == counted[RegistrationStatus.CONFIRMED] + 3

        open_day = db.session.scalar(select(CampSession).join(Course).where(Course.slug == OPEN_DAY_SLUG))
        assert open_day.price == 0 and set(statuses(open_day.id)) == {RegistrationStatus.CONFIRMED}
