"""Optional company SSO through allauth's OpenID Connect provider: the real flow, against a
real local identity provider (an HTTP server in a thread): discovery, authorize, token
(client secret and PKCE checked), userinfo. SSO signs in roster employees only, by
verified e-mail, and never creates an employee."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from programs.adapters import NOT_ON_ROSTER_MESSAGE, SSO_EMAIL_NOT_VERIFIED_MESSAGE, SSO_OTHER_PERSON_MESSAGE
from programs.models import Employee
from tests.conftest import PASSWORD
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
CLIENT_ID = "learnhub-test-client"
CLIENT_SECRET = "idp-client-secret-for-tests-only"
PROVIDER_ID = "company"
LOGIN_URL = "/accounts/login/"
SSO_LOGIN_URL = f"/accounts/oidc/{PROVIDER_ID}/login/"
CALLBACK_PATH = f"/accounts/oidc/{PROVIDER_ID}/login/callback/"


def b64url_sha256(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()).rstrip(b"=").decode()


@dataclass
class FakeIdP:
    """A minimal OpenID Connect provider. `sign_in_as` sets the claims of the person who
    "signs in" at the next /authorize; the token endpoint checks the client secret, the
    code, the redirect URI and the PKCE verifier like a real IdP would."""

    base_url: str = ""
    next_claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def sign_in_as(self, **claims: Any) -> None:
        self.next_claims = {"sub": f"idp-{claims['email'].lower()}", **claims}

    def configuration(self) -> dict[str, Any]:
        return {
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "userinfo_endpoint": f"{self.base_url}/userinfo",
            "jwks_uri": f"{self.base_url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the IdP sends the browser back to, with a fresh code."""
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        assert "openid" in query["scope"].split()
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "claims": dict(self.next_claims),
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
        }
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        grant = self.codes.pop(form.get("code", ""), None)
        if (
            form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
            or b64url_sha256(form.get("code_verifier", "")) != grant["code_challenge"]
        ):
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        id_claims = {
            **grant["claims"],
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        if grant["nonce"]:
            id_claims["nonce"] = grant["nonce"]
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = grant["claims"]
        id_token = jwt.encode(id_claims, CLIENT_SECRET, algorithm="HS256")
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}


def serve(idp: FakeIdP, port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any] | None = None, location: str | None = None) -> None:
            payload = json.dumps(body or {}).encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, idp.configuration())
            elif url.path == "/authorize":
                self._send(302, location=idp.authorize(query))
            elif url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                claims = idp.tokens.get(token)
                self._send(200, claims) if claims is not None else self._send(401, {"error": "invalid_token"})
            elif url.path == "/jwks":
                self._send(200, {"keys": []})
            else:
                self._send(404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._send(*idp.token(form))
            else:
                self._send(404)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    idp.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    # shutdown() waits for the next poll: 0.05 s, not the default 0.5 s, per test
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def idp(settings) -> Iterator[FakeIdP]:
    """A running identity provider, and LearnHub configured for it the way the OIDC_*
    environment variables configure it (learnhub/settings.py)."""
    cache.clear()  # allauth's rate limits and used-token (jti) list live in the cache
    fake = FakeIdP()
    server, thread = serve(fake)
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": PROVIDER_ID,
                    "name": "Okta",
                    "client_id": CLIENT_ID,
                    "secret": CLIENT_SECRET,
                    "settings": {"server_url": fake.base_url, "fetch_userinfo": True},
                }
            ],
        }
    }
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def sso_sign_in(client: Client, idp: FakeIdP, *, next_url: str | None = None, process: str | None = None):
    """The browser's part: press the SSO button, follow the redirect to the IdP's
    /authorize (a real HTTP request), then come back to LearnHub's callback."""
    params = {k: v for k, v in {"next": next_url, "process": process}.items() if v}
    action = SSO_LOGIN_URL + (f"?{urlencode(params)}" if params else "")
    response = client.post(action)
    assert response.status_code == 302
    assert response.url.startswith(f"{idp.base_url}/authorize?")
    authorize_query = {k: v[0] for k, v in parse_qs(urlsplit(response.url).query).items()}
    assert urlsplit(authorize_query["redirect_uri"]).path == CALLBACK_PATH

    at_idp = requests.get(response.url, allow_redirects=False, timeout=5)
    assert at_idp.status_code == 302
    back = urlsplit(at_idp.headers["Location"])
    assert back.path == CALLBACK_PATH
    return client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})


def signed_in_pk(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def error_messages(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request) if "error" in m.tags]


def roster(email: str, **fields: Any) -> Employee:
    """On the roster, never signed up: no usable password."""
    return EmployeeFactory(email=email, password=None, **fields)


def test_roster_employee_signs_in_and_is_linked(client, idp):
    dana = roster("dana@acme.example", full_name="Dana Data")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="Dana@ACME.example", email_verified=True, name="Dana From Okta")

    response = sso_sign_in(client, idp, next_url="/reports/")

    assert response.status_code == 302
    assert response.url == "/reports/"
    assert signed_in_pk(client) == str(dana.pk)
    assert Employee.objects.count() == employees_before
    account = SocialAccount.objects.get()
    assert (account.user_id, account.provider, account.uid) == (dana.pk, PROVIDER_ID, "idp-dana@acme.example")
    assert list(EmailAddress.objects.filter(user=dana).values_list("email", "primary", "verified")) == [
        ("dana@acme.example", True, True)
    ]
    dana.refresh_from_db()
    assert dana.full_name == "Dana Data"  # the roster's name, not the IdP's
    assert dana.email == "dana@acme.example"
    assert dana.has_usable_password() is False  # SSO needs no password
    assert idp.token_requests == 1

    # The next time: the same link, no second SocialAccount, signed in again.
    again = Client()
    response = sso_sign_in(again, idp)
    assert response.status_code == 302
    assert response.url == "/"
    assert signed_in_pk(again) == str(dana.pk)
    assert SocialAccount.objects.count() == 1


def test_claimed_employee_with_verified_address_keeps_the_password(client, idp):
    bob = EmployeeFactory(email="bob@acme.example")
    EmailAddress.objects.create(user=bob, email="bob@acme.example", primary=True, verified=True)
    idp.sign_in_as(email="bob@acme.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert response.status_code == 302
    assert signed_in_pk(client) == str(bob.pk)
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD) is True
    assert SocialAccount.objects.filter(user=bob).count() == 1


def test_password_set_on_an_unverified_address_is_wiped(client, idp):
    """Someone claimed Erin's row with her address but never confirmed it: when Erin
    proves the address through SSO, that password stops working."""
    erin = EmployeeFactory(email="erin@acme.example")
    EmailAddress.objects.create(user=erin, email="erin@acme.example", primary=True, verified=False)
    idp.sign_in_as(email="erin@acme.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert response.status_code == 302
    assert signed_in_pk(client) == str(erin.pk)
    erin.refresh_from_db()
    assert erin.has_usable_password() is False
    assert list(EmailAddress.objects.filter(user=erin).values_list("email", "primary", "verified")) == [
        ("erin@acme.example", True, True)
    ]


def assert_refused(client: Client, response, message: str, employees_before: int) -> None:
    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert error_messages(response) == [message]
    assert signed_in_pk(client) is None
    assert Employee.objects.count() == employees_before
    assert SocialAccount.objects.count() == 0


def test_unknown_email_is_refused_and_no_employee_is_created(client, idp):
    roster("dana@acme.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="stranger@acme.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, NOT_ON_ROSTER_MESSAGE, employees_before)
    assert not Employee.objects.filter(email__iexact="stranger@acme.example").exists()
    assert EmailAddress.objects.count() == 0
    page = client.get(LOGIN_URL)
    assert escape(NOT_ON_ROSTER_MESSAGE) in page.content.decode()


def test_unverified_email_is_refused(client, idp):
    dana = roster("dana@acme.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="dana@acme.example", email_verified=False)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, SSO_EMAIL_NOT_VERIFIED_MESSAGE, employees_before)
    assert EmailAddress.objects.filter(user=dana).count() == 0


def test_missing_email_verified_claim_is_refused(client, idp):
    roster("dana@acme.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="dana@acme.example")

    response = sso_sign_in(client, idp)

    assert_refused(client, response, SSO_EMAIL_NOT_VERIFIED_MESSAGE, employees_before)


def test_entra_id_domain_verified_claim_stands_in_for_email_verified(client, idp):
    dana = roster("dana@acme.example")
    idp.sign_in_as(email="dana@acme.example", xms_edov=True)

    response = sso_sign_in(client, idp)

    assert response.status_code == 302
    assert signed_in_pk(client) == str(dana.pk)


def test_entra_id_unverified_domain_is_refused(client, idp):
    roster("dana@acme.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="dana@acme.example", xms_edov=False)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, SSO_EMAIL_NOT_VERIFIED_MESSAGE, employees_before)


def test_email_verified_false_wins_over_a_verified_domain(client, idp):
    roster("dana@acme.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="dana@acme.example", email_verified=False, xms_edov=True)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, SSO_EMAIL_NOT_VERIFIED_MESSAGE, employees_before)


def test_wrong_domain_is_refused_even_for_a_roster_row(client, idp, settings):
    settings.SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    casey = roster("casey@contractor.example")
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="casey@contractor.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, "Use your company e-mail address (@acme.example).", employees_before)
    assert EmailAddress.objects.filter(user=casey).count() == 0


def test_departed_employee_is_refused_with_the_signup_message(client, idp):
    gone = roster("gone@acme.example", departed_on=timezone.localdate())
    employees_before = Employee.objects.count()
    idp.sign_in_as(email="gone@acme.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert_refused(client, response, NOT_ON_ROSTER_MESSAGE, employees_before)
    assert EmailAddress.objects.filter(user=gone).count() == 0


def test_linked_employee_who_departs_can_no_longer_sign_in(client, idp):
    fran = roster("fran@acme.example")
    idp.sign_in_as(email="fran@acme.example", email_verified=True)
    assert sso_sign_in(Client(), idp).status_code == 302
    assert SocialAccount.objects.filter(user=fran).count() == 1
    fran.departed_on = timezone.localdate() - dt.timedelta(days=1)
    fran.save(update_fields=["departed_on"])

    response = sso_sign_in(client, idp)

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert error_messages(response) == [NOT_ON_ROSTER_MESSAGE]
    assert signed_in_pk(client) is None
    assert SocialAccount.objects.filter(user=fran).count() == 1


def test_the_idp_refusing_the_client_secret_signs_no_one_in(client, idp, settings):
    roster("dana@acme.example")
    settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]["secret"] = "not-the-secret"
    idp.sign_in_as(email="dana@acme.example", email_verified=True)

    response = sso_sign_in(client, idp)

    assert response.status_code == 401
    assert "Company sign-in failed" in response.content.decode()
    assert idp.token_requests == 1
    assert signed_in_pk(client) is None
    assert SocialAccount.objects.count() == 0


def test_signed_in_employee_links_only_their_own_company_identity(idp):
    bob = EmployeeFactory(email="bob@acme.example")
    EmailAddress.objects.create(user=bob, email="bob@acme.example", primary=True, verified=True)
    dana = roster("dana@acme.example")
    browser = Client()
    browser.force_login(bob)

    idp.sign_in_as(email="dana@acme.example", email_verified=True)
    response = sso_sign_in(browser, idp, process="connect")

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert error_messages(response) == [SSO_OTHER_PERSON_MESSAGE]
    assert SocialAccount.objects.count() == 0
    assert EmailAddress.objects.filter(user=dana).count() == 0
    assert signed_in_pk(browser) == str(bob.pk)

    idp.sign_in_as(email="bob@acme.example", email_verified=True)
    response = sso_sign_in(browser, idp, process="connect")

    assert response.status_code == 302
    assert response.url == "/accounts/3rdparty/"
    assert list(SocialAccount.objects.values_list("user_id", "uid")) == [(bob.pk, "idp-bob@acme.example")]
    assert signed_in_pk(browser) == str(bob.pk)


def test_login_and_signup_pages_show_the_button_when_configured(client, idp):
    for url in (LOGIN_URL, "/accounts/signup/"):
        body = client.get(url).content.decode()
        assert f'action="{SSO_LOGIN_URL}"' in body
        assert "Sign in with Okta" in body
    body = client.get(LOGIN_URL, {"next": "/reports/"}).content.decode()
    assert f'action="{SSO_LOGIN_URL}?next=%2Freports%2F"' in body


def test_without_oidc_settings_there_is_no_button_and_no_provider(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    for url in (LOGIN_URL, "/accounts/signup/"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "/accounts/oidc/" not in body
        assert "Sign in with" not in body
    assert client.post(SSO_LOGIN_URL).status_code == 404
    assert client.get(CALLBACK_PATH, {"code": "x", "state": "y"}).status_code == 404


def settings_in_subprocess(**env: str) -> subprocess.CompletedProcess[str]:
    """Start Django's settings fresh with exactly these OIDC_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "learnhub.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_build_the_provider_from_the_environment():
    result = settings_in_subprocess(
        OIDC_PROVIDER_NAME="Okta",
        OIDC_SERVER_URL="https://acme.okta.example",
        OIDC_CLIENT_ID="abc",
        OIDC_CLIENT_SECRET="s3cret",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "company",
                    "name": "Okta",
                    "client_id": "abc",
                    "secret": "s3cret",
                    "settings": {"server_url": "https://acme.okta.example", "fetch_userinfo": True},
                }
            ],
        }
    }
    assert json.loads(settings_in_subprocess().stdout) == {}


def test_a_missing_client_secret_stops_start_up():
    result = settings_in_subprocess(
        OIDC_PROVIDER_NAME="Okta", OIDC_SERVER_URL="https://acme.okta.example", OIDC_CLIENT_ID="abc"
    )
    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: Company SSO is partly configured: set OIDC_CLIENT_SECRET "
        "as well (or unset every OIDC_* variable to turn SSO off)."
    ) in result.stderr
