"""Upload a collections file (L&D admins): the summary, or every bad line."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from learnhub.roles import current_program, ld_admin_required, programs_visible
from programs.collections_import import collections_import
from programs.forms import CollectionsImportForm


@ld_admin_required
def collections_import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a collections CSV into a program; show the summary or every bad line."""
    result = None
    programs = programs_visible(request.user)
    if request.method == "POST":
        form = CollectionsImportForm(request.POST, request.FILES, programs=programs)
        if form.is_valid():
            program = form.cleaned_data["program"]
            result = collections_import(program=program, content=form.cleaned_data["file"].read())
    else:
        program = current_program(request.user)
        form = CollectionsImportForm(initial={"program": program.pk if program else None}, programs=programs)
    return render(request, "programs/collections_import.html", {"form": form, "result": result})
