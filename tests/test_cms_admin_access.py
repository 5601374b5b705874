"""Only admins reach the CMS admin: every route of the blueprint, walked from the app's URL map."""
from __future__ import annotations

from app.cms.models import Article
from app.extensions import db
from tests.factories import make_editor, write_article
from tests.helpers import csrf_token_from

# The routes the admin CMS must have; the walk below covers whatever the blueprint has, and this
# list only makes sure the walk is not quietly covering fewer.
EXPECTED = {
    "cms_admin.articles", "cms_admin.new_article", "cms_admin.edit_article", "cms_admin.preview",
    "cms_admin.upload_image", "cms_admin.publish", "cms_admin.schedule", "cms_admin.unpublish",
    "cms_admin.archive", "cms_admin.revisions", "cms_admin.revision", "cms_admin.restore",
}


def _requests(app, article_id: int) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every GET and POST of every cms_admin rule, on a real article."""
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("cms_admin."):
            continue
        values = {name: (article_id if name == "article_id" else 1) for name in rule.arguments}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        requests += [(rule.endpoint, method, url) for method in sorted(rule.methods & {"GET", "POST"})]
    return requests


def _article(app) -> int:
    make_editor(app)
    with app.app_context():
        article_id = write_article("只给管理员看的草稿", status="draft")
        assert db.session.get(Article, article_id).revision_number == 1
    return article_id


def _send(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    # A valid CSRF token, so that what refuses the request is the role, not the token.
    return client.post(url, data={"csrf_token": token, "title": "改过的标题", "body": "改过的正文"})


def test_the_walk_covers_every_admin_cms_route(app):
    endpoints = {endpoint for endpoint, _method, _url in _requests(app, 1)}
    assert endpoints >= EXPECTED
    assert all(rule.rule.startswith("/admin/articles") for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("cms_admin."))


def test_anonymous_visitors_are_sent_to_login_from_every_route(app, client):
    article_id = _article(app)
    token = csrf_token_from(client.get("/account/login").get_data(as_text=True))
    for endpoint, method, url in _requests(app, article_id):
        response = _send(client, method, url, token)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/account/login?next="), (endpoint, method)
    _nothing_changed(app, article_id)


def test_students_and_staff_get_403_on_every_route(app, student_client, staff_client):
    article_id = _article(app)
    for client in (student_client, staff_client):
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        for endpoint, method, url in _requests(app, article_id):
            response = _send(client, method, url, token)
            assert response.status_code == 403, (endpoint, method, response.status_code)
            assert "没有权限" in response.get_data(as_text=True)
    _nothing_changed(app, article_id)


def test_a_staff_member_promoted_to_admin_gets_in(app, staff_client):
    article_id = _article(app)
    assert staff_client.get("/admin/articles/").status_code == 403
    result = app.test_cli_runner().invoke(args=["users", "set-role", "staff@example.com", "admin"])
    assert result.exit_code == 0, result.output
    assert staff_client.get("/admin/articles/").status_code == 200
    assert staff_client.get(f"/admin/articles/{article_id}/edit").status_code == 200


def test_admins_open_every_page(app, admin_client):
    article_id = _article(app)
    for endpoint, method, url in _requests(app, article_id):
        if method == "GET":
            assert admin_client.get(url).status_code == 200, endpoint


def _nothing_changed(app, article_id: int) -> None:
    with app.app_context():
        article = db.session.get(Article, article_id)
        assert (article.title, article.revision_number, article.status.value) == ("只给管理员看的草稿", 1, "draft")
        assert db.session.query(Article).count() == 1
