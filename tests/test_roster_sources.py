"""The roster's 来源 column: a booking made through an article shows the article's title, linked
to its public page (to its editor for admins), on the roster, the registration page and in the
exports, with the titles fetched in one query whatever the number of rows."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from app.common.time import utcnow
from app.extensions import db
from tests.factories import book, make_editor, make_person, write_article
from tests.helpers import recorded_statements, text_of
from tests.test_roster_pages import _row_of, running_session

TITLE = "小红书起号：𠮷野家店主的 30 天"
DRAFT = "草稿：还没发布的文章"


@pytest.fixture
def via_articles(app, staff):
    """A session with one booking from a published article, one from a draft, one from an article
    since deleted (id 999) and one from the website."""
    make_editor(app)
    with app.test_request_context():
        published = write_article(TITLE, slug="xhs-30-days")
        draft = write_article(DRAFT, slug="draft-one", status="draft")
        db.session.remove()
    session_id = running_session(app, capacity=10)
    early = utcnow() - timedelta(days=3)
    ids = {
        "published": book(app, make_person(app, "欧阳娜娜", "13700001111"), session_id, f"article:{published}", early),
        "draft": book(app, make_person(app, "张喆", "13700001112"), session_id, f"article:{draft}", early),
        "deleted": book(app, make_person(app, "李雷", "13700001113"), session_id, "article:999", early),
        "web": book(app, make_person(app, "王𠮷", "13700001114"), session_id, "web", early),
    }
    return {"session": session_id, "ids": ids, "published": published, "draft": draft}


def _source_cell(html: str, registration_id: int) -> str:
    row = _row_of(html, f'/staff/registrations/{registration_id}"')
    start = row.index('<td class="source">')
    return row[start:row.index("</td>", start) + 5]


def test_staff_see_the_articles_title_linked_to_its_public_page(staff_client, via_articles):
    html = text_of(staff_client.get(f"/staff/sessions/{via_articles['session']}/roster"))
    ids = via_articles["ids"]

    assert _source_cell(html, ids["published"]) == (
        f'<td class="source"><a href="/articles/xhs-30-days">{TITLE}</a></td>')
    # Readers cannot open a draft: its title, without a link that would be a 404.
    assert _source_cell(html, ids["draft"]) == f'<td class="source">{DRAFT}</td>'
    assert _source_cell(html, ids["deleted"]) == '<td class="source">文章 #999</td>'
    assert _source_cell(html, ids["web"]) == '<td class="source">网站</td>'


def test_admins_get_the_articles_editor(admin_client, via_articles):
    html = text_of(admin_client.get(f"/staff/sessions/{via_articles['session']}/roster"))

    for which in ("published", "draft"):
        cell = _source_cell(html, via_articles["ids"][which])
        assert f'href="/admin/articles/{via_articles[which]}/edit"' in cell


def test_the_registration_page_names_the_article_too(staff_client, via_articles):
    html = text_of(staff_client.get(f"/staff/registrations/{via_articles['ids']['published']}"))
    assert f'<dd><a href="/articles/xhs-30-days">{TITLE}</a></dd>' in html


def test_exports_carry_the_title_as_text(staff_client, via_articles):
    session_id = via_articles["session"]
    rows = list(csv.reader(io.StringIO(
        staff_client.get(f"/staff/sessions/{session_id}/roster.csv").get_data().decode("utf-8-sig"))))
    source_column = rows[0].index("来源")
    sources = {row[0]: row[source_column] for row in rows[1:]}
    assert sources == {"欧阳娜娜": TITLE, "张喆": DRAFT, "李雷": "文章 #999", "王𠮷": "网站"}

    sheet = load_workbook(io.BytesIO(staff_client.get(f"/staff/sessions/{session_id}/roster.xlsx").get_data())).active
    values = list(sheet.values)
    assert {row[0]: row[source_column] for row in values[1:]}["欧阳娜娜"] == TITLE


def test_the_roster_asks_for_titles_once_however_many_articles(app, staff_client):
    make_editor(app)
    session_id = running_session(app, capacity=20)
    early = utcnow() - timedelta(days=3)
    url = f"/staff/sessions/{session_id}/roster"

    def add_bookings_from_new_articles(first: int, last: int) -> None:
        for n in range(first, last):
            with app.test_request_context():
                article_id = write_article(f"文章{n}", slug=f"a-{n}")
                db.session.remove()
            book(app, make_person(app, f"学员{n}", f"1390000{n:04d}"), session_id, f"article:{article_id}", early)

    add_bookings_from_new_articles(0, 1)
    with recorded_statements(app) as with_one:
        staff_client.get(url)
    add_bookings_from_new_articles(1, 7)
    with recorded_statements(app) as with_seven:
        staff_client.get(url)

    assert len(with_seven) == len(with_one)
    assert all(f"文章{n}</a>" in text_of(staff_client.get(url)) for n in range(7))
