"""LearnHub's completions file (connections of kind `other`): the format, its encodings,
the import command, the upload page, and the kinds that take no file."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from programs.csv_files import CsvFileError
from programs.models import Course, Enrollment, ImportJob, InvalidRecord, SyncRun
from programs.providers.base import ProviderError
from programs.providers.completions_csv import CompletionsCsvAdapter, completions_csv_check
from tests.factories import ConnectionFactory, EmployeeFactory

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
HEADER = "email,external_id,course_id,course_title,completed_on,hours\n"
CAFE = "Café Leadership \u2013 Workshop"  # an e acute and an en dash: one byte each in Windows-1252
# As Excel on Windows saves it: Windows-1252 and CRLF.
WORKSHOPS = (
    HEADER + f"rui@acme.example,E07,WS-01,{CAFE},2024-12-05,3\n"
    f"olek@acme.example,E04,WS-01,{CAFE},2024-03-14T17:00:00+01:00,3\n"
    "sade@acme.example,E06,WS-02,Forklift Refresher,,1.5\n"
    "hana@acme.example,,WS-02,Forklift Refresher,2025-01-01 07:30,1.5\n"
)


def windows_1252(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("cp1252")


def records(content: bytes, **options: Any) -> list[Any]:
    adapter = CompletionsCsvAdapter(file=io.BytesIO(content), zone=LOS_ANGELES, **options)
    return [record for page in adapter.pages() for record in page]


# --- The format ----------------------------------------------------------------------------


def test_a_windows_1252_file_with_crlf_is_read_like_its_utf8_twin():
    cp1252, utf8_bom = windows_1252(WORKSHOPS), b"\xef\xbb\xbf" + WORKSHOPS.encode()

    read = records(cp1252)

    assert completions_csv_check(file=io.BytesIO(cp1252)).encoding == "cp1252"
    assert completions_csv_check(file=io.BytesIO(utf8_bom)).encoding == "utf-8-sig"
    assert [(r.line, r.course_title) for r in read] == [
        (2, CAFE),
        (3, CAFE),
        (4, "Forklift Refresher"),
        (5, "Forklift Refresher"),
    ]
    assert [(r.raw, r.course_title, r.completed_at) for r in records(utf8_bom)] == [
        (r.raw, r.course_title, r.completed_at) for r in read
    ]


def test_completed_on_is_a_day_in_the_company_time_zone_or_a_date_and_time():
    read = records(WORKSHOPS.encode())

    assert [(r.email, r.external_id, r.provider_course_id, r.is_completed, r.completed_at) for r in read] == [
        ("rui@acme.example", "E07", "WS-01", True, dt.datetime(2024, 12, 5, 20, tzinfo=dt.UTC)),  # noon, PST
        ("olek@acme.example", "E04", "WS-01", True, dt.datetime(2024, 3, 14, 16, tzinfo=dt.UTC)),  # its zone
        ("sade@acme.example", "E06", "WS-02", False, None),  # empty: not completed
        ("hana@acme.example", "", "WS-02", True, dt.datetime(2025, 1, 1, 15, 30, tzinfo=dt.UTC)),  # 07:30 PST
    ]
    assert [r.course_hours for r in read] == [Decimal("3"), Decimal("3"), Decimal("1.5"), Decimal("1.5")]
    assert {r.problem for r in read} == {""}


def test_bad_values_are_named_with_their_column():
    content = (
        b"email,external_id,course_id,course_title,completed_on,course_url,hours\n"
        b"a@acme.example,,WS-01,Workshop,31/12/2024,,\n"
        b",,WS-01,Workshop,2024-12-31,,\n"
        b"b@acme.example,,,Workshop,2024-12-31,ftp://files.example/ws,-2\n"
        b"c@acme.example,,WS-01,Workshop,2024-12-31,https://academy.example/ws,2.5\n"
    )

    assert [(r.line, r.problem) for r in records(content)] == [
        (2, "completed_on: cannot parse '31/12/2024'"),
        (3, "email and external_id are both empty"),
        (
            4,
            "hours: -2 is not between 0 and 10,000; course_url: 'ftp://files.example/ws' is not an http(s) address; "
            "course_id is empty",
        ),
        (5, ""),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty: expected a LearnHub completions file with the header email, external_id, "),
        (
            b"email,course_id,completed_on\n",
            "missing column(s): external_id, course_title. A LearnHub completions file has the columns email, ",
        ),
        (
            b"email,external_id,course_id,course_title,completed on\n",
            "missing column(s): completed_on. A LearnHub completions file has the columns",
        ),
        (
            b"email,external_id,course_id,course_title,completed_on,course url\n",
            "The header (line 1) has a column LearnHub does not know: 'course url' (did you mean course_url?).",
        ),
    ],
)
def test_a_header_that_does_not_fit_is_refused(content, message):
    with pytest.raises(CsvFileError) as refused:
        completions_csv_check(file=io.BytesIO(content))
    with pytest.raises(ProviderError):
        records(content)

    assert str(refused.value).startswith(message)


def test_a_file_that_mixes_utf8_and_windows_1252_is_refused_with_its_line():
    mixed = (HEADER + "rui@acme.example,E07,WS-01,Café,2024-12-05,3\n").encode() + windows_1252(
        "hana@acme.example,,WS-02,Café,2024-12-05,3\n"
    )
    undefined = HEADER.encode() + b"rui@acme.example,E07,WS-01,Caf\x81,2024-12-05,3\n"

    with pytest.raises(CsvFileError) as mixing:
        completions_csv_check(file=io.BytesIO(mixed))
    with pytest.raises(CsvFileError) as neither:
        completions_csv_check(file=io.BytesIO(undefined))

    assert str(mixing.value) == (
        "The file mixes UTF-8 with another encoding: byte 135, on line 3, is not UTF-8 although the lines before it "
        "are. Save it again as CSV UTF-8 and import it again."
    )
    assert str(neither.value) == (
        "The file is neither UTF-8 nor Windows-1252 text (byte 0x81 on line 2 is neither). "
        "Save it as CSV UTF-8 and import it again."
    )


# --- The command --------------------------------------------------------------------------


@pytest.fixture
def workshops(db, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    for n, email in ((4, "olek"), (6, "sade"), (7, "rui"), (8, "hana")):
        EmployeeFactory(email=f"{email}@acme.example", external_id=f"E0{n}")
    return ConnectionFactory(name="workshops", kind="other")


def import_file(path: Path, connection: str = "workshops") -> str:
    out = io.StringIO()
    call_command("import_provider_csv", str(path), "--connection", connection, stdout=out)
    return out.getvalue()


def test_the_command_imports_a_windows_file_and_the_same_file_again_changes_nothing(workshops, tmp_path):
    path = tmp_path / "workshops.csv"
    path.write_bytes(windows_1252(WORKSHOPS))

    first = import_file(path)
    rows = list(Enrollment.objects.order_by("pk").values())
    again = import_file(path)

    runs = list(SyncRun.objects.order_by("pk"))
    assert first.strip() == (
        f"workshops run {runs[0].pk}: succeeded. fetched 4, created 4, updated 0, unchanged 0, merged 0, skipped 0, "
        "invalid 0, unmatched 0 (pages 1, retries 0)"
    )
    assert "created 0, updated 0, unchanged 4, merged 0, skipped 0, invalid 0, unmatched 0" in again
    assert list(Enrollment.objects.order_by("pk").values()) == rows
    assert sorted(Course.objects.values_list("provider", "provider_course_id", "title", "hours")) == [
        ("other", "WS-01", CAFE, Decimal("3.0")),
        ("other", "WS-02", "Forklift Refresher", Decimal("1.5")),
    ]
    assert dict(Enrollment.objects.values_list("employee__email", "completed_at")) == {
        "rui@acme.example": dt.datetime(2024, 12, 5, 20, tzinfo=dt.UTC),
        "olek@acme.example": dt.datetime(2024, 3, 14, 16, tzinfo=dt.UTC),
        "sade@acme.example": None,
        "hana@acme.example": dt.datetime(2025, 1, 1, 15, 30, tzinfo=dt.UTC),
    }


def test_the_command_lists_a_bad_date_with_its_line(workshops, tmp_path):
    path = tmp_path / "workshops.csv"
    path.write_bytes(
        windows_1252(
            HEADER
            + "rui@acme.example,E07,WS-01,Café,2024-12-05,3\n"
            + "sade@acme.example,E06,WS-02,Forklift,2024-02-30,1\n"
        )
    )

    out = import_file(path)

    assert out.splitlines()[1:] == ["line 3: completed_on: cannot parse '2024-02-30'"]
    assert InvalidRecord.objects.get().line == 3
    assert list(Enrollment.objects.values_list("employee__email", flat=True)) == ["rui@acme.example"]


@pytest.mark.parametrize(
    ("kind", "instead"),
    [
        ("udemy", "they come from the Udemy Business API: sync it"),
        ("xapi", "the provider pushes its xAPI statements to LearnHub"),
    ],
)
def test_kinds_without_a_file_refuse_it_and_say_where_their_completions_come_from(db, tmp_path, kind, instead):
    connection = ConnectionFactory(name="elsewhere", kind=kind)
    path = tmp_path / "workshops.csv"
    path.write_bytes(WORKSHOPS.encode())

    with pytest.raises(CommandError) as refused:
        import_file(path, connection="elsewhere")

    assert str(refused.value) == (
        f"The file was not imported: {connection.get_kind_display()} connections take no file: {instead}. Files are "
        "imported for Coursera connections (their CourseActivity export) and for Other connections (a LearnHub "
        "completions file)."
    )
    assert SyncRun.objects.count() == 0


# --- The upload page ---------------------------------------------------------------------------


def test_the_upload_page_of_an_other_connection_imports_the_completions_file(
    personas, workshops, django_capture_on_commit_callbacks
):
    admin = personas.client_for(personas.admin)
    url = reverse("programs:providers:upload", args=[workshops.pk])
    upload = SimpleUploadedFile("workshops.csv", windows_1252(WORKSHOPS), content_type="text/csv")

    page = admin.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the import job runs in process here
        response = admin.post(url, {"file": upload})

    job = ImportJob.objects.get()
    assert "LearnHub completions file (CSV)" in page and "Coursera" not in page
    assert (response.status_code, response["Location"]) == (302, reverse("programs:import_job", args=[job.pk]))
    assert (job.status, job.encoding, job.sync_run.created) == ("succeeded", "cp1252", 4)
    assert "Windows-1252" in admin.get(response["Location"]).content.decode()


def test_the_upload_page_of_an_api_connection_says_it_takes_no_file(personas, django_capture_on_commit_callbacks):
    udemy = ConnectionFactory(name="udemy", kind="udemy")
    admin = personas.client_for(personas.admin)
    url = reverse("programs:providers:upload", args=[udemy.pk])
    upload = SimpleUploadedFile("workshops.csv", WORKSHOPS.encode(), content_type="text/csv")

    page = admin.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        refused = admin.post(url, {"file": upload})

    no_file = "Udemy Business connections take no file: they come from the Udemy Business API: sync it."
    assert no_file in page and "<form" not in page.split("<main")[1].split("</section>")[0]
    assert refused.status_code == 400 and no_file in refused.content.decode()
    assert ImportJob.objects.count() == 0 and SyncRun.objects.count() == 0
    assert no_file in admin.get(reverse("programs:providers:detail", args=[udemy.pk])).content.decode()
