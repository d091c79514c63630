"""Smoke test of the whole stack in a real browser: sign-in form, home page, phone layout."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import ARTIFACTS, PHONE, horizontal_overflow, screenshot

pytestmark = pytest.mark.browser


def test_employee_signs_in_through_the_form_and_sees_home(page, personas, sign_in):
    sign_in(page, personas.employee)

    assert urlsplit(page.url).path == "/"
    assert page.locator("h1").inner_text() == "Welcome, Bob"
    assert page.locator("main h2").first.inner_text() == "Learning Program 2026"
    assert page.locator(".account-nav .who").inner_text() == "Bob"


def test_home_fits_a_phone_without_sideways_scrolling(page, personas, sign_in):
    page.set_viewport_size(PHONE)
    sign_in(page, personas.employee)

    assert page.evaluate("window.innerWidth") == 390
    assert horizontal_overflow(page) <= 0
    assert page.locator("h1").is_visible()
    shot = screenshot(page, "smoke-home-phone")
    assert shot == ARTIFACTS / "smoke-home-phone.png"
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_anonymous_visitor_is_sent_to_sign_in(page, db):
    page.goto("/")

    url = urlsplit(page.url)
    assert url.path == "/accounts/login/"
    assert url.query == "next=/"
    assert page.locator("input[name='login']").is_visible()


def test_page_fixture_records_javascript_errors(page, browser_errors, db):
    page.goto("/accounts/login/")
    page.evaluate("console.error('logged by the page')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('thrown by the page') }, 0)")

    assert [message.split(" (")[0] for message in browser_errors.console] == ["logged by the page"]
    assert browser_errors.page == ["thrown by the page"]
    # These errors were provoked on purpose: clear them so the fixture does not fail this test.
    browser_errors.console.clear()
    browser_errors.page.clear()
