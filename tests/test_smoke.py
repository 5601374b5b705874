from tests.helpers import recorded_statements, submit_form


def test_signup_then_home(client, ctx):
    r = submit_form(client, "/account/signup", {"name": "王𠮷", "phone": "138 0013 8000", "email": "A@Example.com",
                                                 "password": "abcdefgh1", "confirm": "abcdefgh1"})
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.get("/")
    assert "王𠮷" in r.get_data(as_text=True)


def test_favicon_ico_leads_browsers_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"] == "/static/img/favicon.svg"

    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.get_data()



def test_the_health_check_answers_without_asking_the_database(app, client):
    """A load balancer asks /healthz: a slow database must not take every server out of rotation."""
    with recorded_statements(app) as seen:
        response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok\n")
    assert response.headers["Cache-Control"] == "no-store"
    assert seen == []
