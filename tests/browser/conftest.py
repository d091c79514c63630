"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

- One headless chromium per test session; a fresh browser context per test.
- The `page` fixture records console errors, uncaught page errors and Content-Security-
  Policy violations (the app's real policy is on, as in production) and fails the test
  when any happened, so a broken script, a missing asset or an inline script or style
  the policy blocks cannot pass unnoticed.
- `sign_in(page, person)` goes through the real sign-in form, as a person would.

Without /usr/bin/chromium the browser tests are skipped with a reason, except under CI=true
where a missing browser is an error (CI must not pass by skipping them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress

from programs.models import Employee
from tests.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium chromium-driver)"
        if _in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API leaves an event loop running in this thread; Django refuses ORM
    # calls from a thread with a running loop unless told it is safe (it is: the loop only
    # drives the browser). Set only once a browser test runs, and restored at the end.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class BrowserErrors:
    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)
    policy: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return (
            [f"console: {m}" for m in self.console]
            + [f"page error: {m}" for m in self.page]
            + [f"Content-Security-Policy violation: {m}" for m in self.policy]
        )


# Runs in every page before its own scripts (Playwright init scripts are not subject to the
# page's policy): each `securitypolicyviolation` event is reported through a binding.
REPORT_POLICY_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__lhReportViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@contextmanager
def checked_page(browser, base_url: str, errors: BrowserErrors) -> Iterator:
    """A fresh page (own cookies) on `base_url` that records JavaScript errors and policy
    violations in `errors`."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.expose_binding("__lhReportViolation", lambda source, text: errors.policy.append(text))
    context.add_init_script(REPORT_POLICY_VIOLATIONS)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            errors.console.append(f"{msg.text} ({msg.location.get('url', '')})") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.page.append(str(error)))
    try:
        yield page
    finally:
        context.close()


def fail_on_browser_errors(errors: BrowserErrors) -> None:
    if errors.all():
        pytest.fail("JavaScript errors in the browser:\n" + "\n".join(errors.all()), pytrace=False)


@pytest.fixture
def page(browser, live_server, browser_errors: BrowserErrors) -> Iterator:
    """A fresh page (own cookies) on the live server; fails the test on any JavaScript error."""
    with checked_page(browser, live_server.url, browser_errors) as page:
        yield page
    fail_on_browser_errors(browser_errors)


def verified_email(person: Employee) -> EmailAddress:
    """allauth requires a verified e-mail before sign-in (ACCOUNT_EMAIL_VERIFICATION=mandatory)."""
    address, _ = EmailAddress.objects.update_or_create(
        user=person, email=person.email, defaults={"verified": True, "primary": True}
    )
    return address


def sign_in_through_form(page, person: Employee, password: str = PASSWORD) -> None:
    """Sign in as `person` with the real form at /accounts/login/ and wait for the next page."""
    verified_email(person)
    page.goto("/accounts/login/")
    form = page.locator("form[action$='/accounts/login/'], form:has(input[name='login'])").first
    form.locator("input[name='login']").fill(person.email)
    form.locator("input[name='password']").fill(password)
    with page.expect_navigation():
        form.locator("button[type='submit'], input[type='submit']").first.click()
    if "/accounts/login/" in page.url:
        raise AssertionError(f"sign-in as {person.email} failed; the page says: {page.inner_text('main, body')[:500]}")


@pytest.fixture
def sign_in() -> Callable[..., None]:
    return sign_in_through_form


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/browser/<name>.png (git-ignored; CI can
    keep the folder) and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page) -> int:
    """Pixels the document is wider than the viewport (0 when nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
