"""Executive sponsors, learning champions, study groups, progress updates and learner
stories: the people side of a program."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from programs.models import Collection, Course, Employee, LearningProgram, Organization, departed_q


class AppointmentQuerySet(models.QuerySet):
    def for_program(self, program: LearningProgram) -> AppointmentQuerySet:
        return self.filter(program=program)

    def confirmed(self) -> AppointmentQuerySet:
        """Appointments L&D confirmed (a clone's proposals are not, until confirmed)."""
        return self.filter(is_confirmed=True)

    def held(self, day: dt.date) -> AppointmentQuerySet:
        """Confirmed appointments whose employee is still here on `day`: a person who
        left (on or before `day`, `departed_q`) leaves the appointment vacant."""
        return self.confirmed().exclude(departed_q(day, prefix="employee__"))

    def vacated(self, day: dt.date) -> AppointmentQuerySet:
        """Confirmed appointments whose employee left on or before `day`."""
        return self.confirmed().filter(departed_q(day, prefix="employee__"))


class Appointment(models.Model):
    """An employee appointed for an organization in a program. `is_confirmed` is False
    for appointments carried over by a program clone until L&D confirms them. When the
    employee leaves, the appointment stays (L&D sees it as vacant) but grants nothing."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="%(class)ss")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="%(class)ss")
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="%(class)ss")
    is_confirmed = models.BooleanField(default=True)
    appointed_at = models.DateTimeField(auto_now_add=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["program", "organization__path"]

    def __str__(self) -> str:
        return f"{self.employee} for {self.organization} in {self.program}"


class ExecutiveSponsor(Appointment):
    launch_video_url = models.URLField(max_length=500, blank=True)

    class Meta(Appointment.Meta):
        constraints = [
            models.UniqueConstraint(fields=["program", "organization", "employee"], name="sponsor_unique"),
        ]
        indexes = [models.Index(fields=["employee", "program"], name="sponsor_by_employee")]


class LearningChampion(Appointment):
    class Meta(Appointment.Meta):
        constraints = [
            models.UniqueConstraint(fields=["program", "organization", "employee"], name="champion_unique"),
        ]
        indexes = [models.Index(fields=["employee", "program"], name="champion_by_employee")]


AppointmentRole = Literal["sponsor", "champion"]  # the roles an appointment gives
APPOINTMENT_MODELS: dict[str, type[ExecutiveSponsor] | type[LearningChampion]] = {
    "sponsor": ExecutiveSponsor,
    "champion": LearningChampion,
}
ROLE_LABELS = {"sponsor": _("executive sponsor"), "champion": _("learning champion")}


class StudyGroup(models.Model):
    """A champion-run group working through a course or a collection together."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="study_groups")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="study_groups",
        help_text="Empty for a company-wide group.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="study_groups")
    collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.SET_NULL, related_name="study_groups"
    )
    champion = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="led_study_groups"
    )
    location = models.CharField(max_length=200, blank=True)
    video_url = models.URLField(max_length=500, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for no limit.")
    is_open = models.BooleanField(default=True, help_text="Open to people from other organizations.")
    members: models.ManyToManyField[Employee, StudyGroupMembership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="StudyGroupMembership", related_name="study_groups"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__isnull=True) | Q(capacity__gte=1), name="group_capacity_1"),
        ]

    def __str__(self) -> str:
        return self.name


class StudyGroupMembership(models.Model):
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="memberships")
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "employee"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.employee} in {self.group}"


class StudySession(models.Model):
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    topic = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
        ]
        indexes = [models.Index(fields=["group", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.group} {self.starts_at:%Y-%m-%d %H:%M}"


class Attendance(models.Model):
    session = models.ForeignKey(StudySession, on_delete=models.CASCADE, related_name="attendances")
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendances")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "employee"], name="attendance_unique")]

    def __str__(self) -> str:
        return f"{self.employee} at {self.session}"


class ProgressUpdate(models.Model):
    """A post by a champion, sponsor or L&D to one organization or the whole company."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="updates")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="updates",
        help_text="Empty for a company-wide update.",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    for_all_hands = models.BooleanField(default=False, help_text="Highlight in the All-Hands report.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["program", "organization", "-created_at"])]

    def __str__(self) -> str:
        return self.title


class StoryModeration(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class LearnerStoryQuerySet(models.QuerySet):
    def shown(self) -> LearnerStoryQuerySet:
        """Stories shown beyond their author: consent given, not withdrawn, and approved
        by a champion of the learner's organization or an L&D admin."""
        return self.filter(consent_to_share=True, withdrawn_at__isnull=True, moderation=StoryModeration.APPROVED)


class LearnerStory(models.Model):
    """How a learner used a new skill. Shown beyond its author only with consent, while
    not withdrawn, and once approved (`LearnerStoryQuerySet.shown`)."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="stories")
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stories")
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    consent_to_share = models.BooleanField(default=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    moderation = models.CharField(max_length=10, choices=StoryModeration.choices, default=StoryModeration.PENDING)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LearnerStoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "learner stories"
        constraints = [
            models.CheckConstraint(condition=Q(moderation__in=StoryModeration.values), name="story_moderation"),
        ]
        indexes = [models.Index(fields=["program", "moderation"], name="story_by_moderation")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shareable(self) -> bool:
        return self.consent_to_share and self.withdrawn_at is None


class PracticeNote(models.Model):
    """A practice that worked, shared on the champions' network board of a program."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="practice_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["program", "-created_at"], name="practice_note_board")]

    def __str__(self) -> str:
        return self.title
