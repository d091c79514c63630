"""Who to nudge first in a real browser, under the real Content-Security-Policy (the `page`
fixture fails on any violation): a champion filters the ranked list to "in progress",
selects all and nudges; each person's e-mail leads with their own course; the page then
says who was nudged, by whom. Checked with axe-core, and on a phone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.conftest import PHONE, axe_findings, horizontal_overflow, screenshot
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory, EnrollmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def in_progress(personas) -> dict[str, str]:
    """Two people of Engineering each halfway through their own course, one enrolled
    without progress; Bob, Chris and Sam are on no provider. Person: course."""
    connection = ConnectionFactory()
    courses = {"Ivy Ahead": ("Machine Learning", 80), "Ian Second": ("Data Engineering", 35), "Nora New": ("SQL", 0)}
    for name, (title, progress) in courses.items():
        person = EmployeeFactory(
            email=f"{name.split()[0].lower()}@acme.example", full_name=name, organization=personas.engineering
        )
        EnrollmentFactory(
            connection=connection,
            employee=person,
            course=CourseFactory(title=title, url=f"https://courses.example/{title.split()[0].lower()}"),
            progress=Decimal(progress),
            enrolled_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
        )
    return {"ivy@acme.example": "Machine Learning", "ian@acme.example": "Data Engineering"}


def serious_findings(page) -> list[str]:
    return axe_findings(page)


def test_champion_filters_in_progress_selects_all_nudges(page, personas, in_progress, sign_in, mailoutbox):
    sign_in(page, personas.champion)
    page.goto(reverse("champions:not_yet", args=[personas.engineering.pk]))
    assert page.locator("h1").inner_text() == "Who to nudge first: Engineering"
    assert "more people reach 90%" in page.locator(".to-reach").inner_text()

    page.get_by_label("Status").select_option(label="Course in progress")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.ranked tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().strip().startswith("Ivy Ahead")  # furthest along first
    page.get_by_label("Select all 2 in this list").check()
    assert page.locator("input[name=selected]:checked").count() == 2
    with page.expect_navigation():
        page.get_by_role("button", name="Nudge selected").click()

    # Each e-mail leads with the person's own course and progress.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(in_progress)
    for mail in mailoutbox:
        lead = mail.body.split("\n\n")[2]
        assert lead.startswith(f"Your next step: finish {in_progress[mail.to[0]]}."), lead
    # The page: the outcome, the same filter, and who nudged them.
    assert page.locator(".messages").inner_text() == "Nudged 2 people by e-mail."
    assert page.get_by_label("Status").input_value() == "in-progress"
    today = timezone.localdate()
    assert [rows.nth(i).locator("td").nth(5).inner_text() for i in range(2)] == [
        f"{today:%-d %b %Y}\nby Chris Champion"
    ] * 2
    assert serious_findings(page) == []
    screenshot(page, "nudge-first-1280")

    # On a phone: one card per person, nothing scrolls sideways, Nudge in reach.
    page.set_viewport_size(PHONE)
    page.goto(reverse("champions:not_yet", args=[personas.engineering.pk]))
    assert horizontal_overflow(page) == 0
    nudge = page.get_by_role("button", name="Nudge", exact=True).first
    box = nudge.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert serious_findings(page) == []
    screenshot(page, "nudge-first-390")


def test_a_champion_previews_a_nudge_and_the_digest(page, personas, in_progress, sign_in, mailoutbox):
    sign_in(page, personas.champion)
    page.goto(reverse("champions:not_yet", args=[personas.engineering.pk]))

    with page.expect_navigation():
        page.get_by_role("link", name="Preview", exact=True).first.click()
    assert page.locator("h1").inner_text() == "Preview: Nudge to Ivy Ahead"
    assert "Your next step: finish Machine Learning. You are 80% through." in page.locator("pre").inner_text()
    assert serious_findings(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Send a test to myself (chris@acme.example)").click()
    assert page.locator(".messages").inner_text() == "A test copy was sent to chris@acme.example."
    assert [m.to for m in mailoutbox] == [["chris@acme.example"]]

    page.goto(reverse("champions:digest_preview", args=[personas.engineering.pk]))
    assert "Still to complete (6):" in page.locator("pre").inner_text()
    assert serious_findings(page) == []
