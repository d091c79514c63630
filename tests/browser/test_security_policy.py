"""The browser tests run under the app's real Content-Security-Policy and Permissions-Policy
(django-csp, django-permissions-policy), and the `page` fixture fails a test on any policy
violation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import BrowserErrors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_carry_the_policies(page, personas, sign_in):
    sign_in(page, personas.employee)
    response = page.goto("/")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert "camera=()" in response.headers["permissions-policy"]


POLICY_REPORT_WAITS = 50  # of 100 ms


def test_an_inline_script_or_style_is_caught_as_a_violation(page, personas, sign_in, browser_errors: BrowserErrors):
    sign_in(page, personas.employee)
    page.goto("/")
    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
        document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
    }"""
    )
    for _ in range(POLICY_REPORT_WAITS):  # the reports come through a binding, a moment later
        if len(browser_errors.policy) >= 2:
            break
        page.wait_for_timeout(100)
    caught = list(browser_errors.policy)
    browser_errors.policy.clear()
    browser_errors.console.clear()  # chromium also logs each refusal to the console

    assert page.evaluate("window.injected === true") is False
    assert any(v.startswith("script-src-elem blocked inline") for v in caught), caught
    assert any(v.startswith("style-src-attr blocked inline") for v in caught), caught
