"""Import job pages for L&D admins (issue 10): the provider CSV upload, and the page of one
job with its progress and result. The roster upload is in programs/views.py; both
upload pages hand the file to programs.imports."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from learnhub.roles import ld_admin_required
from programs.csv_files import CsvFileError
from programs.forms_providers import ProviderCsvUploadForm
from programs.imports import import_job_create, import_job_page, import_jobs_recent
from programs.models import Employee, ImportJob, ImportKind, ProviderConnection

REFRESH_SECONDS = 3  # the job page reloads itself this often while the job is queued or running


@ld_admin_required
def connection_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a Coursera CSV export for a connection: checked and stored, then imported by
    a job whose page shows the progress and the result."""
    connection = get_object_or_404(ProviderConnection, pk=pk)
    status = 200
    if request.method == "POST":
        form = ProviderCsvUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_job_create(
                    kind=ImportKind.PROVIDER_CSV,
                    upload=form.cleaned_data["file"],
                    connection=connection,
                    created_by=request.user if isinstance(request.user, Employee) else None,
                )
            except CsvFileError as exc:
                form.add_error("file", f"The file was not imported: {exc}")
            else:
                return redirect("programs:import_job", pk=job.pk)
        status = 400
    else:
        form = ProviderCsvUploadForm()
    context = {
        "connection": connection,
        "form": form,
        "jobs": import_jobs_recent(kind=ImportKind.PROVIDER_CSV, connection=connection),
        "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
    }
    return render(request, "programs/providers/connection_upload.html", context, status=status)


@ld_admin_required
def import_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One import job: its progress while it runs (the page reloads itself, no JavaScript),
    then what it imported, its bad lines, or why it stopped and what it kept."""
    job = get_object_or_404(ImportJob.objects.select_related("connection", "sync_run", "created_by"), pk=pk)
    return render(
        request,
        "programs/imports/job.html",
        {"page": import_job_page(job=job), "refresh_seconds": REFRESH_SECONDS},
    )
