"""The API as a whole: JSON errors everywhere under /api/, and an OpenAPI document that lists it all."""
from __future__ import annotations

import re

import pytest

from app.catalog import service as catalog
from tests.helpers import API, assert_error

# --- errors are JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{API}/nothing-here", f"{API}/sessions/abc", "/api/v2/sessions", "/api/"])
def test_unknown_urls_under_api_are_json_404(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_unknown_urls_elsewhere_keep_the_html_page(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("delete", f"{API}/sessions", {"GET"}), ("get", f"{API}/auth/token", {"POST"}),
     ("put", f"{API}/registrations/1", {"GET", "DELETE"})],
)
def test_a_wrong_method_is_json_405_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)

    assert_error(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_an_unexpected_exception_is_json_500(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(catalog, "upcoming_published_sessions", broken)

    body = assert_error(client.get(f"{API}/sessions"), 500, "internal_error")
    assert "database" not in body["message"]  # no internals leak to the client


def test_rate_limit_responses_say_when_to_retry(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1 per minute")
    client.post(f"{API}/auth/token", json={"login": "a@example.com", "password": "x"})

    response = client.post(f"{API}/auth/token", json={"login": "a@example.com", "password": "x"})

    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


# --- the OpenAPI document ----------------------------------------------------------------------


@pytest.fixture
def document(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def _api_routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path relative to the server URL, method) for every API rule the app serves."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule[len(API):])
        routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def _documented(document) -> set[tuple[str, str]]:
    return {(path, method) for path, operations in document["paths"].items() for method in operations}


def _refs(node) -> list[str]:
    """Every "$ref" anywhere in a JSON document."""
    found = []
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(node["$ref"])
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            found.extend(_refs(value))
    return found


def test_every_api_route_is_in_the_document_and_nothing_else(app, document):
    assert len(_api_routes(app)) >= 8
    assert _documented(document) == _api_routes(app)


def test_the_document_is_openapi_3_1_with_resolvable_refs(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": API}]
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert len(refs) > 20
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    # Every named path parameter is declared.
    for path, operations in document["paths"].items():
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_every_operation_has_an_id_a_success_and_json_errors(document):
    operation_ids = []
    for operations in document["paths"].values():
        for operation in operations.values():
            operation_ids.append(operation["operationId"])
            statuses = set(operation["responses"])
            assert any(status.startswith("2") for status in statuses)
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"
                    }
    assert len(operation_ids) == len(set(operation_ids))


def test_operations_that_need_a_token_declare_bearer_auth(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    paths = document["paths"]
    needs_token = [
        paths["/sessions/{session_id}/registrations"]["post"],
        paths["/me/registrations"]["get"],
        paths["/registrations/{registration_id}"]["delete"],
        paths["/registrations/{registration_id}"]["get"],
        paths["/registrations/{registration_id}/pay"]["post"],
        paths["/registrations/{registration_id}/pay/check"]["post"],
    ]
    for operation in needs_token:
        assert operation["security"] == [{"bearerAuth": []}]
        assert "401" in operation["responses"]
    assert "security" not in paths["/sessions"]["get"]


def test_the_schemas_match_what_the_api_sends(document):
    schemas = document["components"]["schemas"]
    session = schemas["SessionOut"]
    assert session["properties"]["price"]["type"] == "string"
    assert session["properties"]["starts_at"]["format"] == "date-time"
    assert set(session["required"]) >= {"id", "price", "seats_left", "refusal_reason"}
    assert schemas["RegistrationOut"]["properties"]["status"]["enum"] == [
        "confirmed", "waitlisted", "pending_payment", "offered", "expired", "cancelled",
        "pending_review", "rejected", "withdrawn"]
    assert set(schemas["ErrorOut"]["required"]) == {"code", "message"}
    signup = schemas["SignupRequest"]
    assert set(signup["required"]) == {"email", "password", "name", "phone"}
    assert signup["properties"]["password"]["minLength"] == 8
    body = document["paths"]["/auth/signup"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SignupRequest"}
