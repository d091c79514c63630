"""Browse and search the curated collections."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from champions import selectors
from champions.forms import (
    SearchForm,
)
from champions.views._common import program_or_404, signed_in_employee


@login_required
def collections(request: HttpRequest) -> HttpResponse:
    """Browse and search my organization's collections (first) and company-wide ones."""
    program = program_or_404()
    form = SearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.collections_for_person(program=program, user=request.user, search=search)
    course_ids = {item.course_id for c in rows for item in c.items.all()}
    statuses = selectors.course_statuses(program=program, employee=signed_in_employee(request), course_ids=course_ids)
    return render(
        request,
        "champions/collections.html",
        {
            "program": program,
            "form": form,
            "search": search,
            "collections": selectors.with_launch_videos(
                program=program, collections=selectors.with_my_status(rows, statuses)
            ),
        },
    )
