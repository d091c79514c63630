"""The company dashboard and the All-Hands report in a real browser, on a desktop and a
390px phone: the chart and the leaderboard render, nothing scrolls sideways, no JavaScript
error (the `page` fixture fails the test on any), and the print button prints.
Screenshots go to /tmp/h9-*.png for a person to look at."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.models import ProgressSnapshot
from tests.browser.conftest import PHONE, horizontal_overflow
from tests.factories import ChampionFactory, CourseFactory, EmployeeFactory, EnrollmentFactory, org

pytestmark = pytest.mark.browser

SHOTS = "/tmp/h9-{name}-{viewport}.png"  # noqa: S108 -- the brief asks for /tmp/h9-*.png to look at


@pytest.fixture
def progress_data(personas):
    """Four organizations with people, completions, champions and a month of snapshots."""
    program = personas.program
    course = CourseFactory(title="Python for Everybody")
    for path, people, done in [("Acme/Engineering", 6, 4), ("Acme/Sales", 5, 1), ("Acme/Marketing", 4, 3)]:
        organization = org(path)
        for i in range(people):
            person = EmployeeFactory(organization=organization)
            if i < done:
                EnrollmentFactory(
                    employee=person,
                    course=course,
                    is_completed=True,
                    completed_at=dt.datetime(2026, 3 + i, 10, 12, tzinfo=dt.UTC),
                )
    org("Acme/Finance")  # no one eligible: a dash on the leaderboard
    ChampionFactory(program=program, organization=org("Acme/Sales"), employee=EmployeeFactory(full_name="Sol Seller"))
    for week in range(10):
        day = dt.date(2026, 5, 1) + dt.timedelta(days=7 * week)
        ProgressSnapshot.objects.create(
            program=program,
            organization=None,
            day=day,
            eligible=20,
            met=week,
            completions=week,
            curated_completions=0,
            rate=week / 20,
        )


def check_page(page, *, url: str, name: str) -> None:
    for viewport, size in [("desktop", {"width": 1280, "height": 800}), ("phone", PHONE)]:
        page.set_viewport_size(size)
        page.goto(url)
        assert page.locator("svg.chart polyline.series.actual").count() == 1
        assert page.locator("svg.chart").first.is_visible()
        rows = page.locator("table.leaderboard tbody tr")
        assert rows.count() == 4
        assert rows.first.locator("a").first.inner_text() == "Marketing"
        assert rows.last.locator("td.num").nth(1).inner_text() == "\N{EN DASH}"
        assert horizontal_overflow(page) == 0, f"{name} scrolls sideways on {viewport}"
        page.screenshot(path=SHOTS.format(name=name, viewport=viewport), full_page=True)


def test_company_dashboard_renders(page, personas, progress_data, sign_in):
    sign_in(page, personas.employee)
    page.get_by_role("link", name="Progress").click()
    assert page.locator("h1").inner_text() == "Progress: Learning Program 2026"
    check_page(page, url="/reports/?as_of=2026-07-10", name="company")


def test_all_hands_renders_and_prints(page, personas, progress_data, sign_in):
    sign_in(page, personas.champion)
    page.get_by_role("link", name="All Hands").click()
    assert page.locator("h1").inner_text() == "All Hands: Learning Program 2026"
    check_page(page, url="/reports/all-hands/?date=2026-07-10", name="all-hands")

    button = page.get_by_role("button", name="Print / save as PDF")
    assert button.is_visible()  # shown by static/js/print.js
    page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    button.click()
    assert page.evaluate("window.__printed") == 1

    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert not button.is_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=SHOTS.format(name="all-hands", viewport="print"), full_page=True)
