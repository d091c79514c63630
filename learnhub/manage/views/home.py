"""The L&D admin area's home (/manage/): a link to every L&D admin page, provider
connections that have stopped syncing, and the organizations of the current program that
still lack a champion or a sponsor."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from champions.selectors import organizations_without_appointments
from learnhub.roles import current_program, ld_admin_required
from programs.connection_freshness import OVERDUE_INTERVALS, connections_overdue


@ld_admin_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """Links to every L&D admin page, a warning for each connection that has not synced
    successfully for OVERDUE_INTERVALS of its intervals, and the organizations of the
    current program that still lack a champion or a sponsor."""
    program = current_program(request.user)
    gaps = organizations_without_appointments(program=program) if program else []
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
            "gaps": gaps,
            "links": links,
            "overdue": connections_overdue(now=timezone.now()),
            "overdue_intervals": OVERDUE_INTERVALS,
        },
    )
