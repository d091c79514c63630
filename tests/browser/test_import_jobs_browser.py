"""Import jobs in a real browser: an L&D admin uploads a roster through the form,
lands on the job page and reads the result; a running job's page shows its progress bar,
which moves as the job goes on; a Windows-1252 file with a bad row has its valid rows
applied. On a phone too, with the strict Content-Security-Policy on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

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
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))

    job = ImportJob.objects.get()
    assert urlsplit(page.url).path == f"/imports/{job.pk}/"
    assert page.locator("h1").inner_text() == "Import of roster.csv"
    assert page.locator("#status-title").inner_text() == "Succeeded Imported"
    assert page.get_by_role("row", name="Created").inner_text().split() == ["Created", "2"]
    assert horizontal_overflow(page) == 0
    screenshot(page, "import-job-roster-phone")
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 2

    page.get_by_role("link", name="Import another roster file").click()
    expect(page).to_have_url(re.compile(r"/roster/import/$"))
    expect(page.get_by_role("link", name="roster.csv")).to_have_count(1)


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

    ImportJob.objects.filter(pk=job.pk).update(rows_done=60_000)  # the page's script polls and moves the bar
    expect(page.locator("#import-progress")).to_have_attribute("value", "60000")
    assert page.get_by_text("60000 of 80000 rows (75%)").is_visible()
    assert page.get_by_text("Checking the rows: 60,000 of 80,000.").is_visible()


def test_an_admin_applies_the_valid_rows_of_a_windows_1252_roster(page, personas, sign_in, tmp_path):
    path = tmp_path / "excel.csv"
    bad_row = "zoe@contoso.example,Zoë Ëxample,Contoso,31/12/2020\n"  # line 4: not YYYY-MM-DD
    good_row = "rene@contoso.example,René Müller,Contoso,\n"
    text = "email,full_name,organization,hired_on\n" + ROSTER.split("\n", 1)[1].replace(",CEO", ",").replace(
        ",VP Engineering", ","
    )
    path.write_bytes((text + bad_row + good_row).encode("cp1252"))
    sign_in(page, personas.admin)

    page.goto("/roster/import/")
    page.get_by_label("Roster CSV file").set_input_files(str(path))
    page.get_by_label("Apply the valid rows: write the good rows, list the bad ones").check()
    page.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))

    job = ImportJob.objects.get()
    assert urlsplit(page.url).path == f"/imports/{job.pk}/"
    assert page.locator("#status-title").inner_text() == "Succeeded Valid rows imported, bad rows left out"
    assert page.get_by_role("row", name="Created").inner_text().split() == ["Created", "3"]
    assert page.get_by_role("row", name="Encoding").inner_text().split("\t") == ["Encoding", "Windows-1252"]
    assert page.get_by_role("region", name="Bad lines").get_by_role("row").nth(1).inner_text().split("\t") == [
        "4",
        "bad date in hired_on: '31/12/2020' (expected YYYY-MM-DD)",
    ]
    assert page.get_by_text("The valid rows are written; the 1 bad line below was left out.").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the bad lines (CSV, with the reason)").click()
    assert (
        download.value.path().read_bytes().decode()
        == "line,reason\r\n4,bad date in hired_on: '31/12/2020' (expected YYYY-MM-DD)\r\n"
    )
    assert sorted(Employee.objects.filter(email__endswith="@contoso.example").values_list("full_name", flat=True)) == [
        "Ada Lovelace",
        "Grace Hopper",
        "René Müller",
    ]

    page.goto("/roster/")
    assert page.get_by_text("René Müller").is_visible()
