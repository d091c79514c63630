"""Daily progress snapshots: cheap dashboards and the trend line."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from programs.models import LearningProgram, Organization


class ProgressSnapshot(models.Model):
    """Progress of one organization (roll-up of its subtree) in one program on one day.
    `organization` empty means the whole company. Recomputing a day replaces its row."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="snapshots")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="snapshots"
    )
    day = models.DateField()
    eligible = models.PositiveIntegerField()
    met = models.PositiveIntegerField()
    completions = models.PositiveIntegerField()
    curated_completions = models.PositiveIntegerField()
    rate = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "organization", "day"],
                condition=Q(organization__isnull=False),
                name="snapshot_unique_org_day",
            ),
            models.UniqueConstraint(
                fields=["program", "day"], condition=Q(organization__isnull=True), name="snapshot_unique_company_day"
            ),
            models.CheckConstraint(condition=Q(met__lte=models.F("eligible")), name="snapshot_met_le_eligible"),
            models.CheckConstraint(
                condition=Q(curated_completions__lte=models.F("completions")), name="snapshot_curated_le_all"
            ),
        ]
        indexes = [models.Index(fields=["program", "organization", "-day"], name="snapshot_trend")]

    def __str__(self) -> str:
        return f"{self.program} {self.organization or 'company'} {self.day}"
