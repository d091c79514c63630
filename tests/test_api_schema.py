"""The OpenAPI schema (drf-spectacular) generates without warnings, is served at
/api/schema/, documents both authentications and the shared error body, and the docs page
at /api/docs/ loads everything from our own static files (works offline)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


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
        "/api/v1/programs/",
        "/api/v1/programs/{id}/",
        "/api/v1/programs/{id}/progress/",
        "/api/v1/programs/{id}/snapshots/",
        "/api/v1/study-groups/",
        "/api/v1/study-groups/{id}/",
        "/api/v1/sync-runs/",
        "/api/v1/sync-runs/{id}/",
    ]


def test_schema_is_served_with_auth_and_errors_documented():
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
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


def test_docs_page_works_offline():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith("/static/"), asset  # nothing from a CDN
        assert finders.find(asset.removeprefix("/static/")), asset
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html.replace("http://testserver", ""))
