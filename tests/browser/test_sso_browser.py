"""Company sign-in end to end against a real OpenID Connect provider: the certified
`oidc-provider` package (npm, installed by `make browser-deps` into tests/oidc_idp/) runs
under Node on loopback, LearnHub runs under gunicorn with production settings, configured
through the documented OIDC_* environment variables, and chromium walks the whole flow:
LearnHub's sign-in page, the identity provider's sign-in page, the callback, the landing page.

Without Node or the package the tests are skipped with the reason, except under CI=true where
that is an error."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount
from django.utils import timezone

from programs.adapters import NOT_ON_ROSTER_MESSAGE
from programs.models import Employee
from tests.browser.conftest import BrowserErrors, checked_page, fail_on_browser_errors
from tests.factories import EmployeeFactory
from tests.worker_support import ROOT, free_port, gunicorn_site, in_ci

pytestmark = pytest.mark.django_db(transaction=True)

IDP_DIR = ROOT / "tests" / "oidc_idp"
CLIENT_ID = "learnhub"
CLIENT_SECRET = "test-only-client-secret-0123456789"
PROVIDER_ID = "company"
PROVIDER_NAME = "Acme SSO"


@dataclass
class SsoSite:
    url: str
    idp_url: str
    log: Path


def _idp_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is missing: install Node.js to run the company sign-in tests"
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        return f"{IDP_DIR}/node_modules is missing: run `make browser-deps`"
    return None


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[SsoSite]:
    """The identity provider and LearnHub, each knowing the other as a company would set them
    up: the IdP has LearnHub's redirect URI, LearnHub has the IdP's issuer and client."""
    missing = _idp_missing()
    if missing:
        if in_ci():
            pytest.fail(f"CI=true and {missing}", pytrace=False)
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("sso")
    site_port, idp_port = free_port(), free_port()
    site_url, idp_url = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{idp_port}"
    idp_env = {
        **os.environ,
        "ISSUER": idp_url,
        "PORT": str(idp_port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": f"{site_url}/accounts/oidc/{PROVIDER_ID}/login/callback/",
    }
    idp_log = tmp / "idp.log"
    with idp_log.open("w") as out:
        idp = subprocess.Popen(["node", "server.mjs"], cwd=IDP_DIR, env=idp_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        site_env = {
            "OIDC_SERVER_URL": idp_url,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_ID": PROVIDER_ID,
            "OIDC_PROVIDER_NAME": PROVIDER_NAME,
            "REDIS_URL": "",  # sign-in needs no worker: tasks run in process, the cache is local
        }
        with django_db_blocker.unblock(), gunicorn_site(tmp / "gunicorn.log", env=site_env, port=site_port) as url:
            deadline = time.monotonic() + 30
            while "listening" not in idp_log.read_text():
                if idp.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the identity provider did not start:\n{idp_log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield SsoSite(url=url, idp_url=idp_url, log=tmp / "gunicorn.log")
    finally:
        idp.terminate()
        idp.wait(timeout=10)


@pytest.fixture
def sso_page(browser, sso_site: SsoSite) -> Iterator:
    """A page that fails the test on LearnHub's JavaScript errors; the identity provider's own
    development pages (they ask the internet for a web font and have no favicon) are not ours to
    judge: only messages located on LearnHub's pages count."""
    errors = BrowserErrors()
    with checked_page(browser, sso_site.url, errors) as page:
        yield page
    errors.console = [message for message in errors.console if f"({sso_site.url}/" in message]
    fail_on_browser_errors(errors)


def sign_in_at_the_idp(page, site: SsoSite, email: str) -> None:
    """From LearnHub's sign-in page, through the identity provider's own sign-in page, back
    to LearnHub."""
    page.goto("/accounts/login/")
    with page.expect_navigation(url=f"{site.idp_url}/**"):
        page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    page.locator("input[name='login']").fill(email)
    page.locator("input[name='password']").fill("the IdP checks this, not LearnHub")
    with page.expect_navigation(url=f"{site.url}/**"):
        page.locator("button[type='submit']").click()
    page.wait_for_load_state()


def test_a_roster_employee_signs_in_at_the_identity_provider_and_lands_home(sso_page, sso_site):
    dana = EmployeeFactory(email="dana.data@acme.example", full_name="Dana Data", password=None)

    sign_in_at_the_idp(sso_page, sso_site, "Dana.Data@ACME.example")

    assert sso_page.url == f"{sso_site.url}/"
    assert sso_page.locator("header .who").inner_text() == dana.get_short_name()
    assert sso_page.locator("header .who").get_attribute("title") == "dana.data@acme.example"
    account = SocialAccount.objects.get(user=dana)
    assert (account.provider, account.uid) == (PROVIDER_ID, "Dana.Data@ACME.example")
    assert Employee.objects.count() == 1


def test_a_person_not_on_the_roster_is_refused_with_a_clear_page(sso_page, sso_site):
    EmployeeFactory(email="dana.data@acme.example", password=None)

    sign_in_at_the_idp(sso_page, sso_site, "visitor@acme.example")

    assert sso_page.url == f"{sso_site.url}/accounts/login/"
    assert NOT_ON_ROSTER_MESSAGE in sso_page.locator("main").inner_text()
    assert sso_page.locator("header .who").count() == 0
    assert list(Employee.objects.values_list("email", flat=True)) == ["dana.data@acme.example"]
    assert SocialAccount.objects.count() == 0


def test_a_departed_employee_is_refused(sso_page, sso_site):
    gone = EmployeeFactory(email="gone@acme.example", password=None)
    gone.departed_on = timezone.localdate() - dt.timedelta(days=1)
    gone.save(update_fields=["departed_on"])

    sign_in_at_the_idp(sso_page, sso_site, "gone@acme.example")

    assert sso_page.url == f"{sso_site.url}/accounts/login/"
    assert NOT_ON_ROSTER_MESSAGE in sso_page.locator("main").inner_text()
    assert sso_page.locator("header .who").count() == 0
    assert SocialAccount.objects.count() == 0
