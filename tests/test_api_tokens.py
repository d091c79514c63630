"""API tokens: created by L&D admins (page, admin, command), shown once, stored hashed,
looked up by prefix, revocable, scoped, throttled, last use recorded at most once a minute."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learnhub.api.services import api_token_create, api_token_find, api_token_revoke, api_token_touch
from learnhub.roles import ld_admin_revoke
from programs.models import ApiToken, ApiTokenScope, LearningProgram

pytestmark = pytest.mark.django_db

PROGRAMS = "/api/v1/programs/"


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def program_body(name: str = "API Program 2027") -> dict:
    return {"name": name, "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.9}


# --- The domain functions ----------------------------------------------------------------


def test_token_is_stored_hashed_and_found_by_prefix(personas):
    token, raw = api_token_create(created_by=personas.admin, name=" Workday ", scope="read")
    marker, prefix, secret = raw.split("_", 2)
    assert (marker, prefix) == ("lh", token.prefix)
    assert len(prefix) == 12 and len(secret) == 43  # token_urlsafe(32)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "Workday"
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert api_token_find(raw=raw) == token
    assert api_token_find(raw=f"lh_{prefix}_{secret}x") is None
    assert api_token_find(raw=f"lh_{'0' * 12}_{secret}") is None
    assert api_token_find(raw=secret) is None


def test_only_ld_admins_create_tokens_and_names_are_required(personas):
    with pytest.raises(ValidationError) as refused:
        api_token_create(created_by=personas.champion, name="BI", scope="read")
    assert refused.value.messages == ["Only L&D admins create API tokens."]
    with pytest.raises(ValidationError) as bad:
        api_token_create(created_by=personas.admin, name="  ", scope="write")
    assert set(bad.value.message_dict) == {"name", "scope"}
    assert ApiToken.objects.count() == 0


def test_revoked_token_and_inactive_creator_are_refused(personas):
    token, raw = api_token_create(created_by=personas.admin, name="BI", scope="read")
    assert bearer(raw).get(PROGRAMS).status_code == 200
    assert api_token_revoke(token=token) is True
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert api_token_revoke(token=token) is False
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    response = bearer(raw).get(PROGRAMS)
    assert response.status_code == 401
    assert response.json() == {"detail": "The token is not valid, or it was revoked.", "errors": []}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    _, other = api_token_create(created_by=personas.admin, name="Other", scope="read")
    personas.admin.is_active = False
    personas.admin.save(update_fields=["is_active"])
    assert bearer(other).get(PROGRAMS).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(personas):
    token, raw = api_token_create(created_by=personas.admin, name="BI", scope="read")
    assert token.last_used_at is None
    assert bearer(raw).get(PROGRAMS).status_code == 200
    used = ApiToken.objects.get(pk=token.pk).last_used_at
    assert used is not None and timezone.now() - used < dt.timedelta(seconds=30)
    assert bearer(raw).get(PROGRAMS).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == used  # within the minute: no write

    fresh = ApiToken.objects.get(pk=token.pk)
    assert api_token_touch(token=fresh, now=used + dt.timedelta(seconds=59)) is False
    assert api_token_touch(token=fresh, now=used + dt.timedelta(seconds=61)) is True
    assert ApiToken.objects.get(pk=token.pk).last_used_at == used + dt.timedelta(seconds=61)
    stale = ApiToken.objects.get(pk=token.pk)
    stale.last_used_at = None  # an old copy: the conditional UPDATE still refuses
    assert api_token_touch(token=stale, now=used + dt.timedelta(seconds=62)) is False


# --- Scope and identity ---------------------------------------------------------------------


def test_read_scope_token_cannot_write(personas):
    _, raw = api_token_create(created_by=personas.admin, name="BI", scope=ApiTokenScope.READ)
    response = bearer(raw).post(PROGRAMS, program_body(), content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This API token is read-only: writes need a read-write token.", "errors": []}
    assert not LearningProgram.objects.filter(name="API Program 2027").exists()


def test_read_write_token_writes_as_its_creator(personas):
    _, raw = api_token_create(created_by=personas.admin, name="HR", scope=ApiTokenScope.READ_WRITE)
    response = bearer(raw).post(PROGRAMS, program_body(), content_type="application/json")
    assert response.status_code == 201
    program = LearningProgram.objects.get(name="API Program 2027")
    assert response.json()["id"] == program.pk
    change = bearer(raw).patch(f"{PROGRAMS}{program.pk}/", {"target_rate": 0.95}, content_type="application/json")
    assert change.status_code == 200
    assert program.changes.get().changed_by == personas.admin


def test_token_loses_admin_rights_with_its_creator(personas):
    _, raw = api_token_create(created_by=personas.admin, name="HR", scope=ApiTokenScope.READ_WRITE)
    assert bearer(raw).get("/api/v1/employees/").status_code == 200
    ld_admin_revoke(employee=personas.admin)
    response = bearer(raw).get("/api/v1/employees/")
    assert response.status_code == 403
    assert bearer(raw).get(PROGRAMS).status_code == 200  # still an employee: aggregates


def test_malformed_authorization_header(personas):
    assert Client(HTTP_AUTHORIZATION="Bearer").get(PROGRAMS).status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer a b").get(PROGRAMS).status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nonsense").get(PROGRAMS).status_code == 401
    assert Client().get(PROGRAMS).status_code == 401


def test_tokens_are_throttled(personas, settings):
    settings.API_TOKEN_THROTTLE_RATE = "2/minute"
    _, raw = api_token_create(created_by=personas.admin, name="BI", scope="read")
    client = bearer(raw)
    assert [client.get(PROGRAMS).status_code for _ in range(3)] == [200, 200, 429]
    throttled = client.get(PROGRAMS)
    assert throttled.status_code == 429
    assert throttled.json()["detail"].startswith("Request was throttled.")
    session = personas.client_for(personas.admin)
    assert [session.get(PROGRAMS).status_code for _ in range(3)] == [200, 200, 200]


# --- The token page ---------------------------------------------------------------------------


def test_token_page_is_for_ld_admins_only(personas):
    url = reverse("api:tokens")
    assert Client().get(url).status_code == 302
    for who in (personas.sponsor, personas.champion, personas.employee, personas.outsider):
        client = personas.client_for(who)
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "Sneaky", "scope": "read-write"}).status_code == 403
    assert ApiToken.objects.count() == 0


def test_token_page_creates_shows_once_and_revokes(personas):
    client = personas.client_for(personas.admin)
    url = reverse("api:tokens")
    page = client.get(url)
    assert page.status_code == 200
    assert b"No API tokens yet." in page.content

    created = client.post(url, {"name": "Power BI", "scope": "read"})
    assert created.status_code == 200
    token = ApiToken.objects.get()
    raw = created.context["created"][1]
    assert raw.startswith(f"lh_{token.prefix}_")
    assert raw.encode() in created.content
    assert created["Cache-Control"].startswith("max-age=0")
    assert (token.name, token.scope, token.created_by) == ("Power BI", "read", personas.admin)
    again = client.get(url)
    assert raw.encode() not in again.content
    assert token.prefix.encode() in again.content

    revoked = client.post(reverse("api:token_revoke", args=[token.pk]), follow=True)
    assert revoked.status_code == 200
    assert "is revoked" in revoked.content.decode()
    assert ApiToken.objects.get().revoked_at is not None
    assert bearer(raw).get(PROGRAMS).status_code == 401


def test_token_page_bad_input_keeps_the_name_and_says_why(personas):
    client = personas.client_for(personas.admin)
    response = client.post(reverse("api:tokens"), {"name": "Power BI", "scope": "admin"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "scope": ["Select a valid choice. admin is not one of the available choices."]
    }
    assert b'value="Power BI"' in response.content
    assert ApiToken.objects.count() == 0


def test_revoke_is_refused_to_others(personas):
    token, _ = api_token_create(created_by=personas.admin, name="BI", scope="read")
    response = personas.client_for(personas.champion).post(reverse("api:token_revoke", args=[token.pk]))
    assert response.status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_the_token_page_answers_html_errors_like_the_rest_of_the_site(personas):
    """/api/tokens/ is a browser page under /api/: its refusals are pages, not the API's JSON."""
    token, _ = api_token_create(created_by=personas.admin, name="BI", scope="read")
    missing = personas.client_for(personas.admin).post(reverse("api:token_revoke", args=[token.pk + 1000]))
    refused = personas.client_for(personas.champion).post(reverse("api:token_revoke", args=[token.pk]))
    assert [(r.status_code, r["Content-Type"]) for r in (missing, refused)] == [
        (404, "text/html; charset=utf-8"),
        (403, "text/html; charset=utf-8"),
    ]
    assert ApiToken.objects.get().revoked_at is None


def test_admin_site_creates_a_token_shown_once(personas):
    client = personas.client_for(personas.admin)
    response = client.post("/admin/programs/apitoken/add/", {"name": "From admin", "scope": "read-write"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    raw = response.context["raw"]
    assert raw.startswith(f"lh_{token.prefix}_")
    assert token.created_by == personas.admin and token.scope == "read-write"
    assert api_token_find(raw=raw) == token
    change = client.get(f"/admin/programs/apitoken/{token.pk}/change/")
    assert change.status_code == 200
    assert token.secret_hash.encode() not in change.content
    client.post("/admin/programs/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert ApiToken.objects.get().revoked_at is not None


# --- The command ------------------------------------------------------------------------------


def test_create_api_token_command_prints_the_token_once(personas):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token", "ALICE@acme.example", "--name", "CLI", "--scope", "read-write", stdout=out, stderr=err
    )
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert api_token_find(raw=raw) == token
    assert (token.name, token.scope) == ("CLI", "read-write")
    assert "not shown again" in err.getvalue() and raw not in err.getvalue()


def test_create_api_token_command_refuses(personas):
    with pytest.raises(CommandError, match="No employee"):
        call_command("create_api_token", "nobody@acme.example", "--name", "CLI")
    with pytest.raises(CommandError, match="Only L&D admins"):
        call_command("create_api_token", personas.employee.email, "--name", "CLI")
    assert ApiToken.objects.count() == 0
