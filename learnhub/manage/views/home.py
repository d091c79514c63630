"""The L&D admin's home (/manage/): what waits for an admin, each item linking to the page
where it is fixed, then a link to every L&D admin page. L&D admins land here after
signing in (programs.adapters.AccountAdapter)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from learnhub.manage.selectors import FAILED_MESSAGES_DAYS, admin_todo
from learnhub.roles import current_program, ld_admin_required
from programs.connection_freshness import OVERDUE_INTERVALS


@ld_admin_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """The to-do list (`admin_todo`) of the current program, and the admin pages."""
    program = current_program(request.user)
    links = [
        ("Programs", reverse("manage:programs"), "Create, edit, activate, close and clone programs."),
        ("Roster", reverse("programs:roster"), "Everyone on the roster."),
        ("Import the roster", reverse("programs:roster_import"), "Upload the HRIS roster file."),
        ("Import collections", reverse("programs:collections_import"), "Upload curated collections from a file."),
        ("Providers", reverse("programs:providers:connections"), "Provider connections, syncs, unmatched records."),
        ("Messages", reverse("reports:messages"), "Digests, nudges and announcements: what was sent and what failed."),
        ("API tokens", reverse("api:tokens"), "Tokens for HR systems and BI tools."),
        ("Django admin", reverse("admin:index"), "Every record, for power use."),
    ]
    if program is not None:
        links[1:1] = [
            (
                "Curate collections",
                reverse("manage:collections", args=[program.pk]),
                f"Collections of {program.name}.",
            ),
            (
                "Appointments",
                reverse("manage:appointments", args=[program.pk]),
                f"Sponsors and champions of {program.name}.",
            ),
        ]
    return render(
        request,
        "manage/home.html",
        {
            "program": program,
            "todo": admin_todo(program=program, now=timezone.now()),
            "links": links,
            "overdue_intervals": OVERDUE_INTERVALS,
            "failed_days": FAILED_MESSAGES_DAYS,
        },
    )
