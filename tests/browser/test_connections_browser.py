"""Connections in a real browser: an L&D admin adds a Udemy Business connection pointing at
a running Udemy sandbox (the form shows only that kind's fields), tests it, syncs it and
reads the counts; without JavaScript the kind is chosen first, then its fields. axe-core
finds nothing serious on the pages in the states the script puts them in; a phone fits."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from programs.models import Enrollment, ProviderConnection
from programs.providers.udemy_sandbox import UdemySandbox
from tests.browser.conftest import PHONE, axe_findings, horizontal_overflow, screenshot
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.sandbox_fixtures"]


def row(email: str, course_id: int, completed: str = "", **more: object) -> dict[str, object]:
    return {"user_email": email, "course_id": course_id, "course_first_completion_date": completed or None, **more}


ROWS = [
    row("bob@acme.example", 4101, "2026-03-05T10:00:00Z"),
    row("charlie@acme.example", 4102, "2026-04-01T09:30:00Z"),
    row("chris@acme.example", 4101, completion_ratio=40),
    row("vendor@elsewhere.example", 4101, "2026-03-09T10:00:00Z"),
]
UDEMY_FIELDS = ["Name", "API base URL", "Organization id", "Client id", "Client secret", "Sync every (minutes)"]


def test_an_admin_adds_tests_and_syncs_a_udemy_connection(page, personas, sign_in, provider_sandbox):
    sandbox = provider_sandbox(UdemySandbox, rows=ROWS, org_id=ORG_ID)
    sign_in(page, personas.admin)

    page.goto("/providers/")
    page.get_by_role("link", name="Add a connection").click()
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="Show the fields of this kind")).to_be_hidden()  # the script chooses
    assert page.get_by_label("Name").is_hidden()
    page.set_viewport_size(PHONE)
    for kind in ("coursera", "linkedin", "edx", "xapi", "other"):  # the longest help texts fit a phone
        page.get_by_label("Kind").select_option(kind)
        assert horizontal_overflow(page) == 0, kind
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_label("Kind").select_option("udemy")
    for label in UDEMY_FIELDS:
        assert page.get_by_label(label, exact=True).is_visible(), label
    assert page.get_by_label("Token URL").is_hidden()
    assert page.get_by_label("Program ids").is_hidden()
    assert page.get_by_label("Organization id").get_attribute("aria-describedby") == "id_org_id_help_1"
    assert page.locator("#id_org_id_help_1").inner_text() == "Your Udemy Business organization id."
    assert axe_findings(page) == []
    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0
    screenshot(page, "connection-new-udemy-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("Name").fill("Udemy Business")
    page.get_by_label("API base URL").fill(sandbox.base_url)
    page.get_by_label("Organization id").fill(ORG_ID)
    page.get_by_label("Client id").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_role("button", name="Add the connection").click()

    connection = ProviderConnection.objects.get()
    assert (connection.kind, connection.base_url, connection.client_secret) == (
        "udemy",
        sandbox.base_url,
        CLIENT_SECRET,
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Udemy Business"
    assert "Connection Udemy Business added. Test it, then sync." in page.locator(".messages").inner_text()

    page.get_by_role("button", name="Test connection").click()
    assert (
        page.locator(".messages")
        .inner_text()
        .startswith("The connection works: Udemy Business accepted the client id and secret")
    )
    assert Enrollment.objects.count() == 0  # a test saves nothing

    page.get_by_role("button", name="Sync now").click()  # tasks run in process here
    runs = page.get_by_role("region", name="Runs")
    header = runs.locator("thead th").all_inner_texts()
    cells = runs.locator("tbody tr").first.locator("td").all_inner_texts()
    counts = dict(zip(header, cells, strict=False))
    assert (counts["Status"], counts["Fetched"], counts["Created"], counts["Unmatched"]) == ("Succeeded", "4", "3", "1")
    assert Enrollment.objects.filter(connection=connection, is_completed=True).count() == 2
    assert page.get_by_role("region", name="Freshness").get_by_text("not failing").is_visible()
    assert axe_findings(page) == []
    assert CLIENT_SECRET not in page.content()

    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0
    screenshot(page, "connection-detail-phone")


def test_without_javascript_the_kind_comes_first_then_its_fields(browser, live_server, personas, sign_in):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, personas.admin)
        page.goto("/providers/new/")
        assert page.get_by_label("Name").is_hidden()
        page.get_by_label("Kind").select_option("xapi")
        page.get_by_role("button", name="Show the fields of this kind").click()
        page.wait_for_url("**/providers/new/?kind=xapi")
        expect(page.get_by_label("Name", exact=True)).to_be_visible()  # the new page has loaded

        visible = [label for label in ("Name", "Client id", "Client secret", "API base URL", "Token URL")
                   if page.get_by_label(label, exact=True).is_visible()]  # fmt: skip
        assert visible == ["Name", "Client id", "Client secret"]
        page.get_by_label("Name").fill("LinkedIn xAPI")
        page.get_by_label("Client id").fill("linkedin-learning")
        page.get_by_label("Client secret").fill("a-long-random-secret-0123456789")
        page.get_by_role("button", name="Add the connection").click()

        connection = ProviderConnection.objects.get()
        assert (connection.kind, connection.client_id) == ("xapi", "linkedin-learning")
        expect(page.get_by_text(f"/xapi/{connection.pk}/statements").first).to_be_visible()
        assert "a-long-random-secret-0123456789" not in page.content()
        assert horizontal_overflow(page) == 0
    finally:
        context.close()


def test_removing_asks_first_and_says_what_goes(page, personas, sign_in):
    connection = ProviderConnection.objects.create(name="Old Coursera", kind="coursera")
    sign_in(page, personas.admin)

    page.goto(f"/providers/{connection.pk}/")
    page.get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", name="Pause it instead")).to_be_visible()
    assert axe_findings(page) == []
    page.get_by_role("button", name="Remove Old Coursera and all it holds").click()

    assert page.url.endswith("/providers/")
    assert not ProviderConnection.objects.exists()
