"""Daily progress snapshots: cheap dashboards and the trend line."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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


# --- Kept figures: the numbers of today, computed once after each change ---------------


class ProgressChange(models.Model):
    """The change counter: one row, bumped by `reports.hooks.progress_changed` in the
    transaction of every write that changes an input of the numbers (roster, programs,
    exclusions, collections, organizations, enrollments). Kept figures record the value
    they were computed from; a different value means they are stale."""

    ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="progresschange_one_row")]

    def __str__(self) -> str:
        return f"Progress changes: {self.count}"


class KeptKind(models.TextChoices):
    COUNTS = "counts", _("Counts (the snapshot rows of the day)")
    PEOPLE = "people", _("People (PersonProgress rows)")


class KeptFigures(models.Model):
    """What the kept figures of one program were computed from: the day D and the change
    counter's value (`ProgressChange.count`) read before computing them. They are fresh
    while D is still the program's day and the counter has not moved."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=KeptKind.choices)
    day = models.DateField()
    change = models.BigIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "kept figures"
        constraints = [
            models.UniqueConstraint(fields=["program", "kind"], name="keptfigures_one_per_kind"),
            models.CheckConstraint(condition=Q(kind__in=KeptKind.values), name="keptfigures_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.program} on {self.day} (change {self.change})"


class PersonProgress(models.Model):
    """One eligible person of a program on the kept day (`reports.people.people_status`,
    computed in one INSERT ... SELECT): counted courses, met, last provider activity, and
    the position of the person in the people lists' order (organization path, name,
    e-mail). The not-yet lists, digests, escalations and the people export read these
    rows while they are fresh (`KeptFigures`, kind people)."""

    # Rows derived from the engine and replaced whole by each keep: no database foreign key
    # to check for each of them (deletes still cascade, by Django). The indexes below start
    # with the program; the organization's is the lists' index.
    program = models.ForeignKey(
        LearningProgram, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kept_progress", db_constraint=False
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    counted_courses = models.PositiveIntegerField()
    met = models.BooleanField()
    last_activity_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "people's progress"
        constraints = [models.UniqueConstraint(fields=["program", "employee"], name="personprogress_one_per_person")]
        indexes = [
            models.Index(fields=["program", "position"], name="personprogress_list"),
            # The lists' first rows of an organization, read from the index alone.
            models.Index(
                fields=["program", "organization", "met", "position", "employee"], name="personprogress_org_list"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} in {self.program_id}: {self.counted_courses} courses"


# --- Communication: settings, webhooks, the sent-message ledger, unsubscribes, milestones ---


class MessageKind(models.TextChoices):
    DIGEST = "digest", _("Weekly digest")
    NUDGE = "nudge", pgettext_lazy("message kind", "Nudge")  # the noun; "Nudge" alone is the button
    ESCALATION_CHAMPION = "escalation_champion", _("Escalation to champion")
    ESCALATION_SPONSOR = "escalation_sponsor", _("Escalation to sponsor")
    LEADERBOARD = "leaderboard", _("Monthly leaderboard update")
    MILESTONE = "milestone", _("Milestone announcement")
    COLLECTION_REVIEW = "collection_review", _("Collection review")
    STORY_DECISION = "story_decision", _("Story decision")


class WebhookKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class MessageSettings(models.Model):
    """Which messages a program sends, and when (company time zone). The company-wide
    webhook URL is write-only: pages show a mask, never the stored value."""

    program = models.OneToOneField(LearningProgram, on_delete=models.CASCADE, related_name="message_settings")
    digest_enabled = models.BooleanField(default=True)
    nudges_enabled = models.BooleanField(default=True)
    escalations_enabled = models.BooleanField(default=True)
    leaderboard_enabled = models.BooleanField(default=True)
    milestones_enabled = models.BooleanField(default=True)
    nudge_interval_days = models.PositiveSmallIntegerField(default=14)
    escalate_after_nudges = models.PositiveSmallIntegerField(default=3)
    escalate_after_weeks_behind = models.PositiveSmallIntegerField(default=3)
    digest_weekday = models.PositiveSmallIntegerField(default=0, help_text="0 = Monday … 6 = Sunday")
    digest_hour = models.PositiveSmallIntegerField(default=9)
    nudge_hour = models.PositiveSmallIntegerField(default=10)
    leaderboard_hour = models.PositiveSmallIntegerField(default=9)
    company_webhook_url = models.URLField(max_length=500, blank=True)
    company_webhook_kind = models.CharField(max_length=10, choices=WebhookKind.choices, default=WebhookKind.SLACK)
    company_webhook_connected_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current company webhook URL was set: it hears of later events only"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "message settings"
        constraints = [
            models.CheckConstraint(condition=Q(nudge_interval_days__gte=1), name="msgsettings_interval_1"),
            models.CheckConstraint(condition=Q(escalate_after_nudges__gte=1), name="msgsettings_nudges_1"),
            models.CheckConstraint(condition=Q(escalate_after_weeks_behind__gte=1), name="msgsettings_weeks_1"),
            models.CheckConstraint(condition=Q(digest_weekday__lte=6), name="msgsettings_weekday"),
            models.CheckConstraint(
                condition=Q(digest_hour__lte=23, nudge_hour__lte=23, leaderboard_hour__lte=23),
                name="msgsettings_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"Messages of {self.program}"

    def __repr__(self) -> str:  # never the webhook URL
        return f"<MessageSettings {self.pk} program={self.program_id}>"


class OrgWebhook(models.Model):
    """An organization's incoming-webhook URL (Slack or Teams) in a program: receives the
    digest summary and milestone announcements. The URL is write-only."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="org_webhooks")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    kind = models.CharField(max_length=10, choices=WebhookKind.choices, default=WebhookKind.SLACK)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    connected_at = models.DateTimeField(
        default=timezone.now, help_text="When the current URL was set: the channel hears of later events only"
    )

    class Meta:
        ordering = ["program", "organization__path"]
        constraints = [
            models.UniqueConstraint(fields=["program", "organization"], name="orgwebhook_unique_per_org"),
            models.CheckConstraint(condition=Q(kind__in=WebhookKind.values), name="orgwebhook_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} webhook of {self.organization}"

    def __repr__(self) -> str:  # never the URL
        return f"<OrgWebhook {self.pk} org={self.organization_id} {self.kind}>"


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown delivery")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Chat webhook")


class SentMessage(models.Model):
    """The ledger of every message: claimed (inserted, status pending) BEFORE it is sent,
    so the unique key (kind, recipient, period) lets exactly one run send it. See
    reports/messaging/ledger.py for what a crash between sending and recording means."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="sent_messages")
    kind = models.CharField(max_length=24, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices, default=MessageChannel.EMAIL)
    recipient_key = models.CharField(max_length=100, help_text="employee:<id>, webhook:<id> or company-webhook:<id>")
    period = models.CharField(max_length=100, help_text="What the message is about and when, e.g. 2026-W48/org:3")
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="sent_messages"
    )
    webhook = models.ForeignKey(OrgWebhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipient = models.CharField(max_length=254, help_text="E-mail address or masked webhook URL")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who sent it by hand (a champion's nudge); empty when scheduled",
    )
    subject = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="A webhook's JSON body")
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the message was claimed")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "recipient_key", "period"], name="sentmessage_unique_key"),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values), name="sentmessage_status"),
            models.CheckConstraint(condition=Q(kind__in=MessageKind.values), name="sentmessage_kind"),
        ]
        indexes = [
            models.Index(fields=["program", "kind", "employee", "-created_at"], name="sentmessage_by_person"),
            models.Index(fields=["status", "created_at"], name="sentmessage_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.period}): {self.status}"


class Unsubscribe(models.Model):
    """An employee who asked to stop one kind of message, or all of them (kind "all")."""

    ALL = "all"

    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unsubscribes")
    kind = models.CharField(max_length=24)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["employee", "kind"], name="unsubscribe_unique")]

    def __str__(self) -> str:
        return f"{self.employee} unsubscribed from {self.kind}"


class Milestone(models.Model):
    """An organization (or the whole company, `organization` empty) reaching its
    program's target: recorded once per program and organization, when first seen, and
    announced from that one row (reports/messaging/announcements.py)."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="milestones")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="milestones"
    )
    rate = models.FloatField()
    reached_on = models.DateField(help_text="The progress day (company time zone) it was first seen")
    reached_at = models.DateTimeField(default=timezone.now)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["program", "reached_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "organization"],
                condition=Q(organization__isnull=False),
                name="milestone_unique_org",
            ),
            models.UniqueConstraint(
                fields=["program"], condition=Q(organization__isnull=True), name="milestone_unique_company"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization or 'The company'} reached the target of {self.program}"
