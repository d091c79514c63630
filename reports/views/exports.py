"""CSV exports: organizations for everyone signed in, people for L&D admins and, for
their own organizations, sponsors and champions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from learnhub.roles import (
    can_see_people_of,
    people_scope,
)
from programs.models import Organization
from reports.exports import (
    ORGANIZATION_HEADER,
    PEOPLE_HEADER,
    export_filename,
    organization_rows,
    people_rows,
    write_csv,
)
from reports.kept import progress_read
from reports.progress import progress_day
from reports.views._common import request_choice


def csv_response(*, filename: str) -> HttpResponse:
    """An empty CSV download named `filename`, kept out of caches: write the rows into it."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _export_refused(problems: list[str]) -> str:
    """An export never falls back silently: the file would not say what it holds."""
    return _("Nothing was exported.") + "\n" + "\n".join(problems)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@login_required
def export_organizations(request: HttpRequest) -> HttpResponse:
    """Organization progress as CSV, for everyone signed in (aggregates only)."""
    choice = request_choice(request)
    if choice.problems:
        return _bad_request(_export_refused(choice.problems))
    if choice.program is None:
        return _bad_request(_("No learning program has been set up yet."))
    progress = progress_read(program=choice.program, as_of=choice.day)
    response = csv_response(filename=export_filename(program=choice.program, what="organizations", day=progress.as_of))
    write_csv(out=response, header=ORGANIZATION_HEADER, rows=organization_rows(progress=progress))
    return response


@login_required
def export_people(request: HttpRequest) -> HttpResponse:
    """Person-level status as CSV. L&D admins: the whole company, or ?org=<id>.
    Sponsors and champions: their own organizations (and below), or one of them with
    ?org=<id>. Everyone else, and anyone asking for another organization: 403."""
    choice = request_choice(request)
    if choice.problems:
        return _bad_request(_export_refused(choice.problems))
    program = choice.program
    if program is None:
        return _bad_request(_("No learning program has been set up yet."))
    raw_org = request.GET.get("org", "").strip()
    org: Organization | None = None
    if raw_org:
        if not raw_org.isdigit():
            return _bad_request(_("“%(org)s” is not an organization id: use org=<number>.") % {"org": raw_org})
        org = get_object_or_404(Organization, pk=int(raw_org))
    organizations: list[Organization] | None
    if org is not None:
        if not can_see_people_of(request.user, program, org):
            raise PermissionDenied(_("You can export the people of your own organization only."))
        organizations = [org]
    else:
        organizations = people_scope(request.user, program)
        if organizations == []:
            raise PermissionDenied(_("Person-level status is for L&D admins, sponsors and champions."))
    day = progress_day(program=program, as_of=choice.day)
    response = csv_response(filename=export_filename(program=program, what="people", day=day, organization=org))
    write_csv(
        out=response,
        header=PEOPLE_HEADER,
        rows=people_rows(program=program, as_of=choice.day, organizations=organizations),
    )
    return response
