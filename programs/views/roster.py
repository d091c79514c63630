"""The roster (L&D admins): everyone, searchable and filtered by organization, and the
roster file upload, imported by a job (programs.imports)."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from learnhub.roles import ld_admin_required
from programs.csv_files import CsvFileError
from programs.forms import RosterFilterForm, RosterImportForm
from programs.imports import import_job_create, import_jobs_recent
from programs.models import Employee, ImportKind
from programs.roster import roster_employees

ROSTER_PAGE_SIZE = 50


@ld_admin_required
def roster_import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a roster CSV (or check it with a dry run): checked and stored, then imported
    by a job whose page shows the progress and the result (programs.imports)."""
    status = 200
    if request.method == "POST":
        form = RosterImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_job_create(
                    kind=ImportKind.ROSTER,
                    upload=form.cleaned_data["file"],
                    created_by=request.user if isinstance(request.user, Employee) else None,
                    options={
                        "dry_run": form.cleaned_data["dry_run"],
                        "mark_missing_departed": form.cleaned_data["mark_missing_departed"],
                        "apply_valid_rows": form.cleaned_data["bad_rows"] == "apply_valid",
                    },
                )
            except CsvFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("programs:import_job", pk=job.pk)
        status = 400
    else:
        form = RosterImportForm()
    context = {
        "form": form,
        "jobs": import_jobs_recent(kind=ImportKind.ROSTER),
        "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
    }
    return render(request, "programs/roster_import.html", context, status=status)


@ld_admin_required
def roster(request: HttpRequest) -> HttpResponse:
    """Everyone on the roster, searchable by name or e-mail and filtered by organization."""
    form = RosterFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    employees = roster_employees(search=filters.get("q", ""), organization=filters.get("organization"))
    page = Paginator(employees, ROSTER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "programs/roster_list.html", {"form": form, "page": page, "query": query.urlencode()})
