from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from champions.selectors import home_page
from learnhub.roles import current_program, ld_admin_required
from programs.collections_import import collections_import
from programs.csv_files import CsvFileError
from programs.forms import CollectionsImportForm, RosterFilterForm, RosterImportForm
from programs.imports import import_job_create, import_jobs_recent
from programs.models import Employee, ImportKind
from programs.roster import roster_employees


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The employee home: my status, my organization's progress and rank, my collections,
    study groups to join, updates and stories (champions.selectors.home_page)."""
    program = current_program()
    user = request.user
    page = home_page(program=program, employee=user) if program and isinstance(user, Employee) else None
    return render(request, "programs/home.html", {"program": program, "page": page})


@ld_admin_required
def collections_import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a collections CSV into a program; show the summary or every bad line."""
    result = None
    if request.method == "POST":
        form = CollectionsImportForm(request.POST, request.FILES)
        if form.is_valid():
            program = form.cleaned_data["program"]
            result = collections_import(program=program, content=form.cleaned_data["file"].read())
    else:
        program = current_program()
        form = CollectionsImportForm(initial={"program": program.pk if program else None})
    return render(request, "programs/collections_import.html", {"form": form, "result": result})


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
