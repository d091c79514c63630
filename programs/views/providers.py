"""Provider pages for L&D admins: connections (add, edit, pause, remove, test) with their
freshness and runs, "Sync now", CSV upload, unmatched and invalid records, and for an xapi
connection the addresses and client id to paste into the provider's admin console with its
statement counts. Every view is `ld_admin_required`; the client secret is never rendered
(templates show only whether one is stored, and its input is always empty)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from learnhub.manage.forms import PeopleSearchForm
from learnhub.roles import ld_admin_required
from programs.connection_check import connection_test
from programs.connection_freshness import connection_freshness, connections_with_freshness, schedule_check_seconds
from programs.connections import (
    KIND_NEEDS,
    ConnectionBusyError,
    connection_data,
    connection_sync_state,
    invalid_records_current,
    kind_is_synced,
    provider_connection_activate,
    provider_connection_delete,
    provider_connection_save,
)
from programs.csv_files import CsvFileError
from programs.forms_providers import (
    ConnectionActiveForm,
    ConnectionForm,
    ConnectionKindForm,
    ConnectionRemoveForm,
    LearnerDismissForm,
    LearnerLinkForm,
    ProviderCsvUploadForm,
    SyncNowForm,
)
from programs.imports import PROVIDER_FILE_FORMATS, import_job_create, import_jobs_recent, provider_file_problem
from programs.learner_aliases import (
    learner_alias_changes_recent,
    learner_alias_link,
    learner_alias_unlink,
    learner_aliases_recent,
    learner_dismiss,
    learner_dismissals_recent,
    learner_restore,
    unmatched_learners,
)
from programs.models import (
    Employee,
    ImportKind,
    InvalidRecord,
    LearnerAlias,
    LearnerDismissal,
    Provider,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
)
from programs.selectors import employees_search
from programs.sync.lease import connection_held_until
from programs.sync.pipeline import unmatched_rematch_queue
from programs.sync.schedule import sync_problem, sync_request
from programs.xapi.selectors import xapi_addresses, xapi_statement_counts

RUNS_PER_PAGE = 20
RECORDS_PER_PAGE = 50


def _page(request: HttpRequest, items: QuerySet, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _filters_query(**filters: int | None) -> str:
    """The active filters as a query-string prefix for the pagination links."""
    active = {k: v for k, v in filters.items() if v is not None}
    return f"{urlencode(active)}&" if active else ""


def _form_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's errors next to the matching fields (others on top of the form)."""
    for name, problems in error.message_dict.items():
        form.add_error(name if name in form.fields else None, problems)


@ld_admin_required
def connection_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    connections = list(connections_with_freshness())
    runs = SyncRun.objects.in_bulk([c.last_run_id for c in connections if c.last_run_id])  # type: ignore[attr-defined]
    rows = [
        (
            c,
            runs.get(c.last_run_id),  # type: ignore[attr-defined]
            connection_sync_state(connection=c, now=now),
            connection_freshness(connection=c, now=now),
        )
        for c in connections
    ]
    return render(
        request,
        "programs/providers/connection_list.html",
        {
            "rows": rows,
            "now": now,
            "unmatched_count": UnmatchedRecord.objects.count(),
        },
    )


def _connection_saved(request: HttpRequest, form: ConnectionForm, **which: Any) -> ProviderConnection | None:
    """The connection a valid posted `form` saved through `provider_connection_save`
    (`which`: new=True and the kind, or the connection edited); None when nothing was
    posted or saved (the service's errors are then next to the fields)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        connection, _created = provider_connection_save(name=form.cleaned_data["name"], **which, **form.values())
    except ValidationError as error:
        _form_errors(form, error)
        return None
    return connection


@ld_admin_required
def connection_new(request: HttpRequest) -> HttpResponse:
    """Add a connection: its kind first (`?kind=`, or the script), then that kind's fields."""
    kind_form = ConnectionKindForm(request.GET or None)
    chosen = kind_form.cleaned_data["kind"] if kind_form.is_valid() else ""
    form = ConnectionForm(request.POST if request.method == "POST" else None, kind=chosen, initial={"kind": chosen})
    if request.method == "POST":
        kind_form = ConnectionKindForm(initial={"kind": form.chosen})
    connection = _connection_saved(request, form, new=True, kind=form.chosen)
    if connection is not None:
        messages.success(request, _("Connection %(name)s added. Test it, then sync.") % {"name": connection.name})
        return redirect("programs:providers:detail", pk=connection.pk)
    context = {"form": form, "kind_form": kind_form, "all_kinds": " ".join(Provider.values)}
    return render(request, "programs/providers/connection_form.html", context)


@ld_admin_required
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(ProviderConnection, pk=pk)
    initial = {
        "name": connection.name,
        "base_url": connection.base_url,
        "token_url": connection.token_url,
        "org_id": connection.provider_org_id,
        "program_ids": " ".join(connection.provider_program_ids or []),
        "client_id": connection.client_id,
        "interval_minutes": connection.sync_interval_minutes,
    }
    form = ConnectionForm(request.POST if request.method == "POST" else None, connection=connection, initial=initial)
    if _connection_saved(request, form, connection=connection) is not None:
        messages.success(request, _("Settings saved."))
        return redirect("programs:providers:detail", pk=connection.pk)
    context = {"form": form, "connection": connection, "all_kinds": " ".join(Provider.values)}
    return render(request, "programs/providers/connection_form.html", context)


@ld_admin_required
@require_POST
def connection_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume a connection."""
    connection = get_object_or_404(ProviderConnection, pk=pk)
    form = ConnectionActiveForm(request.POST)
    if form.is_valid():
        active = form.cleaned_data["action"] == "resume"
        changed = provider_connection_activate(connection=connection, active=active)
        if active:
            message = _("%(name)s resumed.") if changed else _("%(name)s was already resumed.")
        else:
            message = _("%(name)s paused.") if changed else _("%(name)s was already paused.")
        messages.success(request, message % {"name": connection.name})
    return redirect("programs:providers:detail", pk=connection.pk)


@ld_admin_required
@require_POST
def connection_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Test connection: a token and one page from the provider; nothing is written."""
    connection = get_object_or_404(ProviderConnection, pk=pk)
    result = connection_test(connection=connection)
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, _("The connection test failed. %(reason)s") % {"reason": result.message})
    return redirect("programs:providers:detail", pk=connection.pk)


@ld_admin_required
def connection_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a connection, after saying what goes with it; one that holds records is
    confirmed by typing its name. Pausing is offered first: it keeps everything."""
    connection = get_object_or_404(ProviderConnection, pk=pk)
    data = connection_data(connection=connection)
    form = ConnectionRemoveForm(
        request.POST if request.method == "POST" else None, connection=connection, confirm=data.holds_records
    )
    if request.method == "POST" and form.is_valid():
        try:
            removed = provider_connection_delete(connection=connection)
        except ConnectionBusyError as exc:
            messages.error(request, str(exc))
            return redirect("programs:providers:detail", pk=connection.pk)
        messages.success(
            request,
            _("Connection %(name)s removed, with %(what)s.") % {"name": connection.name, "what": removed.description},
        )
        return redirect("programs:providers:connections")
    return render(
        request,
        "programs/providers/connection_remove.html",
        {"connection": connection, "data": data, "form": form},
    )


@ld_admin_required
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(connections_with_freshness(), pk=pk)
    is_xapi = connection.kind == Provider.XAPI
    now = timezone.now()
    return render(
        request,
        "programs/providers/connection_detail.html",
        {
            "connection": connection,
            "freshness": connection_freshness(connection=connection, now=now),
            "now": now,
            "is_synced": kind_is_synced(connection.kind),
            "needs": KIND_NEEDS[connection.kind],
            "schedule_check_minutes": round(schedule_check_seconds() / 60),
            "is_xapi": is_xapi,
            # The addresses as this page was reached: the host (and, behind a proxy set up as
            # the README says, the scheme) the admin uses is the one the provider must call.
            "xapi": xapi_addresses(connection=connection, absolute=request.build_absolute_uri("/"))
            if is_xapi
            else None,
            "xapi_counts": xapi_statement_counts(connection=connection) if is_xapi else None,
            "has_secret": bool(connection.client_secret),
            "state": connection_sync_state(connection=connection, now=now),
            "sync_problem": sync_problem(connection=connection),
            "runs": _page(request, connection.runs.order_by("-started_at", "-pk"), RUNS_PER_PAGE),
            "sync_form": SyncNowForm(),
            "file_problem": provider_file_problem(connection=connection),
            "unmatched_count": connection.unmatched_records.count(),
        },
    )


@ld_admin_required
@require_POST
def connection_sync(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(ProviderConnection, pk=pk)
    form = SyncNowForm(request.POST)
    full = form.is_valid() and form.cleaned_data["full"]
    problem = sync_problem(connection=connection)
    held = connection_held_until(connection=connection, now=timezone.now()) is not None
    if problem:
        messages.error(request, problem)
    elif not sync_request(connection=connection, full=full):  # refused after all: it changed meanwhile
        messages.error(request, sync_problem(connection=connection))
    elif held:
        message = (
            _("Full sync of %(name)s queued: a sync of it is running now, and yours starts when that one ends.")
            if full
            else _("Sync of %(name)s queued: a sync of it is running now, and yours starts when that one ends.")
        )
        messages.success(request, message % {"name": connection.name})
    else:
        message = (
            _("Full sync of %(name)s queued. Reload this page in a minute to see the run.")
            if full
            else _("Sync of %(name)s queued. Reload this page in a minute to see the run.")
        )
        messages.success(request, message % {"name": connection.name})
    return redirect("programs:providers:detail", pk=connection.pk)


@ld_admin_required
def unmatched_list(request: HttpRequest) -> HttpResponse:
    """Unmatched provider learners, paged, each to link to an employee or dismiss; the
    link form (posted here), a people search for the employee's e-mail, the aliases and
    dismissed learners, and the audit trail of both."""
    connection_id = _int_param(request, "connection")
    initial = {"provider": request.GET.get("provider", ""), "learner_key": request.GET.get("learner", "")}
    initial["email"] = request.GET.get("email", "")
    form = LearnerLinkForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            alias = learner_alias_link(**form.cleaned_data, by=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("%(learner)s is now %(email)s: their records are being matched. Reload in a minute.")
                % {"learner": alias.learner_key, "email": alias.employee.email},
            )
            return redirect("programs:providers:unmatched")
    people_search = PeopleSearchForm(request.GET or None)
    query = people_search.cleaned_data["q"] if people_search.is_valid() else ""
    return render(
        request,
        "programs/providers/unmatched_list.html",
        {
            "learners": _page(request, unmatched_learners(connection_id=connection_id), RECORDS_PER_PAGE),
            "connections": ProviderConnection.objects.order_by("name"),
            "connection_id": connection_id,
            "pagination_query": _filters_query(connection=connection_id),
            "providers": dict(Provider.choices),
            "form": form,
            "people_search": people_search,
            "query": query,
            "people": employees_search(query=query),
            "link_provider": initial["provider"],
            "link_learner": initial["learner_key"],
            "link_query": urlencode({"provider": initial["provider"], "learner": initial["learner_key"]}) + "&",
            "aliases": learner_aliases_recent(),
            "dismissals": learner_dismissals_recent(),
            "changes": learner_alias_changes_recent(),
        },
    )


@ld_admin_required
@require_POST
def unmatched_rematch_request(request: HttpRequest) -> HttpResponse:
    unmatched_rematch_queue(employee_ids=None)
    messages.success(request, _("Matching the unmatched records against the roster again. Reload in a minute."))
    return redirect("programs:providers:unmatched")


@ld_admin_required
@require_POST
def learner_dismiss_request(request: HttpRequest) -> HttpResponse:
    form = LearnerDismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a learner from the list to dismiss."))
        return redirect("programs:providers:unmatched")
    try:
        learner_dismiss(**form.cleaned_data, by=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(learner)s dismissed: their records are kept.") % {"learner": form.cleaned_data["learner_key"]}
        )
    return redirect("programs:providers:unmatched")


@ld_admin_required
@require_POST
def learner_restore_request(request: HttpRequest, pk: int) -> HttpResponse:
    dismissal = get_object_or_404(LearnerDismissal, pk=pk)
    learner_restore(dismissal=dismissal, by=request.user)  # type: ignore[arg-type]
    messages.success(request, _("%(learner)s is back on the unmatched list.") % {"learner": dismissal.learner_key})
    return redirect("programs:providers:unmatched")


@ld_admin_required
@require_POST
def learner_unlink_request(request: HttpRequest, pk: int) -> HttpResponse:
    alias = get_object_or_404(LearnerAlias.objects.select_related("employee"), pk=pk)
    moved = learner_alias_unlink(alias=alias, by=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        ngettext(
            "%(learner)s is no longer linked to %(email)s; %(count)d record went back to the unmatched list.",
            "%(learner)s is no longer linked to %(email)s; %(count)d records went back to the unmatched list.",
            moved,
        )
        % {"learner": alias.learner_key, "email": alias.employee.email, "count": moved},
    )
    return redirect("programs:providers:unmatched")


@ld_admin_required
def invalid_list(request: HttpRequest) -> HttpResponse:
    connection_id = _int_param(request, "connection")
    run_id = _int_param(request, "run")
    show_all = request.GET.get("all") == "1"
    records = InvalidRecord.objects.all() if run_id is not None or show_all else invalid_records_current()
    records = records.select_related("connection", "run").order_by("-run__started_at", "line", "pk")
    if connection_id is not None:
        records = records.filter(connection_id=connection_id)
    if run_id is not None:
        records = records.filter(run_id=run_id)
    return render(
        request,
        "programs/providers/invalid_list.html",
        {
            "records": _page(request, records, RECORDS_PER_PAGE),
            "connections": ProviderConnection.objects.order_by("name"),
            "connection_id": connection_id,
            "run_id": run_id,
            "show_all": show_all,
            "pagination_query": _filters_query(connection=connection_id, run=run_id, all=1 if show_all else None),
        },
    )


@ld_admin_required
def connection_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the file of a connection's kind (a Coursera export, or LearnHub's completions
    file for an `other` connection): checked and stored, then imported by a job whose page
    shows the progress and the result. A kind that takes no file says so, and where its
    completions come from."""
    connection = get_object_or_404(ProviderConnection, pk=pk)
    file_problem = provider_file_problem(connection=connection)
    file_format = PROVIDER_FILE_FORMATS.get(connection.kind)
    shown = {"format_name": str(file_format.name), "description": str(file_format.description)} if file_format else {}
    status = 200
    form = ProviderCsvUploadForm(**shown)
    if request.method == "POST":
        form, status = ProviderCsvUploadForm(request.POST, request.FILES, **shown), 400
        if form.is_valid():
            try:
                job = import_job_create(
                    kind=ImportKind.PROVIDER_CSV,
                    upload=form.cleaned_data["file"],
                    connection=connection,
                    created_by=request.user if isinstance(request.user, Employee) else None,
                )
            except CsvFileError as exc:
                form.add_error("file", _("The file was not imported: %(reason)s") % {"reason": exc})
            else:
                return redirect("programs:import_job", pk=job.pk)
    context = {
        "connection": connection,
        "form": form,
        "file_problem": file_problem,
        "jobs": import_jobs_recent(kind=ImportKind.PROVIDER_CSV, connection=connection),
        "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
    }
    return render(request, "programs/providers/connection_upload.html", context, status=status)
