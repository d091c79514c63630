"""Who to nudge first: the people of an organization who have not met the goal, ranked
closest to the goal first, filtered by team and status, nudged one by one or all at
once, exported as CSV; and previews of a nudge and of the weekly digest."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from champions.forms import RankedListFilterForm
from champions.views._common import program_or_404, signed_in_employee
from learnhub.roles import (
    can_preview_messages_of,
    can_see_people_of,
    people_scope,
)
from programs.models import Employee, LearningProgram, Organization
from reports.exports import RANKED_HEADER, export_filename, ranked_rows, write_csv
from reports.kept import people_to_nudge_read, progress_read
from reports.messaging.delivery import Email, email_render, email_test_send
from reports.messaging.digests import digest_preview
from reports.messaging.nudges import NudgeOutcome, nudge_employees, nudge_preview
from reports.people import Stage
from reports.progress import progress_day
from reports.selectors import Headline, headline
from reports.views.exports import csv_response

# How many names a nudge's outcome lists for each reason a person was not nudged.
NAMES_SHOWN = 10


@login_required
def not_yet_index(request: HttpRequest) -> HttpResponse:
    program = program_or_404()
    scope = people_scope(request.user, program)
    organizations = list(Organization.objects.filter(depth=1).order_by("path")) if scope is None else scope
    if not organizations:
        raise PermissionDenied(_("Champions, sponsors and L&D admins see who has not completed yet."))
    if len(organizations) == 1:
        return redirect("champions:not_yet", org_pk=organizations[0].pk)
    return render(request, "champions/not_yet_index.html", {"organizations": organizations, "program": program})


def _names(ids: list[int], names: dict[int, str]) -> str:
    shown = ", ".join(names.get(pk, "") for pk in ids[:NAMES_SHOWN])
    if len(ids) <= NAMES_SHOWN:
        return shown
    return _("%(names)s and %(more)d more") % {"names": shown, "more": len(ids) - NAMES_SHOWN}


def nudge_outcome_messages(outcome: NudgeOutcome, names: dict[int, str]) -> list[tuple[int, str]]:
    """What the champion reads after a nudge: who got one, and who did not and why
    (`names`: each person's name by id)."""
    if outcome.program_not_running:
        return [(messages.WARNING, _("Nothing was sent: nudges go out only while the program is active."))]
    said = []
    if outcome.sent:
        sent = ngettext("Nudged %(count)d person by e-mail.", "Nudged %(count)d people by e-mail.", outcome.sent_count)
        said.append((messages.SUCCESS, sent % {"count": outcome.sent_count}))
    reasons = [
        (outcome.already_met, _("already met the goal")),
        (outcome.not_eligible, _("not in the program's count today")),
        (outcome.too_soon, _("nudged recently (one nudge per person per interval)")),
        (outcome.unsubscribed, _("unsubscribed from nudges")),
        (outcome.failed, _("the e-mail could not be sent; see Messages")),
    ]
    for ids, why in reasons:
        if ids:
            text = ngettext(
                "Not nudged, %(count)d person: %(why)s (%(names)s).",
                "Not nudged, %(count)d people: %(why)s (%(names)s).",
                len(ids),
            )
            said.append((messages.INFO, text % {"count": len(ids), "why": why, "names": _names(ids, names)}))
    return said


@dataclass(frozen=True)
class RankedList:
    """The ranked list of an organization as the page, its CSV and its nudges read it."""

    organization: Organization
    form: RankedListFilterForm
    people: QuerySet[Employee]
    query: str  # the filters as a query string, for the CSV link and the redirect


def _ranked_list(request: HttpRequest, program: LearningProgram, org_pk: int) -> RankedList:
    """The organization (403 unless the viewer may see its people) and its ranked list
    under the filters of the request (GET, or the POST of a nudge): a team of the
    organization (default: all of it) and a status. Unknown filter values are ignored."""
    organization = get_object_or_404(Organization, pk=org_pk)
    if not can_see_people_of(request.user, program, organization):
        raise PermissionDenied(_("Only this organization's champions, sponsor and L&D admins see its people."))
    data = request.POST if request.method == "POST" else request.GET
    form = RankedListFilterForm(
        {"team": data.get("team", ""), "status": data.get("status", "")},
        teams=Organization.objects.subtree(organization).exclude(pk=organization.pk).order_by("path"),
        statuses=Stage.choices,
    )
    team, stage = None, None
    if form.is_valid():
        team = form.cleaned_data["team"]
        stage = Stage(form.cleaned_data["status"]) if form.cleaned_data["status"] else None
    people = people_to_nudge_read(program=program, as_of=None, organization=team or organization, stage=stage)
    query = urlencode({k: v for k, v in (("team", team.pk if team else ""), ("status", stage or "")) if v})
    return RankedList(organization=organization, form=form, people=people, query=query)


def _headline(*, program: LearningProgram, organization: Organization) -> Headline | None:
    progress = progress_read(program=program)
    block = progress.for_organization(organization.pk)
    return headline(progress=progress, block=block, name=organization.name) if block else None


@login_required
def not_yet(request: HttpRequest, org_pk: int) -> HttpResponse:
    """Who to nudge first (`people_to_nudge_read`), with how many more people the
    organization needs to reach the target and to be on pace (the engine's headline);
    nudge one person, the selected ones, or everyone the filters show."""
    program = program_or_404()
    ranked = _ranked_list(request, program, org_pk)
    if request.method == "POST":
        return _nudge(request, program, ranked)
    return render(
        request,
        "champions/not_yet.html",
        {
            "program": program,
            "organization": ranked.organization,
            "form": ranked.form,
            "query": ranked.query,
            "people": list(ranked.people),
            "headline": _headline(program=program, organization=ranked.organization),
            "can_preview": can_preview_messages_of(request.user, program, ranked.organization),
        },
    )


def _nudge(request: HttpRequest, program: LearningProgram, ranked: RankedList) -> HttpResponse:
    """Nudge (`nudge_employees`, with its interval and unsubscribe rules) one person
    ("only"), everyone the filters show ("everyone") or the selected people, all of them
    on the ranked list; then back to the list under the same filters."""
    back = redirect(f"{reverse('champions:not_yet', args=[ranked.organization.pk])}?{ranked.query}")
    if "only" in request.POST:
        targets = ranked.people.filter(pk__in=[v for v in [request.POST["only"]] if v.isdigit()])
    elif "everyone" in request.POST:
        targets = ranked.people
    else:
        targets = ranked.people.filter(pk__in=[v for v in request.POST.getlist("selected") if v.isdigit()])
    people = list(targets)
    if not people:
        messages.error(request, _("Select at least one person who has not completed yet."))
        return back
    outcome = nudge_employees(program=program, employees=people, sender=signed_in_employee(request))
    names = {person.pk: str(person) for person in people}
    for level, text in nudge_outcome_messages(outcome, names):
        messages.add_message(request, level, text)
    return back


@login_required
def not_yet_csv(request: HttpRequest, org_pk: int) -> HttpResponse:
    """The ranked list under the page's filters as CSV (every cell formula-safe)."""
    program = program_or_404()
    ranked = _ranked_list(request, program, org_pk)
    day = progress_day(program=program)
    filename = export_filename(program=program, what="to-nudge", day=day, organization=ranked.organization)
    response = csv_response(filename=filename)
    write_csv(out=response, header=RANKED_HEADER, rows=ranked_rows(people=ranked.people, day=day))
    return response


def _preview(request: HttpRequest, *, email: Email, title: str, html_url: str, back: str) -> HttpResponse:
    """A message as it would go (its plain text, a link to its HTML), with "send a test
    to myself" (POST)."""
    viewer = signed_in_employee(request)
    if request.method == "POST":
        try:
            email_test_send(email=email, reader=viewer)
        except Exception as exc:  # any backend error: said on the page, nothing else to undo
            messages.error(request, _("The test could not be sent: %(error)s") % {"error": exc})
        else:
            messages.success(request, _("A test copy was sent to %(email)s.") % {"email": viewer.email})
        return redirect(request.get_full_path())
    _subject, text, _html = email_render(email=email, reader=viewer)
    context = {"title": title, "email": email, "text": text, "html_url": html_url, "back": back, "viewer": viewer}
    return render(request, "champions/message_preview.html", context)


def _email_html(request: HttpRequest, email: Email) -> HttpResponse:
    _subject, _text, html_body = email_render(email=email, reader=signed_in_employee(request))
    return HttpResponse(html_body)


def _preview_organization(request: HttpRequest, program: LearningProgram, org_pk: int) -> Organization:
    organization = get_object_or_404(Organization, pk=org_pk)
    if not can_preview_messages_of(request.user, program, organization):
        raise PermissionDenied(_("Only this organization's champions and L&D admins preview its messages."))
    return organization


def _nudge_previewed(request: HttpRequest, org_pk: int, person_pk: int) -> Email:
    """The nudge a person of the organization (or below) would get from the viewer now."""
    program = program_or_404()
    organization = _preview_organization(request, program, org_pk)
    person = get_object_or_404(
        Employee.objects.select_related("organization"),
        pk=person_pk,
        organization__in=Organization.objects.subtree(organization),
    )
    return nudge_preview(program=program, person=person, sender=signed_in_employee(request))


def _digest_previewed(request: HttpRequest, org_pk: int) -> Email:
    """This week's digest of the organization, in its champions' version."""
    program = program_or_404()
    organization = _preview_organization(request, program, org_pk)
    return digest_preview(program=program, organization=organization, reader=signed_in_employee(request))


@login_required
def nudge_preview_page(request: HttpRequest, org_pk: int, person_pk: int) -> HttpResponse:
    email = _nudge_previewed(request, org_pk, person_pk)
    html_url = reverse("champions:nudge_preview_html", args=[org_pk, person_pk])
    back = reverse("champions:not_yet", args=[org_pk])
    return _preview(
        request, email=email, title=_("Nudge to %(name)s") % {"name": email.employee}, html_url=html_url, back=back
    )


@login_required
def digest_preview_page(request: HttpRequest, org_pk: int) -> HttpResponse:
    email = _digest_previewed(request, org_pk)
    title = _("Weekly digest of %(name)s") % {"name": email.context["digest"].organization.name}
    html_url = reverse("champions:digest_preview_html", args=[org_pk])
    back = reverse("champions:not_yet", args=[org_pk])
    return _preview(request, email=email, title=title, html_url=html_url, back=back)


# An e-mail's HTML on its own, as a mail client shows it: its styles are inline (mail
# clients read no style sheet), so these two responses allow inline styles; scripts stay
# refused. (django-csp types a view as taking the request alone, hence the ignores.)
EMAIL_STYLES = {"style-src": ["'unsafe-inline'"]}


@csp_replace(EMAIL_STYLES)  # type: ignore[arg-type]
@login_required
def nudge_preview_html(request: HttpRequest, org_pk: int, person_pk: int) -> HttpResponse:
    return _email_html(request, _nudge_previewed(request, org_pk, person_pk))


@csp_replace(EMAIL_STYLES)  # type: ignore[arg-type]
@login_required
def digest_preview_html(request: HttpRequest, org_pk: int) -> HttpResponse:
    return _email_html(request, _digest_previewed(request, org_pk))
