"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

- One headless chromium per test session; a fresh browser context per test.
- The `page` fixture records console errors, uncaught page errors and Content-Security-
  Policy violations (the app's real policy is on, as in production) and fails the test
  when any happened, so a broken script, a missing asset or an inline script or style
  the policy blocks cannot pass unnoticed.
- axe-core checks every page of the site a test visits, on the way out (when the next
  navigation starts, before its request is let through) and at the end of the test: a
  serious or critical finding fails the test like a JavaScript error (Django's own admin,
  /admin/, is left out: its markup is Django's). axe-core is an npm
  package pinned in tests/browser/axe/package-lock.json (`make test` runs `npm ci`);
  Playwright adds it to each document as an init script, which the page's Content-
  Security-Policy does not apply to, so the app never serves it.
- `sign_in(page, person)` goes through the real sign-in form, as a person would.

Without /usr/bin/chromium or axe-core the browser tests are skipped with a reason, except
under CI=true where a missing browser or axe-core is an error (CI must not pass by skipping
them).
"""

from __future__ import annotations

import functools
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
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
# In every document of the site (not its frames), once it has loaded: axe-core's serious and
# critical findings, each as "impact rule: help at the first elements it names" so a
# failure says where to look, reported through a binding; `window.__lhAxeRun` is that
# run. Only HTML documents are pages (a JSON answer or a CSV file is not checked).
RUN_AXE = """async () => {
  if (document.contentType !== "text/html" || typeof axe === "undefined") return [];
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => ["serious", "critical"].includes(v.impact)).map(v => v.impact + " "
    + v.id + ": " + v.help + " at " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""
# Django's own admin (/admin/) is Django's markup and widgets (select2, split date and time
# fields), not ours to change: it is left out.
NOT_CHECKED = "/admin/"
# A document that never finishes loading or checking reports that after AXE_DEADLINE_MS, so a
# navigation held for its check is let go and the test fails with the reason, never hangs.
AXE_DEADLINE_MS = 30_000
# axe-core refuses a second run while one is going, so every run of a document (its own
# check on load and a test's `axe_findings`) waits for the one before it.
CHECK_EACH_DOCUMENT = f"""
let axeQueue = Promise.resolve();
window.__lhAxeCheck = () => (axeQueue = axeQueue.then({RUN_AXE}, {RUN_AXE}));
if (window === window.top && !location.pathname.startsWith("{NOT_CHECKED}")) {{
  window.__lhAxeStarted();
  let reported = false;
  const report = (found) => {{ if (!reported) {{ reported = true; window.__lhAxeReport(location.href, found); }} }};
  const late = ["axe-core did not finish checking the page within {AXE_DEADLINE_MS} ms"];
  setTimeout(() => report(late), {AXE_DEADLINE_MS});
  window.addEventListener("load", () => {{
    const failed = (error) => report(["axe-core could not check the page: " + error]);
    window.__lhAxeRun = window.__lhAxeCheck().then(report, failed);
  }});
}}
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(message: str) -> None:
    if _in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@functools.cache
def _axe_source() -> str:
    return AXE.read_text()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium chromium-driver)")
    if not AXE.exists():
        _missing(f"{AXE} is missing: run `npm ci --prefix tests/browser/axe` (make test does)")
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
    accessibility: dict[str, list[str]] = field(default_factory=dict)  # page path -> axe-core findings

    def all(self) -> list[str]:
        return (
            [f"console: {m}" for m in self.console]
            + [f"page error: {m}" for m in self.page]
            + [f"Content-Security-Policy violation: {m}" for m in self.policy]
            + [f"axe-core on {path}: {m}" for path, found in self.accessibility.items() for m in found]
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


def axe_findings(page) -> list[str]:
    """axe-core's serious and critical findings on the page's current document."""
    return page.evaluate(f"() => window.__lhAxeCheck ? window.__lhAxeCheck() : ({RUN_AXE})()")


@dataclass
class AccessibilityWatch:
    """Holds each navigation of the page until axe-core has checked the document it
    leaves (a document of the site reports its findings once it has loaded), so no page a
    test visits goes unchecked, however fast the test moves on."""

    base_url: str
    errors: BrowserErrors
    unchecked: bool = False  # the current document has not reported yet
    held: list = field(default_factory=list)  # navigations waiting for that report

    def started(self, source: dict) -> None:
        self.unchecked = source["frame"].url.startswith(self.base_url)

    def report(self, source: dict, url: str, findings: list[str]) -> None:
        if findings and url.startswith(self.base_url):  # another site's page (an IdP) is not ours
            path = url[len(self.base_url) :] or "/"
            self.errors.accessibility[path] = sorted({*self.errors.accessibility.get(path, []), *findings})
        self.unchecked = False
        while self.held:
            self.held.pop(0).fallback()

    def route(self, route, request) -> None:
        if self.unchecked and request.is_navigation_request() and request.frame.parent_frame is None:
            self.held.append(route)
        else:
            route.fallback()


@contextmanager
def checked_page(browser, base_url: str, errors: BrowserErrors) -> Iterator:
    """A fresh page (own cookies) on `base_url` that records JavaScript errors, policy
    violations and axe-core's findings on every page of the site it shows in `errors`."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.expose_binding("__lhReportViolation", lambda source, text: errors.policy.append(text))
    context.add_init_script(REPORT_POLICY_VIOLATIONS)
    watch = AccessibilityWatch(base_url=base_url, errors=errors)
    context.expose_binding("__lhAxeStarted", watch.started)
    context.expose_binding("__lhAxeReport", watch.report)
    context.add_init_script(_axe_source())
    context.add_init_script(CHECK_EACH_DOCUMENT)
    page = context.new_page()
    page.route("**/*", watch.route)
    page.on(
        "console",
        lambda msg: (
            errors.console.append(f"{msg.text} ({msg.location.get('url', '')})") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.page.append(str(error)))
    try:
        yield page
        page.evaluate("() => window.__lhAxeRun")  # the last page's check ends before the test does
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
    """Pixels the document is wider than the viewport (0 when nothing scrolls sideways), once
    the page has loaded: its stylesheet applied (a click that submits a form may return before
    it). Reading scrollWidth lays the page out at the viewport's size."""
    page.wait_for_load_state("load")
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
