"""axe-core on the key pages of every role, in the real browser under the real
Content-Security-Policy: no serious or critical finding.

axe-core is an npm package pinned in tests/browser/axe/package-lock.json; `make test`
installs it (`npm ci`). Playwright adds it to each page as an init script (which the page's
Content-Security-Policy does not apply to); the app never serves it. Without it
these tests are skipped with the reason, except under CI=true, where that is an error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from tests.test_url_permissions import World, world_create

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
# Each finding as "rule: the first elements it names", so a failure says where to look.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({impact: v.impact, text: v.id + ": " + v.help + " at "
    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci --prefix tests/browser/axe` (make test does)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return AXE.read_text()


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
            reverse("reports:org", args=[p.engineering.pk]),
        ],
        "sponsor": [reverse("champions:sponsor")],
        "admin": [
            reverse("manage:home"),
            reverse("manage:program", args=[p.program.pk]),
            reverse("manage:program_edit", args=[p.program.pk]),
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
def test_the_key_pages_of_each_role_have_no_serious_accessibility_finding(page, world, sign_in, axe_source, who):
    page.context.add_init_script(axe_source)
    if who != "anonymous":
        sign_in(page, getattr(world.p, who))
    found = {}
    for url in pages_of(world)[who]:
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
        serious = [v["text"] for v in page.evaluate(RUN_AXE) if v["impact"] in SERIOUS]
        if serious:
            found[url] = serious

    assert found == {}


def test_axe_reports_a_serious_finding_when_there_is_one(page, db, axe_source):
    """The check can fail: a form field without a label, added to the sign-in page, is a
    critical finding (and the only serious one)."""
    page.context.add_init_script(axe_source)
    page.goto(reverse("account_login"))
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text name=q>')")

    findings = page.evaluate(RUN_AXE)

    assert [(v["impact"], v["text"].split(":")[0]) for v in findings if v["impact"] in SERIOUS] == [
        ("critical", "label")
    ]
