"""Unmatched provider learners in a real browser: an L&D admin finds an employee's e-mail
with the people search, links one learner to them (their completion then counts), dismisses
a contractor, and reads the page after: both gone from the list, the link and the dismissal
listed and in the audit trail. axe-core finds nothing serious; a phone fits."""

from __future__ import annotations

import datetime as dt

import pytest

from programs.models import Enrollment, UnmatchedRecord
from programs.providers.base import ProviderRecord
from programs.sync.pipeline import sync_run
from tests.browser.conftest import PHONE, axe_findings, horizontal_overflow, screenshot
from tests.factories import ConnectionFactory
from tests.test_sync_pipeline import PagesAdapter

pytestmark = pytest.mark.browser

COMPLETED_AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def completion(email: str, course: str) -> ProviderRecord:
    return ProviderRecord(
        raw={"user_email": email, "course_id": course},
        email=email,
        provider_course_id=course,
        course_title=f"Course {course}",
        is_completed=True,
        completed_at=COMPLETED_AT,
    )


def section(page, title: str):
    return page.locator("section", has=page.get_by_role("heading", name=title, exact=True))


def test_an_admin_links_one_learner_and_dismisses_another(page, personas, sign_in):
    udemy = ConnectionFactory(name="Udemy", kind="udemy", client_secret="udemy-s3cret")
    sync_run(
        connection=udemy,
        adapter=PagesAdapter(
            [completion("bobby@private.example", "4101"), completion("temp@contractor.example", "4102")]
        ),
    )
    sign_in(page, personas.admin)

    page.goto("/providers/unmatched/")
    page.get_by_role("link", name="Link bobby@private.example to an employee").click()
    page.get_by_label("Find a person").fill("Builder")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Use this e-mail").click()
    assert page.get_by_label("Provider learner (external id or e-mail)").input_value() == "bobby@private.example"
    assert page.get_by_label("Employee e-mail").input_value() == "bob@acme.example"
    page.get_by_role("button", name="Link", exact=True).click()
    assert "bobby@private.example is now bob@acme.example" in page.locator(".messages").inner_text()

    page.get_by_role("button", name="Dismiss temp@contractor.example").click()
    assert "temp@contractor.example dismissed" in page.locator(".messages").inner_text()

    page.goto("/providers/unmatched/")
    assert page.get_by_text("No unmatched learners.").is_visible()
    linked = section(page, "Linked learners").inner_text()
    assert "bobby@private.example" in linked and "bob@acme.example" in linked
    assert "temp@contractor.example" in section(page, "Dismissed learners").inner_text()
    trail = section(page, "Audit trail").locator("tbody tr").all_inner_texts()
    assert len(trail) == 2
    assert "Dismissed" in trail[0] and "temp@contractor.example" in trail[0] and "alice@acme.example" in trail[0]
    assert "Linked" in trail[1] and "bob@acme.example" in trail[1] and "alice@acme.example" in trail[1]
    assert axe_findings(page) == []
    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0
    screenshot(page, "unmatched-after-link-and-dismiss-phone")

    assert Enrollment.objects.get().employee == personas.employee  # matched again by the task, in process
    assert list(UnmatchedRecord.objects.values_list("learner_key", flat=True)) == ["temp@contractor.example"]
