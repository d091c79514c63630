"""Import jobs in a real browser: an L&D admin uploads a roster through the form,
lands on the job page and reads the result; a running job's page shows its progress bar.
On a phone too, with the strict Content-Security-Policy on and no JavaScript of ours."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from programs.models import Employee, ImportJob
from tests.browser.conftest import PHONE, horizontal_overflow, screenshot

pytestmark = pytest.mark.browser

ROSTER = (
    "email,full_name,organization,title\n"
    "ada@contoso.example,Ada Lovelace,Contoso,CEO\n"
    "grace@contoso.example,Grace Hopper,Contoso/Engineering,VP Engineering\n"
)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_admin_uploads_a_roster_and_reads_the_result_on_the_job_page(page, personas, sign_in, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    sign_in(page, personas.admin)
    page.set_viewport_size(PHONE)

    page.goto("/roster/import/")
    page.get_by_label("Roster CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()

    job = ImportJob.objects.get()
    assert urlsplit(page.url).path == f"/imports/{job.pk}/"
    assert page.locator("h1").inner_text() == "Import of roster.csv"
    assert page.locator("#status-title").inner_text() == "Succeeded Imported"
    assert page.get_by_role("row", name="Created").inner_text().split() == ["Created", "2"]
    assert horizontal_overflow(page) == 0
    screenshot(page, "import-job-roster-phone")
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 2

    page.get_by_role("link", name="Import another roster file").click()
    assert page.get_by_role("link", name="roster.csv").count() == 1


def test_a_running_job_shows_its_progress_bar_on_a_phone(page, personas, sign_in):
    job = ImportJob.objects.create(
        kind="roster",
        file_name="a-rather-long-file-name-from-the-hr-system-export-2026-03.csv",
        file_size=12_345_678,
        encoding="utf-8-sig",
        status="running",
        started_at=timezone.now(),
        rows_total=80_000,
        rows_done=20_000,
        created_by=personas.admin,
    )
    sign_in(page, personas.admin)
    page.set_viewport_size(PHONE)

    page.goto(f"/imports/{job.pk}/")

    progress = page.get_by_label("Progress")
    assert (progress.get_attribute("max"), progress.get_attribute("value")) == ("80000", "20000")
    assert page.get_by_text("20000 of 80000 rows (25%)").is_visible()
    assert page.get_by_text("Checking the rows: 20,000 of 80,000.").is_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "import-job-running-phone")
