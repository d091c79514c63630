"""Sponsors and champions in the L&D admin area: a program's appointments (proposals to
confirm first, vacant ones next), organizations still missing one, appointing someone
and a people search. L&D admins only; every write is a function of champions.appointments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from champions.appointments import (
    appointment_confirm,
    appointment_create,
    appointment_remove,
    appointments_confirm_all,
)
from champions.models import APPOINTMENT_MODELS
from champions.selectors import appointments_of, organizations_without_appointments
from learnhub.manage.forms import AppointmentForm, PeopleSearchForm, errors_to_form
from learnhub.roles import current_program, ld_admin_required
from programs.models import LearningProgram
from programs.selectors import employees_search


@ld_admin_required
def appointment_list_current(request: HttpRequest) -> HttpResponse:
    program = current_program(request.user)
    if program is None:
        raise Http404("No program yet.")
    return redirect("manage:appointments", pk=program.pk)


@ld_admin_required
def appointment_list(request: HttpRequest, pk: int) -> HttpResponse:
    """Sponsors and champions of a program (proposals to confirm first), organizations
    still missing one, a form to appoint someone and a people search for their e-mail."""
    program = get_object_or_404(LearningProgram, pk=pk)
    form = AppointmentForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        try:
            appointment = appointment_create(program=program, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("Appointed %(appointment)s.") % {"appointment": appointment})
            return redirect("manage:appointments", pk=program.pk)
    people_search = PeopleSearchForm(request.GET or None)
    query = people_search.cleaned_data["q"] if people_search.is_valid() else ""
    found = appointments_of(program=program)
    return render(
        request,
        "manage/appointments.html",
        {
            "program": program,
            "form": form,
            "people_search": people_search,
            "query": query,
            "people": employees_search(query=query),
            "sections": [
                ("sponsor", _("Executive sponsors"), found["sponsor"]),
                ("champion", _("Learning champions"), found["champion"]),
            ],
            "gaps": organizations_without_appointments(program=program),
        },
    )


def _appointment_change(
    request: HttpRequest, pk: int, role: str, appointment_pk: int, *, confirm: bool
) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    if role not in APPOINTMENT_MODELS:
        raise Http404("No such role.")
    if confirm:
        done = appointment_confirm(program=program, role=role, appointment_id=appointment_pk)  # type: ignore[arg-type]
        text = _("Appointment confirmed.") if done else _("Nothing to confirm: it was already confirmed or removed.")
    else:
        done = appointment_remove(program=program, role=role, appointment_id=appointment_pk)  # type: ignore[arg-type]
        text = _("Appointment removed.") if done else _("Nothing to remove: it was already removed.")
    (messages.success if done else messages.warning)(request, text)
    return redirect("manage:appointments", pk=program.pk)


@ld_admin_required
@require_POST
def appointment_confirm_post(request: HttpRequest, pk: int, role: str, appointment_pk: int) -> HttpResponse:
    return _appointment_change(request, pk, role, appointment_pk, confirm=True)


@ld_admin_required
@require_POST
def appointment_remove_post(request: HttpRequest, pk: int, role: str, appointment_pk: int) -> HttpResponse:
    return _appointment_change(request, pk, role, appointment_pk, confirm=False)


@ld_admin_required
@require_POST
def appointments_confirm_all_post(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm every proposed sponsor and champion of a program (a clone's carry-overs)."""
    program = get_object_or_404(LearningProgram, pk=pk)
    confirmed = appointments_confirm_all(program=program)
    if confirmed:
        text = ngettext(
            "Confirmed %(count)d appointment of %(program)s.",
            "Confirmed %(count)d appointments of %(program)s.",
            confirmed,
        )
        messages.success(request, text % {"count": confirmed, "program": program.name})
    else:
        messages.warning(
            request, _("Nothing to confirm in %(program)s: every appointment is confirmed.") % {"program": program.name}
        )
    return redirect("manage:home")
