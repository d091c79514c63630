"""axe-core on the key pages of every role, in the real browser under the real
Content-Security-Policy: no serious or critical finding. (The shared `page` fixture checks
every page any browser test visits, tests/browser/conftest.py; this test makes sure each
role's key pages are among them.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import axe_findings
from tests.test_url_permissions import World, world_create

pytestmark = pytest.mark.browser


@pytest.fixture
def world(personas) -> World:
    return world_create(personas)


def pages_of(world: World) -> dict[str, list[str]]:
    p = world.p
    return {
        "anonymous": [reverse("account_login"), reverse("account_signup"), reverse("account_reset_password")],
        "employee": [
            reverse("home"),
            reverse("champions:collections"),
            reverse("champions:groups"),
            reverse("champions:group", args=[world.group_a.pk]),
            reverse("champions:my_stories"),
            reverse("champions:updates"),
            reverse("champions:org_updates", args=[p.engineering.pk]),
            reverse("reports:company"),
            reverse("reports:all_hands"),
            reverse("reports:all_hands_deck"),
        ],
        "champion": [
            reverse("champions:not_yet", args=[p.engineering.pk]),
            reverse("champions:network"),
            reverse("champions:group_new"),
            reverse("champions:attendance", args=[world.session_a.pk]),
            reverse("champions:update_new"),
            reverse("champions:stories_review"),
            reverse("reports:org", args=[p.engineering.pk]),
        ],
        "sponsor": [reverse("champions:sponsor")],
        "admin": [
            reverse("manage:home"),
            reverse("manage:program", args=[p.program.pk]),
            reverse("manage:program_edit", args=[p.program.pk]),
            reverse("manage:program_close", args=[p.program.pk]),
            reverse("programs:collections_import"),
            reverse("manage:collection", args=[world.collection_a.pk]),
            reverse("manage:appointments", args=[p.program.pk]),
            reverse("programs:roster"),
            reverse("programs:roster_import"),
            reverse("programs:import_job", args=[world.import_job.pk]),
            reverse("programs:providers:connections"),
            reverse("programs:providers:detail", args=[world.connection.pk]),
            reverse("programs:providers:detail", args=[world.xapi_connection.pk]),
            reverse("programs:providers:new"),
            reverse("programs:providers:new") + "?kind=coursera",
            reverse("programs:providers:edit", args=[world.connection.pk]),
            reverse("programs:providers:remove", args=[world.connection.pk]),
            reverse("reports:messages"),
            reverse("reports:message_settings", args=[p.program.pk]),
            reverse("api:tokens"),
        ],
    }


@pytest.mark.parametrize("who", ["anonymous", "employee", "champion", "sponsor", "admin"])
def test_the_key_pages_of_each_role_have_no_serious_accessibility_finding(page, browser_errors, world, sign_in, who):
    if who != "anonymous":
        sign_in(page, getattr(world.p, who))
    for url in pages_of(world)[who]:
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
    page.goto(reverse("account_login") if who == "anonymous" else reverse("home"))  # the last page is checked too

    assert browser_errors.accessibility == {}


def test_axe_reports_a_serious_finding_when_there_is_one(page, db):
    """The check can fail: a form field without a label, added to the sign-in page, is a
    critical finding (and the only serious one)."""
    page.goto(reverse("account_login"))
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text name=q id=q>')")

    findings = axe_findings(page)

    assert [finding.split(":")[0] for finding in findings] == ["critical label"]
    page.evaluate("document.getElementById('q').remove()")  # the page is checked again when the test ends


def test_every_page_a_test_passes_through_is_checked(page, browser_errors, live_server, db):
    """The shared page fixture checks each page of the site, even one a test leaves at
    once: a page with an unlabeled field, left by a click, is reported (and only it)."""
    page.route(
        f"{live_server.url}/probe/",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><html lang="en"><title>Probe</title><main><h1>Probe</h1><input type="text">'
            '<a href="/accounts/login/">Sign in</a></main></html>',
        ),
    )
    page.goto("/probe/")
    with page.expect_navigation():
        page.click("text=Sign in")  # at once: the sign-in page loads only once the probe is checked

    found = dict(browser_errors.accessibility)
    browser_errors.accessibility.clear()  # the finding was planted: the test ends clean
    assert list(found) == ["/probe/"]
    assert [finding.split(":")[0] for finding in found["/probe/"]] == ["critical label"]


def test_the_403_and_404_pages_have_no_serious_accessibility_finding(page, browser_errors, world, sign_in):
    sign_in(page, world.p.employee)

    refused = page.goto(reverse("manage:home"))
    missing = page.goto("/no-such-page/")
    page.goto(reverse("home"))

    assert (refused.status, missing.status) == (403, 404)
    assert browser_errors.accessibility == {}
    assert [m.split(" (")[0] for m in browser_errors.console] == [
        "Failed to load resource: the server responded with a status of 403",
        "Failed to load resource: the server responded with a status of 404",
    ]
    browser_errors.console.clear()  # the browser logs each error status: expected here
