"""The OpenAPI schema (drf-spectacular) generates without warnings, is served at
/api/schema/ to signed-in people (anonymous: the JSON 401), documents both
authentications, the shared error body and what each parameter accepts; the docs page at
/api/docs/ sends anonymous visitors to sign in, loads everything from our own static
files (works offline) and has no inline script or style (the Content-Security-Policy)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

ANONYMOUS = {"detail": "Authentication credentials were not provided.", "errors": []}
ERROR = {"$ref": "#/components/schemas/Error"}


def test_schema_generation_has_no_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    err = StringIO()
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target), stderr=err)
    schema = yaml.safe_load(target.read_text())
    assert "Warning" not in err.getvalue()
    assert schema["info"]["title"] == "LearnHub API"
    assert sorted(schema["paths"]) == [
        "/api/v1/collections/",
        "/api/v1/collections/{id}/",
        "/api/v1/connections/",
        "/api/v1/connections/{id}/sync/",
        "/api/v1/employees/",
        "/api/v1/employees/bulk/",
        "/api/v1/employees/{id}/",
        "/api/v1/organizations/",
        "/api/v1/organizations/{id}/",
        "/api/v1/organizations/{id}/to-nudge/",
        "/api/v1/programs/",
        "/api/v1/programs/{id}/",
        "/api/v1/programs/{id}/progress/",
        "/api/v1/programs/{id}/snapshots/",
        "/api/v1/study-groups/",
        "/api/v1/study-groups/{id}/",
        "/api/v1/sync-runs/",
        "/api/v1/sync-runs/{id}/",
    ]


def served_schema(personas) -> dict:
    response = personas.client_for(personas.employee).get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("url", ["/api/schema/", "/api/schema/?format=json", "/api/schema/?format=yaml"])
def test_anonymous_gets_the_json_401_for_the_schema(db, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == ANONYMOUS


def test_anonymous_is_sent_to_sign_in_and_back_from_the_docs(db):
    for url in ("/api/docs/", "/api/docs/?script="):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url.replace('?', '%3F').replace('=', '%3D')}"


def test_schema_is_served_with_auth_and_errors_documented(personas):
    schema = served_schema(personas)
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token from /api/tokens/."},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail", "errors"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"400", "401", "403", "404", "429"} <= set(operation["responses"]), (method, path)
            assert operation["security"] == [{"bearerAuth": []}, {"cookieAuth": []}], (method, path)
    progress = schema["paths"]["/api/v1/programs/{id}/progress/"]["get"]
    assert [p["name"] for p in progress["parameters"]] == ["as_of", "id"]


def test_the_schema_says_what_each_parameter_and_body_accepts(personas):
    schema = served_schema(personas)
    paths = schema["paths"]

    def parameter(path: str, name: str) -> dict:
        return next(p["schema"] for p in paths[path]["get"]["parameters"] if p["name"] == name)

    for path, name in [
        ("/api/v1/collections/", "program"),
        ("/api/v1/study-groups/", "program"),
        ("/api/v1/organizations/", "within"),
        ("/api/v1/employees/", "organization"),
        ("/api/v1/sync-runs/", "connection"),
        ("/api/v1/programs/{id}/snapshots/", "organization"),
        ("/api/v1/programs/", "page"),
        ("/api/v1/employees/", "page_size"),
    ]:
        assert parameter(path, name) == {"type": "integer", "minimum": 1}, (path, name)
    assert parameter("/api/v1/programs/{id}/progress/", "as_of") == {"type": "string", "format": "date"}
    assert parameter("/api/v1/employees/", "status") == {"type": "string", "enum": ["active", "departed"]}
    rows = schema["components"]["schemas"]["RosterBulkUpsertRequest"]["properties"]["rows"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 100_000)
    rate = schema["components"]["schemas"]["ProgramCreateRequest"]["properties"]["target_rate"]
    assert (rate["type"], rate["minimum"], rate["maximum"]) == ("number", 0.001, 1.0)
    with_body = {(m, p) for p, item in paths.items() for m, op in item.items() if "requestBody" in op}
    assert with_body == {
        ("post", "/api/v1/programs/"),
        ("patch", "/api/v1/programs/{id}/"),
        ("post", "/api/v1/employees/bulk/"),
        ("post", "/api/v1/connections/{id}/sync/"),
    }
    for path, item in paths.items():
        for method, operation in item.items():
            documented = {"413", "415"} <= set(operation["responses"])
            assert documented == ((method, path) in with_body), (method, path)
            refusals = [r["content"] for code, r in operation["responses"].items() if int(code) >= 400]
            assert all(content == {"application/json": {"schema": ERROR}} for content in refusals), (method, path)
    assert "409" in paths["/api/v1/employees/bulk/"]["post"]["responses"]
    assert "409" in paths["/api/v1/connections/{id}/sync/"]["post"]["responses"]


def test_docs_page_works_offline_without_inline_script_or_style(personas):
    client = personas.client_for(personas.employee)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/api/docs/?script=",
    ]
    for asset in assets[:-1]:
        assert finders.find(asset.removeprefix("/static/")), asset  # nothing from a CDN
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html.replace("http://testserver", ""))
    assert re.findall(r"<script(?![^>]*\ssrc=)", html) == []  # every script is a file
    assert "<style" not in html and "style=" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"] == "application/javascript"
    assert 'url: "/api/schema/"' in script.content.decode()
