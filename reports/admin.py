"""Django admin for progress snapshots: computed by the progress engine, so read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from reports.models import ProgressSnapshot


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(admin.ModelAdmin):
    """Snapshots are recomputed from enrollments; a hand edit would be overwritten, so
    they can be looked at (and deleted, to force a recompute) but not added or edited."""

    list_display = ["day", "program", "organization", "eligible", "met", "rate", "completions", "curated_completions"]
    list_filter = ["program", "day", "organization__depth"]
    search_fields = ["organization__path", "program__name"]
    list_select_related = ["program", "organization"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
