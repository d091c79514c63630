"""The communication pages in a real browser under the real Content-Security-Policy (the
`page` fixture fails on any violation), on a phone: the unsubscribe confirmation, done
and expired pages, and a refused webhook URL on the message settings page."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.urls import reverse

from reports.messaging.unsubscribe import UNSUBSCRIBE_SALT, unsubscribe_token
from reports.models import OrgWebhook, Unsubscribe
from tests.browser.conftest import PHONE, BrowserErrors, horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class SignedDaysAgo(signing.TimestampSigner):
    def __init__(self, days: int) -> None:
        super().__init__(salt=UNSUBSCRIBE_SALT)
        self.days = days

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - self.days * 24 * 3600)


def page_status_was_logged(browser_errors: BrowserErrors, status: str) -> None:
    """Chromium logs a page answered 4xx as a console error: that line (and only it) is
    expected here. CSP violations are recorded apart and still fail the test."""
    logged = [line.split(" (http")[0] for line in browser_errors.console]
    assert logged == [f"Failed to load resource: the server responded with a status of {status}"]
    browser_errors.console.clear()


def test_unsubscribing_on_a_phone_without_signing_in(page, personas):
    page.set_viewport_size(PHONE)
    url = reverse("reports:unsubscribe", args=[unsubscribe_token(employee=personas.employee, kind="nudge")])

    page.goto(url)
    assert page.locator("h1").inner_text() == "Unsubscribe?"
    assert horizontal_overflow(page) == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe").click()

    assert page.locator("h1").inner_text() == "You are unsubscribed"
    assert list(Unsubscribe.objects.values_list("employee__email", "kind")) == [("bob@acme.example", "nudge")]


def test_an_expired_link_says_what_to_do_on_a_phone(page, personas, browser_errors):
    page.set_viewport_size(PHONE)
    token = unsubscribe_token(employee=personas.employee, kind="nudge", signer=SignedDaysAgo(400))

    response = page.goto(reverse("reports:unsubscribe", args=[token]))

    assert response is not None and response.status == 410
    assert page.locator("h1").inner_text() == "This unsubscribe link has expired"
    assert page.get_by_role("link", name="sign in to LearnHub").get_attribute("href") == "/accounts/login/"
    assert horizontal_overflow(page) == 0
    assert Unsubscribe.objects.count() == 0
    page_status_was_logged(browser_errors, "410 (Gone)")


def test_a_private_webhook_url_is_refused_with_its_reason_next_to_the_field(
    page, personas, sign_in, settings, browser_errors
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    sign_in(page, personas.admin)
    page.set_viewport_size(PHONE)
    page.goto(reverse("reports:message_settings", args=[personas.program.pk]))

    webhook_form = page.locator("form:has(input[name='form'][value='webhook'])")
    webhook_form.get_by_label("Organization", exact=True).select_option(label="Acme/Sales")
    webhook_form.get_by_label("Incoming-webhook URL").fill("https://169.254.169.254/latest/meta-data/")
    with page.expect_navigation():
        webhook_form.get_by_role("button", name="Save webhook").click()

    assert "169.254.169.254 is a private, local or reserved address" in webhook_form.inner_text()
    assert horizontal_overflow(page) == 0
    assert OrgWebhook.objects.count() == 0
    page_status_was_logged(browser_errors, "400 (Bad Request)")
