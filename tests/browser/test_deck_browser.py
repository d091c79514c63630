"""The All-Hands deck in a real browser: printed to PDF by chromium one slide a page at
16:9, presented one slide at a time with the arrow keys, and a page of slides to scroll
without JavaScript; readable at 1280 and 390 px, no serious accessibility finding. The
PDF and screenshots go to test-artifacts/browser/ for a person to look at."""

from __future__ import annotations

import re

import pytest

from champions.models import LearnerStory
from tests.browser.conftest import ARTIFACTS, PHONE, axe_findings, horizontal_overflow, screenshot, sign_in_through_form
from tests.browser.test_dashboards_browser import progress_data  # noqa: F401 (a fixture)
from tests.factories import EmployeeFactory, org

pytestmark = pytest.mark.browser

DECK = "/reports/all-hands/deck/?date=2026-07-10"
# Company, leaderboard, four organizations (Engineering, Finance, Marketing, Sales),
# executives, curated share, stories.
SLIDES = 9
# 13.333 x 7.5 in, the 16:9 page of deck.css, in PDF points (1/72 in).
PAGE_POINTS = (960.0, 540.0)


@pytest.fixture
def deck_data(personas, progress_data):  # noqa: F811 (the fixture imported above)
    for title, name in [("Fewer pages at night", "Pat Quinn"), ("Shipping with tests", "Rui Lopes")]:
        LearnerStory.objects.create(
            program=personas.program,
            employee=EmployeeFactory(full_name=name, organization=org("Acme/Engineering")),
            title=title,
            body="What I learned, and what it changed.",
            consent_to_share=True,
            moderation="approved",
        )


def pdf_page_boxes(pdf: bytes) -> list[tuple[float, ...]]:
    """The MediaBox of each page of a PDF as chromium writes it: each page an uncompressed
    `/Type /Page` object with its own MediaBox."""
    boxes = []
    for page in re.findall(rb"/Type\s*/Page(?!s)\b(.*?)endobj", pdf, flags=re.S):
        box = re.search(rb"/MediaBox\s*\[\s*([\d.\s-]+)\]", page)
        assert box, page
        boxes.append(tuple(float(n) for n in box.group(1).split()))
    return boxes


def visible_slides(page) -> list[str]:
    return page.eval_on_selector_all(".deck-slide", "slides => slides.filter(s => s.offsetParent).map(s => s.id)")


def test_the_deck_prints_one_slide_a_page_at_16_9(page, personas, deck_data, sign_in):
    sign_in(page, personas.employee)
    page.goto(DECK)
    assert page.locator(".deck-slide").count() == SLIDES
    # 8 of 23: the 15 people of progress_data, the five personas, Sol Seller and the two storytellers.
    assert page.locator("#slide-company [data-testid=rate]").inner_text() == "35%"
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "all-hands-deck.pdf").write_bytes(pdf)

    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1280, "height": 720})
    assert not page.locator("header.site-header").is_visible()
    assert not page.get_by_role("button", name="Present").is_visible()
    screenshot(page, "all-hands-deck-print")

    boxes = pdf_page_boxes(pdf)
    assert len(boxes) == SLIDES
    for x0, y0, x1, y1 in boxes:
        assert (x1 - x0, y1 - y0) == pytest.approx(PAGE_POINTS, abs=1)
        assert (x1 - x0) / (y1 - y0) == pytest.approx(16 / 9, rel=0.005)


def test_the_deck_reads_at_1280_and_390_px(page, personas, deck_data, sign_in):
    sign_in(page, personas.employee)
    for name, size in [("desktop", {"width": 1280, "height": 800}), ("phone", PHONE)]:
        page.set_viewport_size(size)
        page.goto(DECK)
        assert visible_slides(page)[0] == "slide-company"
        assert len(visible_slides(page)) == SLIDES
        assert horizontal_overflow(page) == 0, f"the deck scrolls sideways on {name}"
        assert axe_findings(page) == []
        screenshot(page, f"all-hands-deck-{name}")


def test_the_presenter_pages_with_the_arrow_keys(page, personas, deck_data, sign_in):
    sign_in(page, personas.champion)
    page.get_by_role("link", name="All Hands").click()
    page.get_by_role("link", name="Slides (16:9 deck)").click()
    assert page.locator("h1").inner_text() == "All-Hands deck: Learning Program 2026"
    page.goto(DECK)
    page.get_by_role("button", name="Present").click()
    assert visible_slides(page) == ["slide-company"]
    counter = page.locator("[data-deck-counter]")
    assert counter.inner_text() == f"Slide 1 of {SLIDES}"
    assert not page.locator("header.site-header").is_visible()
    box = page.locator("#slide-company").bounding_box()
    assert box is not None
    assert box["width"] / box["height"] == pytest.approx(16 / 9, rel=0.01)

    page.keyboard.press("ArrowRight")
    assert visible_slides(page) == ["slide-leaderboard"]
    assert counter.inner_text() == f"Slide 2 of {SLIDES}"
    assert page.url.endswith("#slide-leaderboard")
    page.keyboard.press("ArrowRight")
    assert visible_slides(page) == ["slide-org-1"]
    assert page.locator("#slide-org-1 h2").inner_text() == "Engineering"
    assert axe_findings(page) == []
    screenshot(page, "all-hands-deck-presenting")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # stays on the first slide
    assert visible_slides(page) == ["slide-company"]
    page.keyboard.press("End")
    assert visible_slides(page) == ["slide-stories"]
    assert page.locator("#slide-stories").inner_text().count("What I learned") == 2
    page.get_by_role("button", name="Previous").click()
    assert visible_slides(page) == ["slide-curated"]

    page.keyboard.press("Escape")
    assert len(visible_slides(page)) == SLIDES
    assert page.locator("header.site-header").is_visible()


def test_without_javascript_the_deck_is_a_page_of_slides(browser, live_server, personas, deck_data):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in_through_form(page, personas.employee)
        page.goto(DECK)
        assert not page.get_by_role("button", name="Present").is_visible()
        assert len(visible_slides(page)) == SLIDES
    finally:
        context.close()
