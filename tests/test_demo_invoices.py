"""`seed-demo` shows 发票 on the 小红书 camp's paid seats: a company's request waiting for staff, and
one issued with a PDF that the demo student downloads."""
from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from app.booking.models import Registration
from app.catalog.models import CampSession, Course
from app.demo.catalog import XHS_SLUG
from app.extensions import db
from app.invoices import tax_ids
from app.invoices.models import InvoiceKind, InvoiceRequest, InvoiceStatus
from tests.helpers import login, text_of
from tests.test_demo_articles import run


def test_the_demo_has_a_waiting_and_an_issued_company_invoice(app):
    assert run(app, "seed-demo").exit_code == 0
    result = run(app, "seed-demo")  # twice: nothing doubles
    assert result.exit_code == 0 and "demo invoice requests: 0 created" in result.output

    with app.app_context():
        requests = list(db.session.scalars(select(InvoiceRequest).order_by(InvoiceRequest.id)))
        assert [(r.kind, r.status) for r in requests] == [(InvoiceKind.COMPANY, InvoiceStatus.REQUESTED),
                                                         (InvoiceKind.COMPANY, InvoiceStatus.ISSUED)]
        for request in requests:
            assert tax_ids.parse(request.tax_id).value == request.tax_id
            assert request.amount == request.registration.amount_kept > 0
            course = db.session.scalar(select(Course).join(CampSession).join(Registration)
                                       .where(Registration.id == request.registration_id))
            assert course.slug == XHS_SLUG
        issued = requests[1]
        assert issued.requester.email == "student@example.com"
        assert "购买方名称：杭州喆然网络科技有限公司" in PdfReader(io.BytesIO(issued.pdf)).pages[0].extract_text()
        issued_id = issued.id

    client = app.test_client()
    assert login(client, "student@example.com", "demo12345").status_code == 302
    assert "下载发票" in text_of(client.get("/me/registrations"))
    assert client.get(f"/invoices/{issued_id}/pdf").status_code == 200
