"""An xapi connection for L&D admins: its page shows the addresses, the client id (the key)
and the statement counts; nobody else sees it; the client secret appears in no response
(pages, the Django admin, the API, the command, the xAPI answers). Also the command that
creates one, and the xAPI addresses under the production security settings."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse

from learnhub.api.services import api_token_create
from programs.models import ProviderConnection, XapiStatement
from programs.xapi.services import xapi_statements_process, xapi_statements_store
from programs.xapi.statements import statement_parsed
from tests.factories import EmployeeFactory, org
from tests.xapi_support import ATTEMPT, CLIENT_ID, ETHICS, SAFETY, SECRET, VOID_ETHICS, basic, xapi_connection

pytestmark = pytest.mark.django_db

RECEIVED = dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def lrs_connection() -> ProviderConnection:
    connection = xapi_connection(name="LinkedIn xAPI", client_id=CLIENT_ID, client_secret=SECRET)
    EmployeeFactory(email="sade@acme.example", organization=org("Acme/Support"))
    EmployeeFactory(email="wen@acme.example", organization=org("Acme/Support"))
    xapi_statements_store(
        connection=connection,
        statements=[statement_parsed(s) for s in (SAFETY, ETHICS, ATTEMPT, VOID_ETHICS)],
        received_at=RECEIVED,
    )
    xapi_statements_process(connection=connection)
    return connection


def detail_url(connection: ProviderConnection) -> str:
    return reverse("programs:providers:detail", args=[connection.pk])


def test_the_admin_sees_the_addresses_the_key_and_the_counts(personas, lrs_connection):
    page = personas.client_for(personas.admin).get(detail_url(lrs_connection)).content.decode()

    cid = lrs_connection.pk
    assert f"<code>http://testserver/xapi/{cid}/statements</code>" in page
    assert f"<code>http://testserver/xapi/{cid}/</code>" in page
    assert f"<code>http://testserver/xapi/{cid}/oauth2/token</code>" in page
    assert f"<code>{CLIENT_ID}</code>" in page
    assert "stored (never shown)" in page
    counts = {
        label: page.split(f'<th scope="row">{label}</th><td', 1)[1].split("</td>", 1)[0].split(">", 1)[1]
        for label in ("Received", "Completions", "Voided", "Waiting to be processed")
    }
    assert counts == {"Received": "4", "Completions": "1", "Voided": "1", "Waiting to be processed": "0"}
    assert '<time datetime="2025-01-06T09:30:00+00:00">6 Jan 2025 09:30</time>' in page
    assert "Sync now" not in page and "Upload a CSV export" not in page  # statements are pushed
    assert "<td>xapi</td>" in page  # the run that took them in, with the sync runs
    listed = personas.client_for(personas.admin).get(reverse("programs:providers:connections")).content.decode()
    assert "pushed by the provider" in listed


def test_the_addresses_follow_the_host_and_scheme_the_admin_uses(personas, lrs_connection, settings):
    settings.ALLOWED_HOSTS = ["learnhub.acme.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = personas.client_for(personas.admin)

    page = client.get(
        detail_url(lrs_connection), HTTP_HOST="learnhub.acme.example", HTTP_X_FORWARDED_PROTO="https"
    ).content.decode()

    assert f"<code>https://learnhub.acme.example/xapi/{lrs_connection.pk}/statements</code>" in page


def test_only_ld_admins_see_the_page_and_its_key(personas, lrs_connection):
    before = list(XapiStatement.objects.values_list("pk", "voided", "processed_at"))
    outcomes = {}
    for who in ("employee", "outsider", "champion", "sponsor"):
        response = personas.client_for(getattr(personas, who)).get(detail_url(lrs_connection))
        outcomes[who] = response.status_code
        assert CLIENT_ID not in response.content.decode()
    anonymous = Client().get(detail_url(lrs_connection))

    assert outcomes == dict.fromkeys(("employee", "outsider", "champion", "sponsor"), 403)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert list(XapiStatement.objects.values_list("pk", "voided", "processed_at")) == before


def test_the_secret_appears_in_no_response(personas, lrs_connection):
    admin = personas.client_for(personas.admin)
    _, token = api_token_create(created_by=personas.admin, name="BI", scope="read")
    statement = XapiStatement.objects.order_by("pk").first()
    assert statement is not None
    responses = [
        admin.get(reverse("programs:providers:connections")),
        admin.get(detail_url(lrs_connection)),
        admin.get(reverse("programs:providers:invalid")),
        admin.get(reverse("admin:programs_providerconnection_changelist")),
        admin.get(reverse("admin:programs_providerconnection_change", args=[lrs_connection.pk])),
        admin.get(reverse("admin:programs_xapistatement_changelist")),
        admin.get(reverse("admin:programs_xapistatement_change", args=[statement.pk])),
        Client().get("/api/v1/connections/", HTTP_AUTHORIZATION=f"Bearer {token}"),
        Client().post(
            reverse("xapi:token", args=[lrs_connection.pk]),
            urlencode({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}),
            content_type="application/x-www-form-urlencoded",
        ),
        Client().post(
            reverse("xapi:statements", args=[lrs_connection.pk]),
            json.dumps(SAFETY),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic(),
            HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
        ),
    ]

    assert [r.status_code for r in responses] == [200] * len(responses)
    for response in responses:
        assert SECRET not in response.content.decode()
        assert SECRET not in str(response.headers)


def test_provider_connection_creates_an_xapi_connection_and_prints_its_addresses(monkeypatch, settings):
    settings.SITE_URL = "https://learnhub.acme.example"
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)
    out = io.StringIO()

    call_command("provider_connection", "bw-xapi", "--kind", "xapi", "--client-id", "bw-lrs", stdout=out)

    connection = ProviderConnection.objects.get(name="bw-xapi")
    assert (connection.kind, connection.client_id, connection.client_secret, connection.is_active) == (
        "xapi",
        "bw-lrs",
        SECRET,
        True,
    )
    cid = connection.pk
    assert out.getvalue().splitlines() == [
        f"Created connection bw-xapi (xapi, active, id {cid}, client id bw-lrs). Client secret stored.",
        f"Statements endpoint: /xapi/{cid}/statements",
        f"OAuth2 token URL: /xapi/{cid}/oauth2/token",
        f"At SITE_URL: https://learnhub.acme.example/xapi/{cid}/statements and "
        f"https://learnhub.acme.example/xapi/{cid}/oauth2/token",
    ]
    assert SECRET not in out.getvalue()


def test_an_xapi_connection_needs_a_client_id(monkeypatch):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    with pytest.raises(CommandError) as refused:
        call_command("provider_connection", "bw-xapi", "--kind", "xapi", stdout=io.StringIO())

    assert str(refused.value) == "xAPI statements connections need a client id (--client-id)."
    assert not ProviderConnection.objects.exists()


PRODUCTION = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["learnhub.acme.example"],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
}


def xapi_post(client: Client, connection: ProviderConnection, **headers: str):
    return client.post(
        reverse("xapi:statements", args=[connection.pk]),
        json.dumps(SAFETY),
        content_type="application/json",
        HTTP_HOST="learnhub.acme.example",
        HTTP_AUTHORIZATION=basic(),
        HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
        **headers,
    )


@override_settings(**PRODUCTION)
def test_statements_are_taken_under_the_production_security_settings():
    connection = xapi_connection(name="prod", client_id=CLIENT_ID, client_secret=SECRET)
    client = Client(enforce_csrf_checks=True)  # no CSRF token: the xAPI addresses are exempt, on purpose

    over_https = xapi_post(client, connection, HTTP_X_FORWARDED_PROTO="https")

    assert over_https.status_code == 200
    assert over_https.json() == [SAFETY["id"]]
    assert over_https["Strict-Transport-Security"].startswith("max-age=31536000")
    assert XapiStatement.objects.count() == 1


@override_settings(**PRODUCTION)
def test_plain_http_is_sent_to_https_and_unknown_xapi_addresses_answer_json():
    connection = xapi_connection(name="prod", client_id=CLIENT_ID, client_secret=SECRET)
    client = Client(enforce_csrf_checks=True)

    plain = xapi_post(client, connection)
    unknown = client.post(
        "/xapi/nowhere", HTTP_HOST="learnhub.acme.example", HTTP_X_FORWARDED_PROTO="https", content_type=""
    )

    assert (plain.status_code, plain["Location"]) == (
        301,
        f"https://learnhub.acme.example/xapi/{connection.pk}/statements",
    )
    assert XapiStatement.objects.count() == 0
    assert (unknown.status_code, unknown["Content-Type"], unknown.json()) == (
        404,
        "application/json",
        {"error": "No such xAPI address: statements go to /xapi/<connection id>/statements."},
    )


def test_other_posts_still_need_the_csrf_token(personas):
    """The exemption is the xAPI addresses' only: a signed-in form post without the token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.admin)

    response = client.post(reverse("programs:providers:unmatched_rematch"))

    assert response.status_code == 403
