"""A line manager in the browser (issue 14): from the home page to "My team", which lists
their direct and indirect reports and nobody else, with the team's rate; they nudge a report
and read the outcome; a person who manages no one gets the refusal page. Checked by axe-core
(every page) and on a phone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browser.conftest import PHONE, horizontal_overflow, screenshot
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory, EnrollmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_sees_only_their_reports_and_nudges_one(page, personas, sign_in, mailoutbox, settings):
    settings.SITE_URL = "https://learnhub.example"
    maya = EmployeeFactory(email="maya@acme.example", full_name="Maya Manager", organization=personas.engineering)
    ivy = EmployeeFactory(
        email="ivy@acme.example", full_name="Ivy Report", organization=personas.engineering, manager=maya
    )
    EmployeeFactory(
        email="nora@acme.example", full_name="Nora Indirect", organization=personas.engineering, manager=ivy
    )
    other = EmployeeFactory(email="olga@acme.example", full_name="Olga Other", organization=personas.engineering)
    EmployeeFactory(
        email="omar@acme.example", full_name="Omar Elsewhere", organization=personas.engineering, manager=other
    )
    EnrollmentFactory(
        connection=ConnectionFactory(),
        employee=ivy,
        course=CourseFactory(title="Machine Learning"),
        progress=Decimal("60"),
    )

    sign_in(page, maya)
    page.get_by_role("link", name="My team").click()
    assert page.locator("h1").inner_text() == "My team"
    assert page.locator("#team-rate-title").inner_text() == "Learning Program 2026: 0 of 2 met the goal"
    people = page.locator("table.ranked tbody tr")
    assert [row.inner_text().split("\n")[0].strip() for row in people.all()] == ["Ivy Report", "Nora Indirect"]
    assert "In progress" in people.nth(0).inner_text() and "Not started" in people.nth(1).inner_text()
    assert "Omar" not in page.locator("main").inner_text()

    page.get_by_label("Select Ivy Report").check()
    page.get_by_role("button", name="Nudge the selected people").click()
    assert page.locator(".messages").inner_text().strip() == "Nudged 1 person by e-mail."
    assert [m.to for m in mailoutbox] == [["ivy@acme.example"]]
    assert mailoutbox[0].body.split("\n\n")[2].startswith("Your next step: finish Machine Learning.")

    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0
    screenshot(page, "my-team-phone")


def test_someone_who_manages_no_one_gets_the_refusal_page(page, browser_errors, personas, sign_in):
    sign_in(page, personas.employee)
    assert page.get_by_role("link", name="My team").count() == 0
    response = page.goto("/champions/team/")
    assert response is not None and response.status == 403
    assert "nobody on the roster reports to you" in page.locator("main").inner_text()
    assert [m.split(" (")[0] for m in browser_errors.console] == [
        "Failed to load resource: the server responded with a status of 403"
    ]
    browser_errors.console.clear()  # the browser logs the error status: expected here
