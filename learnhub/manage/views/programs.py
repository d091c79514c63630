"""Programs in the L&D admin area: the list, create, the program's page with its audit
trail, edit, activate, close and clone for next year. L&D admins only; every write is
`program_create` / `program_update` (programs.learning_programs) or `program_clone`."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from champions.program_clone import ProgramAlreadyClonedError, program_clone
from champions.selectors import appointments_of
from learnhub.manage.forms import CloneForm, ProgramCloseForm, ProgramEditForm, ProgramForm, errors_to_form
from learnhub.manage.views._common import acting_admin, program_form_data, program_initial
from learnhub.roles import ld_admin_required
from programs.learning_programs import (
    AUDITED_FIELDS,
    program_clone_defaults,
    program_create,
    program_transition_error,
    program_update,
)
from programs.models import LearningProgram, ProgramStatus
from programs.selectors import collections_of
from programs.templatetags.formats import target


@ld_admin_required
def program_list(request: HttpRequest) -> HttpResponse:
    programs = LearningProgram.objects.select_related("cloned_from").order_by("-starts_on", "name")
    rows = [(program, target(program.target_rate)) for program in programs]
    return render(request, "manage/program_list.html", {"rows": rows})


@ld_admin_required
def program_new(request: HttpRequest) -> HttpResponse:
    """Create a program, as a draft (activate it from its page)."""
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = program_create(status=ProgramStatus.DRAFT, **program_form_data(form))
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("%(program)s created as a draft.") % {"program": program.name})
            return redirect("manage:program", pk=program.pk)
    return render(request, "manage/program_form.html", {"form": form, "program": None})


@ld_admin_required
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram.objects.select_related("cloned_from"), pk=pk)
    changes = [
        (change, AUDITED_FIELDS.get(change.field, change.field))
        for change in program.changes.select_related("changed_by")
    ]
    clone = LearningProgram.objects.filter(cloned_from=program).first()
    return render(
        request,
        "manage/program_detail.html",
        {
            "program": program,
            "target": target(program.target_rate),
            "changes": changes,
            "clone": clone,
            "collections": collections_of(program=program),
            "appointments": appointments_of(program=program),
        },
    )


@ld_admin_required
def program_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a program; changes to the target, window or completions go to the audit trail."""
    program = get_object_or_404(LearningProgram, pk=pk)
    form = ProgramEditForm(request.POST or None, initial=program_initial(program))
    if request.method == "POST" and form.is_valid():
        try:
            changes = program_update(
                program=program,
                changed_by=acting_admin(request),
                reason=form.cleaned_data["reason"],
                **program_form_data(form),
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            text = ngettext(
                "%(program)s saved (%(count)d audited change).",
                "%(program)s saved (%(count)d audited changes).",
                len(changes),
            )
            messages.success(request, text % {"program": program.name, "count": len(changes)})
            return redirect("manage:program", pk=program.pk)
    return render(request, "manage/program_form.html", {"form": form, "program": program})


def _program_status_set(
    request: HttpRequest, program: LearningProgram, *, status: str, done: str, reason: str = ""
) -> HttpResponse:
    """Move the program to `status` through `program_update` (its transitions table says
    whether it may); the refusal or `done` (the message of success) is shown on the program's page."""
    try:
        program_update(program=program, changed_by=acting_admin(request), status=status, reason=reason)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("manage:program", pk=program.pk)


@ld_admin_required
@require_POST
def program_activate(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    done = _("%(program)s is active.") % {"program": program.name}
    return _program_status_set(request, program, status=ProgramStatus.ACTIVE, done=done)


@ld_admin_required
def program_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Closing cannot be undone, so it is asked first: GET shows what closing means and
    the confirmation form (with an optional reason for the audit trail); its POST closes."""
    program = get_object_or_404(LearningProgram, pk=pk)
    form = ProgramCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        done = _("%(program)s is closed.") % {"program": program.name}
        return _program_status_set(
            request, program, status=ProgramStatus.CLOSED, done=done, reason=form.cleaned_data["reason"]
        )
    refused = program_transition_error(current=program.status, to=ProgramStatus.CLOSED)
    return render(request, "manage/program_close.html", {"program": program, "form": form, "refused": refused})


@ld_admin_required
def program_clone_form(request: HttpRequest, pk: int) -> HttpResponse:
    """Next year's program from this one: the form proposes the defaults; POST clones."""
    program = get_object_or_404(LearningProgram, pk=pk)
    existing = LearningProgram.objects.filter(cloned_from=program).first()
    defaults = program_clone_defaults(program=program)
    form = CloneForm(request.POST or None, initial=program_initial(defaults))
    if request.method == "POST" and form.is_valid():
        try:
            clone = program_clone(program=program, cloned_by=acting_admin(request), **program_form_data(form))
        except ProgramAlreadyClonedError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("manage:program", pk=error.clone.pk)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request,
                _(
                    "%(clone)s created as a draft from %(program)s: review its collections and confirm "
                    "the proposed sponsors and champions."
                )
                % {"clone": clone.name, "program": program.name},
            )
            return redirect("manage:program", pk=clone.pk)
    return render(request, "manage/program_clone.html", {"form": form, "program": program, "existing": existing})
