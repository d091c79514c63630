"""The L&D admin's home (/manage/): what waits for an admin, each item linking to the page
where it is fixed, then a link to every L&D admin page. L&D admins land here after
signing in (programs.adapters.AccountAdapter)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from learnhub.manage.selectors import FAILED_MESSAGES_DAYS, admin_todo
from learnhub.roles import current_program, ld_admin_required
from programs.connection_freshness import OVERDUE_INTERVALS


@ld_admin_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """The to-do list (`admin_todo`) of the current program, and the admin pages."""
    program = current_program(request.user)
    links = [
        (_("Programs"), reverse("manage:programs"), _("Create, edit, activate, close and clone programs.")),
        (_("Roster"), reverse("programs:roster"), _("Everyone on the roster.")),
        (_("Import the roster"), reverse("programs:roster_import"), _("Upload the HRIS roster file.")),
        (
            _("Import collections"),
            reverse("programs:collections_import"),
            _("Upload curated collections from a file."),
        ),
        (
            _("Providers"),
            reverse("programs:providers:connections"),
            _("Provider connections, syncs, unmatched records."),
        ),
        (
            _("Messages"),
            reverse("reports:messages"),
            _("Digests, nudges and announcements: what was sent and what failed."),
        ),
        (_("API tokens"), reverse("api:tokens"), _("Tokens for HR systems and BI tools.")),
        (_("Django admin"), reverse("admin:index"), _("Every record, for power use.")),
    ]
    if program is not None:
        links[1:1] = [
            (
                _("Curate collections"),
                reverse("manage:collections", args=[program.pk]),
                _("Collections of %(program)s.") % {"program": program.name},
            ),
            (
                _("Appointments"),
                reverse("manage:appointments", args=[program.pk]),
                _("Sponsors and champions of %(program)s.") % {"program": program.name},
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
