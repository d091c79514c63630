"""Journeys in a real browser: an employee opens their collection, a champion runs a study
group (group, session, attendance), a sponsor approves their collection. Each ends by
checking what the page shows; screenshots at desktop and phone width go to /tmp/h10-*.png."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from champions.models import Attendance, StudyGroupMembership
from programs.models import ApprovalStatus, Collection
from tests.browser.conftest import PHONE, horizontal_overflow
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", tempfile.gettempdir()))


def shoot(page, name: str) -> None:
    """Screenshots at desktop width and at 390 px; the phone view must not scroll sideways."""
    page.screenshot(path=SCREENSHOTS / f"h10-{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"h10-{name}-phone.png", full_page=True)
    assert horizontal_overflow(page) <= 0
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.fixture
def eng_collection(personas):
    collection = CollectionFactory(
        program=personas.program,
        organization=personas.engineering,
        name="Engineering path",
        needs="Machine learning for our products",
        approval_status=ApprovalStatus.PENDING,
    )
    for position, (title, partner) in enumerate(
        [("Python for Everybody", "University of Michigan"), ("Machine Learning", "Stanford")], start=1
    ):
        course = CourseFactory(title=title, partner=partner, url=f"https://courses.example/{position}")
        CollectionItemFactory(collection=collection, course=course, position=position)
    return collection


def test_employee_signs_in_and_opens_their_collection(page, personas, eng_collection, sign_in):
    sign_in(page, personas.employee)
    with page.expect_navigation():
        page.get_by_role("link", name="Browse and search all collections").click()

    card = page.locator("section.card", has=page.get_by_role("heading", name="Engineering path"))
    assert card.locator("ol.courses li a").all_inner_texts() == ["Python for Everybody", "Machine Learning"]
    assert card.locator(".badge").all_inner_texts() == ["Not started", "Not started"]
    assert "Machine learning for our products" in card.inner_text()

    page.get_by_label("Search by title or partner").fill("stanford")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    assert page.locator("main h3").all_inner_texts() == ["Engineering path"]
    shoot(page, "collections")


def test_champion_runs_a_study_group_with_a_session_and_attendance(page, personas, eng_collection, sign_in):
    StudyGroupMembership.objects.all().delete()
    sign_in(page, personas.champion)
    page.get_by_role("link", name="Study groups").first.click()
    page.get_by_role("link", name="New study group").click()
    page.get_by_label("Name").fill("ML circle")
    page.get_by_label("Collection").select_option(label="Engineering path")
    page.get_by_label("Location").fill("Room 4")
    page.get_by_label("Capacity").fill("6")
    page.get_by_role("button", name="Save group").click()
    assert page.locator("h1").inner_text() == "ML circle"

    page.get_by_role("link", name="Add a session").click()
    page.get_by_label("Starts").fill("2026-12-10T18:00")
    page.get_by_label("Ends").fill("2026-12-10T19:30")
    page.get_by_label("Topic").fill("Week 1: regression")
    page.get_by_role("button", name="Save session").click()
    assert "Week 1: regression" in page.locator("table").inner_text()
    shoot(page, "group")

    page.get_by_role("link", name="Attendance").click()
    page.get_by_label("Find someone else in Engineering").fill("bob")
    page.get_by_role("button", name="Find").click()
    page.get_by_label("Bob Builder").check()
    page.get_by_role("button", name="Save attendance").click()

    assert page.locator(".message.success").inner_text() == "Attendance saved: 1 attended (1 added, 0 removed)."
    assert page.locator("ul.attended li").all_inner_texts() == ["Bob Builder"]
    assert list(Attendance.objects.values_list("employee__email", flat=True)) == ["bob@acme.example"]
    shoot(page, "attendance")


def test_sponsor_approves_their_collection(page, personas, eng_collection, sign_in):
    sign_in(page, personas.sponsor)
    page.get_by_role("link", name="My sponsorship").click()
    review = page.locator("article.collection-review", has=page.get_by_role("heading", name="Engineering path"))
    assert review.locator(".badge").inner_text() == "Waiting for the sponsor"

    review.get_by_label("Approve").check()
    review.get_by_label("Note").fill("Good choice of courses")
    review.get_by_role("button", name="Send decision").click()

    review = page.locator("article.collection-review", has=page.get_by_role("heading", name="Engineering path"))
    assert review.locator(".badge").inner_text() == "Approved"
    assert "Approved by Sam Sponsor" in review.inner_text()
    eng_collection.refresh_from_db()
    assert eng_collection.approval_status == ApprovalStatus.APPROVED
    assert Collection.objects.get(pk=eng_collection.pk).approved_by == personas.sponsor
    shoot(page, "sponsor")


def test_employee_home_at_phone_width(page, personas, eng_collection, sign_in):
    sign_in(page, personas.employee)
    assert page.locator(".my-status").inner_text().startswith("Not yet 0 of 1 counted course completed.")
    shoot(page, "home")
