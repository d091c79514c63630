"""The page of one import job (roster or provider file): its progress while it runs,
then what it imported, its bad lines, or why it stopped and what it kept."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from learnhub.roles import ld_admin_required
from programs.imports import ERRORS_CSV_HEADER, import_job_errors_rows, import_job_page
from programs.models import ImportJob
from programs.templatetags.formats import progress_percent
from reports.exports import write_csv

REFRESH_SECONDS = 3  # the job page reloads itself this often while the job is queued or running


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


@ld_admin_required
def import_job_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The bad lines of one import job as CSV (line, reason), every cell formula-safe."""
    job = get_object_or_404(ImportJob, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-bad-lines.csv"'
    write_csv(out=response, header=ERRORS_CSV_HEADER, rows=import_job_errors_rows(job=job))
    return response


@ld_admin_required
def import_job_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """One import job's progress for the job page's script (static/js/import_progress.js)."""
    page = import_job_page(job=get_object_or_404(ImportJob, pk=pk))
    job = page.job
    return JsonResponse(
        {
            "status": job.status,
            "is_active": page.is_active,
            "rows_total": job.rows_total,
            "rows_done": job.rows_done,
            "percent": page.percent,
            "percent_text": progress_percent(page.percent),
            "phase": page.phase,
            "rows_text": _("%(done)s of %(total)s rows (%(percent)s%%)")
            % {"done": job.rows_done, "total": job.rows_total, "percent": page.percent},
        }
    )
