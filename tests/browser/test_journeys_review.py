"""The collection review loop in a real browser (issue 14): the sponsor requests changes,
the L&D admin sees the note where they curate, edits the collection and resubmits it, the
sponsor approves it, and each side got its e-mail. Ends by checking what the pages show;
axe-core checks the collection page with the sponsor's note on it."""

from __future__ import annotations

import pytest

from programs.models import ApprovalStatus, CollectionReviewAction
from tests.browser.conftest import (
    PHONE,
    BrowserErrors,
    axe_findings,
    checked_page,
    fail_on_browser_errors,
    horizontal_overflow,
    screenshot,
)
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def collection(personas):
    made = CollectionFactory(program=personas.program, organization=personas.engineering, name="Engineering path")
    CollectionItemFactory(collection=made, course=CourseFactory(title="Python for Everybody"), position=1)
    CourseFactory(title="Secure Coding Practices", provider_course_id="secure-coding")
    return made


def review_card(page):
    return page.locator("article.collection-review", has=page.get_by_role("heading", name="Engineering path"))


def at_both_widths(page, name: str) -> None:
    """Screenshots at 1280 and 390 px (test-artifacts/browser/); at 390 nothing scrolls sideways."""
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    assert horizontal_overflow(page) <= 0
    page.set_viewport_size({"width": 1280, "height": 800})


def serious_findings(page) -> list[str]:
    return axe_findings(page)


def test_the_review_loop_closes(browser, live_server, personas, collection, sign_in, mailoutbox):
    errors = BrowserErrors()
    with (
        checked_page(browser, live_server.url, errors) as admin,
        checked_page(browser, live_server.url, errors) as sponsor,
    ):
        sign_in(admin, personas.admin)
        sign_in(sponsor, personas.sponsor)

        # L&D submits the draft; the sponsor is told.
        admin.goto(f"/manage/collections/{collection.pk}/")
        admin.get_by_role("button", name="Submit to the sponsor").click()
        assert admin.locator(".message.success").inner_text() == (
            "Engineering path sent to the sponsor of Acme/Engineering."
        )
        assert [m.to for m in mailoutbox] == [["sam@acme.example"]]

        # The sponsor requests changes; L&D is told.
        sponsor.goto("/champions/sponsor/")
        card = review_card(sponsor)
        assert card.locator(".badge").inner_text() == "Waiting for the sponsor"
        card.get_by_label("Request changes", exact=True).check()
        card.get_by_label("Note (required to request changes)").fill("Add a course on secure coding <please>")
        card.get_by_role("button", name="Send decision").click()
        assert review_card(sponsor).locator(".badge").inner_text() == "Changes requested"
        assert "L&D is making the changes you asked for" in review_card(sponsor).inner_text()
        assert [m.to for m in mailoutbox[1:]] == [["alice@acme.example"]]
        assert "Add a course on secure coding <please>" in mailoutbox[1].body

        # L&D sees the note where they curate, adds the course and resubmits.
        admin.goto(f"/manage/collections/{collection.pk}/")
        note = admin.locator("#sponsor-note")
        assert "Add a course on secure coding <please>" in note.inner_text()
        assert serious_findings(admin) == []
        at_both_widths(admin, "review-admin-note")
        admin.get_by_label("Search the catalog").fill("secure")
        admin.get_by_role("button", name="Search", exact=True).click()
        admin.get_by_role("button", name="Add Secure Coding Practices").click()
        admin.get_by_label("Note to the sponsor").fill("Secure coding added second")
        admin.get_by_role("button", name="Resubmit to the sponsor").click()
        assert [m.subject for m in mailoutbox[2:]] == ["[LearnHub] Engineering path: resubmitted after changes"]
        assert mailoutbox[2].to == ["sam@acme.example"]

        # The sponsor approves; L&D is told.
        sponsor.goto("/champions/sponsor/")
        card = review_card(sponsor)
        assert card.locator("ol li").first.inner_text() == "Python for Everybody"
        assert "Secure Coding Practices" in card.locator("ol").first.inner_text()
        card.get_by_label("Approve", exact=True).check()
        card.get_by_role("button", name="Send decision").click()
        assert review_card(sponsor).locator(".badge").inner_text() == "Approved"
        at_both_widths(sponsor, "review-sponsor-approved")
        assert [m.subject for m in mailoutbox[3:]] == ["[LearnHub] Engineering path: approved"]
        assert mailoutbox[3].to == ["alice@acme.example"]

        # What the collection page shows at the end: approved, and every step with who and when.
        admin.goto(f"/manage/collections/{collection.pk}/")
        assert admin.locator("h1 .badge").inner_text() == "Approved by the sponsor"
        assert admin.locator("#sponsor-note").count() == 0
        steps = [line.split(",")[0] for line in admin.locator("ol.timeline > li").all_inner_texts()]
        assert steps == [
            "Submitted for review by Alice Admin",
            "Changes requested by Sam Sponsor",
            "Resubmitted after changes by Alice Admin",
            "Approved by Sam Sponsor",
        ]
        assert "Secure coding added second" in admin.locator("ol.timeline").inner_text()
        at_both_widths(admin, "review-admin-history")
    fail_on_browser_errors(errors)
    collection.refresh_from_db()
    assert collection.approval_status == ApprovalStatus.APPROVED
    assert list(collection.review_steps.values_list("action", flat=True)) == [
        CollectionReviewAction.SUBMITTED,
        CollectionReviewAction.CHANGES_REQUESTED,
        CollectionReviewAction.RESUBMITTED,
        CollectionReviewAction.APPROVED,
    ]
    assert len(mailoutbox) == 4
