"""The API docs page (/api/docs/, Swagger UI) in a real browser under the site's strict
Content-Security-Policy: an anonymous visitor signs in and comes back to it, the schema
loads and every operation is listed, with no console error and no CSP violation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import verified_email
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Recorded from the first script on: a blocked script, style or fetch fires this event.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`);
});
"""
OPERATIONS = 20


def test_anonymous_visitor_signs_in_and_comes_back_to_the_docs(page, personas):
    verified_email(personas.employee)
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    page.goto("/api/docs/")
    login = urlsplit(page.url)
    assert (login.path, login.query) == ("/accounts/login/", "next=/api/docs/")
    form = page.locator("form:has(input[name='login'])").first
    form.locator("input[name='login']").fill(personas.employee.email)
    form.locator("input[name='password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type='submit'], input[type='submit']").first.click()

    assert urlsplit(page.url).path == "/api/docs/"
    page.locator(".swagger-ui .info .title").wait_for()
    page.locator(".swagger-ui .opblock").nth(OPERATIONS - 1).wait_for()
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("LearnHub API")
    assert page.locator(".swagger-ui .opblock").count() == OPERATIONS
    assert page.locator(".swagger-ui .errors-wrapper").count() == 0  # the schema loaded and parsed
    assert page.evaluate("window.cspViolations") == []


def test_an_operation_opens_documents_its_errors_and_runs(page, personas, sign_in):
    sign_in(page, personas.admin)
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    page.goto("/api/docs/")
    summary = page.locator(".opblock-summary", has_text="/api/v1/programs/{id}/progress/")
    summary.click()
    responses = page.locator(".opblock.is-open tr.response[data-code]")
    responses.first.wait_for()
    assert responses.evaluate_all("rows => rows.map((row) => row.dataset.code)") == [
        "200",
        "400",
        "401",
        "403",
        "404",
        "429",
    ]

    operation = page.locator(".opblock.is-open")
    operation.locator("button.try-out__btn").click()
    operation.locator("tr[data-param-name='id'] input").fill(str(personas.program.pk))
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for()
    assert status.inner_text() == "200"
    assert (
        '"program": "Learning Program 2026"'
        in operation.locator(".live-responses-table .microlight").first.inner_text()
    )
    assert page.evaluate("window.cspViolations") == []
