"""An L&D admin's journey in a real browser: create a program with a 90% target, clone it
for next year, edit the new target and read the audit trail; on a laptop and a phone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from programs.models import LearningProgram
from tests.browser.conftest import PHONE, horizontal_overflow

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp/h11-{}.png"  # noqa: S108 - screenshots for people to look at, not secrets


def test_an_ld_admin_creates_a_program_clones_it_and_sees_the_target_edit_in_the_audit_trail(page, personas, sign_in):
    sign_in(page, personas.admin)

    page.get_by_role("link", name="Manage").click()
    assert page.locator("h1").inner_text() == "L&D admin"
    page.screenshot(path=SCREENSHOTS.format("home-desktop"), full_page=True)
    page.locator("main").get_by_role("link", name="Programs", exact=True).click()
    page.get_by_role("link", name="New program").click()

    page.get_by_label("Name").fill("Learning Program 2030")
    page.get_by_label("Starts on").fill("2030-01-01")
    page.get_by_label("Ends on").fill("2030-12-31")
    page.get_by_label("Target (% of employees)").fill("90")
    page.get_by_label("Completions required per person").fill("1")
    page.get_by_role("button", name="Create program").click()

    assert page.locator("h1").inner_text().startswith("Learning Program 2030")
    assert page.get_by_test_id("target").inner_text() == "90%"
    assert page.get_by_test_id("starts-on").inner_text() == "1 Jan 2030"
    assert page.locator(".messages").inner_text() == "Learning Program 2030 created as a draft."
    page.screenshot(path=SCREENSHOTS.format("program-desktop"), full_page=True)

    page.get_by_role("link", name="Clone for next year").click()
    assert page.get_by_label("Name").input_value() == "Learning Program 2031"
    assert page.get_by_label("Starts on").input_value() == "2031-01-01"
    assert page.get_by_label("Ends on").input_value() == "2031-12-31"
    assert page.get_by_label("Target (% of employees)").input_value() == "90"
    page.screenshot(path=SCREENSHOTS.format("clone-desktop"), full_page=True)
    page.get_by_role("button", name="Clone for next year").click()

    clone = LearningProgram.objects.get(name="Learning Program 2031")
    assert urlsplit(page.url).path == f"/manage/programs/{clone.pk}/"
    assert page.locator("h1").inner_text() == "Learning Program 2031 Draft"
    assert page.get_by_test_id("starts-on").inner_text() == "1 Jan 2031"
    assert page.get_by_test_id("ends-on").inner_text() == "31 Dec 2031"
    assert page.get_by_test_id("target").inner_text() == "90%"
    assert "Cloned from Learning Program 2030" in page.locator("main").inner_text()

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Target (% of employees)").fill("92.5")
    page.get_by_label("Reason for the change").fill("The board raised the goal")
    page.get_by_role("button", name="Save").click()

    assert page.get_by_test_id("target").inner_text() == "92.5%"
    audit = page.locator("#audit-title + .table-wrap table tbody tr")
    assert audit.count() == 1
    assert audit.first.locator("td").all_inner_texts()[1:] == [
        "Alice Admin",
        "Target: 90% → 92.5%",
        "The board raised the goal",
    ]
    page.screenshot(path=SCREENSHOTS.format("audit-desktop"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    assert horizontal_overflow(page) <= 0
    assert page.get_by_test_id("target").is_visible()
    page.screenshot(path=SCREENSHOTS.format("audit-phone"), full_page=True)


def test_the_curation_and_appointment_pages_fit_a_phone(page, personas, sign_in):
    from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory

    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Cloud skills")
    for position, title in enumerate(["Kubernetes for developers", "Terraform foundations"], start=1):
        CollectionItemFactory(collection=collection, course=CourseFactory(title=title), position=position)
    CourseFactory(title="Go programming", partner="Google")
    page.set_viewport_size(PHONE)
    sign_in(page, personas.admin)

    page.goto(f"/manage/collections/{collection.pk}/?q=go")
    page.get_by_role("button", name="Add Go programming").click()
    assert page.locator(".messages").inner_text() == "Added Go programming."
    page.get_by_role("button", name="Move Go programming up").click()
    rows = page.locator("#courses-title + .table-wrap tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == ["1", "2", "3"]
    assert "Go programming" in rows.nth(1).inner_text()
    assert horizontal_overflow(page) <= 0
    page.screenshot(path=SCREENSHOTS.format("collection-phone"), full_page=True)

    page.goto(f"/manage/programs/{personas.program.pk}/appointments/")
    page.get_by_label("Role", exact=True).select_option("champion")
    page.get_by_label("Organization", exact=True).select_option(label="Acme/Sales")
    page.get_by_label("Employee e-mail").fill("charlie@acme.example")
    page.get_by_role("button", name="Appoint").click()
    assert "Appointed Charlie Sales for Acme/Sales in Learning Program 2026." in page.locator(".messages").inner_text()
    assert horizontal_overflow(page) <= 0
    page.screenshot(path=SCREENSHOTS.format("appointments-phone"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=SCREENSHOTS.format("appointments-desktop"), full_page=True)
