"""Organizations, employees, programs, the course catalog, curated collections and the
provider-side records (connections, sync runs, enrollments) that feed progress.

Rules the database can hold are constraints here; business rules live in services.py and
selectors.py.
"""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.hooks import progress_changed

PATH_SEPARATOR = "/"


def subtree_q(org: Organization, *, prefix: str = "") -> Q:
    """Rows whose organization (reached through `prefix`, e.g. "organization__") is `org`
    or one below it: one indexed prefix match on the path."""
    return Q(**{f"{prefix}path": org.path}) | Q(**{f"{prefix}path__startswith": org.path + PATH_SEPARATOR})


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def subtree(self, org: Organization) -> OrganizationQuerySet:
        """The organization and every organization below it."""
        return self.filter(subtree_q(org))

    def ancestors_of(self, org: Organization) -> OrganizationQuerySet:
        """The organization and every organization above it (the company included)."""
        return self.filter(path__in=org.ancestor_paths())


class Organization(models.Model):
    """A node of the company tree (company > org > team). `path` is the full name path,
    e.g. "Acme/Engineering/Platform", kept so a subtree is one indexed prefix query."""

    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=1000, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="org_unique_name_per_parent"),
            models.UniqueConstraint(fields=["name"], condition=Q(parent__isnull=True), name="org_unique_root_name"),
            models.CheckConstraint(condition=~Q(name=""), name="org_name_not_empty"),
            models.CheckConstraint(condition=~Q(name__contains=PATH_SEPARATOR), name="org_name_has_no_separator"),
        ]

    def __str__(self) -> str:
        return self.path

    def ancestor_paths(self) -> list[str]:
        """The paths of this organization and of every one above it, the company first."""
        parts = self.path.split(PATH_SEPARATOR)
        return [PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


def departed_q(day: dt.date, *, prefix: str = "") -> Q:
    """The one meaning of "departed" (sign-in, access, appointments, the engine): a
    departure date on or before `day`, in the company time zone. `prefix` reaches the
    employee from another model (e.g. "employee__")."""
    return Q(**{f"{prefix}departed_on__lte": day})


class EmployeeQuerySet(models.QuerySet["Employee"]):
    def departed(self, day: dt.date) -> EmployeeQuerySet:
        """People who left on or before `day` (`departed_q`)."""
        return self.filter(departed_q(day))

    def not_departed(self, day: dt.date) -> EmployeeQuerySet:
        """People still here on `day`, hired or not yet: not departed on or before it."""
        return self.exclude(departed_q(day))

    def on_roster(self, day: dt.date) -> EmployeeQuerySet:
        """People on the roster on `day`: hired on or before it (or no hire date) and not
        departed on or before it."""
        return self.not_departed(day).filter(Q(hired_on__isnull=True) | Q(hired_on__lte=day))

    def reports_of(self, manager_id: int) -> EmployeeQuerySet:
        """Everyone who reports to the person `manager_id`, directly or through others, at
        any depth of the roster's manager chain (a recursive query; UNION stops at a loop)."""
        table = self.model._meta.db_table
        # Our own table's name, not input; the id is a parameter.
        direct = f"SELECT id FROM {table} WHERE manager_id = %s"  # noqa: S608
        below = f"SELECT e.id FROM {table} e JOIN chain ON e.manager_id = chain.id"  # noqa: S608
        chain = f"WITH RECURSIVE chain(id) AS ({direct} UNION {below}) SELECT id FROM chain"  # noqa: S608
        return self.filter(pk__in=RawSQL(chain, (manager_id,)))  # noqa: S611


class EmployeeManager(BaseUserManager.from_queryset(EmployeeQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> Employee:
        return self.get(email__iexact=username or "")

    def create_user(self, email: str, password: str | None = None, **fields: object) -> Employee:
        if not email:
            raise ValueError("An employee needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        progress_changed()  # someone new on the roster (createsuperuser): a new denominator
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> Employee:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class Employee(AbstractBaseUser, PermissionsMixin):
    """Everyone on the roster, whether or not they ever sign in: they are all in the
    denominator of the goal. E-mail (stored lower-case) is the login."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True, help_text="HRIS / provider id")
    title = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="employees"
    )
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports")
    hired_on = models.DateField(null=True, blank=True)
    departed_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    language = models.CharField(
        max_length=10,
        blank=True,
        help_text="The language of the person's pages and e-mails (a code of LANGUAGES); blank: "
        "the browser's for pages, the company default for e-mails.",
    )
    scim_organization = models.JSONField(
        default=dict,
        blank=True,
        help_text="The organization attributes (SCIM_ORGANIZATION_ATTRIBUTES) as the identity provider last sent "
        "them over SCIM, read back as sent while they still make up the person's organization.",
    )

    objects = EmployeeManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        permissions = [("administer_learning", "Is an L&D admin: runs programs, roster, providers and reports")]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="employee_email_ci_unique"),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="employee_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(departed_on__isnull=True)
                | Q(hired_on__isnull=True)
                | Q(departed_on__gte=models.F("hired_on")),
                name="employee_departed_after_hired",
            ),
            models.CheckConstraint(condition=~Q(manager=models.F("pk")), name="employee_not_own_manager"),
        ]
        indexes = [models.Index(fields=["organization", "hired_on", "departed_on"])]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]

    @property
    def has_claimed_account(self) -> bool:
        return self.has_usable_password()

    def has_departed(self, day: dt.date) -> bool:
        """Departed on or before `day` (the rule of `departed_q`, for one loaded row)."""
        return self.departed_on is not None and self.departed_on <= day

    @property
    def message_language(self) -> str:
        """The language the person's e-mails are written in: the one they chose, else the
        company default (settings.LANGUAGE_CODE)."""
        return self.language if self.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class EmployeeSession(AbstractBaseSession):
    """A signed-in browser session, with the employee it belongs to, so that ending a
    person's access (departure, deactivation) can delete their sessions in one query
    (programs/sessions.py is the session engine that fills `employee`)."""

    employee = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    @classmethod
    def get_session_store_class(cls) -> type:
        return import_module(settings.SESSION_ENGINE).SessionStore


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class LearningProgramQuerySet(models.QuerySet["LearningProgram"]):
    def active(self) -> LearningProgramQuerySet:
        return self.filter(status=ProgramStatus.ACTIVE)

    def published(self) -> LearningProgramQuerySet:
        """Active and closed programs: a draft is the L&D admins' work in progress."""
        return self.exclude(status=ProgramStatus.DRAFT)


class LearningProgram(models.Model):
    """A yearly program: window (inclusive dates in the company time zone), target rate
    and the number of distinct completed courses each person needs."""

    name = models.CharField(max_length=200, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    target_rate = models.DecimalField(max_digits=4, decimal_places=3, help_text="0.900 means 90%")
    required_completions = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    cloned_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_program"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LearningProgramQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")), name="program_ends_after_start"),
            models.CheckConstraint(condition=Q(target_rate__gt=0, target_rate__lte=1), name="program_target_0_1"),
            models.CheckConstraint(condition=Q(required_completions__gte=1), name="program_requires_one_or_more"),
            models.CheckConstraint(condition=Q(status__in=ProgramStatus.values), name="program_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "-starts_on"])]

    def __str__(self) -> str:
        return self.name


class ProgramExclusion(models.Model):
    """An employee left out of a program's denominator (long leave, contractor, ...)."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="exclusions")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="program_exclusions")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "employee"], name="exclusion_unique_per_program"),
        ]

    def __str__(self) -> str:
        return f"{self.employee} excluded from {self.program}"


PROGRAM_CHANGE_REASON_MAX_LENGTH = 500


class ProgramChange(models.Model):
    """The audit trail of a program: one row per changed field (target, window, required
    completions, status), with who changed it, when, why (optional) and the old and new
    values as shown to people. Written by programs/learning_programs.py, never edited."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=40)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(
        max_length=PROGRAM_CHANGE_REASON_MAX_LENGTH, blank=True, help_text="Why, as the person changing it wrote it"
    )
    changed_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["program", "-changed_at"], name="programchange_by_program")]

    def __str__(self) -> str:
        return f"{self.program}: {self.field} {self.old_value} -> {self.new_value}"


class Provider(models.TextChoices):
    """Where completions come from. The API kinds are synced by an adapter
    (`programs.sync.pipeline.API_ADAPTERS`); `other` brings LearnHub's completions file
    (workshops, internal academies, a provider without an adapter) and `xapi` the xAPI
    statements a provider pushes to LearnHub: neither is synced from an API."""

    COURSERA = "coursera", _("Coursera")
    UDEMY = "udemy", _("Udemy Business")
    LINKEDIN = "linkedin", _("LinkedIn Learning")
    EDX = "edx", _("edX for Business")
    OTHER = "other", _("Other (completions file)")
    XAPI = "xapi", _("xAPI statements")


class Course(models.Model):
    """A course of a provider's catalog, identified by (provider, provider course id)
    whichever connection or file brought it."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    provider_course_id = models.CharField(max_length=200)
    title = models.CharField(max_length=300, blank=True)
    partner = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    hours = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_course_id"], name="course_unique_per_provider"),
            models.CheckConstraint(condition=~Q(provider_course_id=""), name="course_id_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_provider_display()} {self.provider_course_id}"


class ApprovalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for the sponsor")
    APPROVED = "approved", _("Approved by the sponsor")
    CHANGES_REQUESTED = "changes", _("Changes requested")


class Collection(models.Model):
    """A curated, ordered list of courses for one organization (or the whole company
    when `organization` is empty) in one program."""

    program = models.ForeignKey(LearningProgram, on_delete=models.CASCADE, related_name="collections")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="collections"
    )
    name = models.CharField(max_length=200)
    needs = models.TextField(blank=True, help_text="The skill needs this collection answers.")
    launch_video_url = models.URLField(max_length=500, blank=True)
    approval_status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.DRAFT)
    approval_note = models.TextField(blank=True)
    approved_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    courses: models.ManyToManyField[Course, CollectionItem] = models.ManyToManyField(
        Course, through="CollectionItem", related_name="collections"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "organization__path", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "organization", "name"],
                condition=Q(organization__isnull=False),
                name="collection_unique_name_per_org",
            ),
            models.UniqueConstraint(
                fields=["program", "name"],
                condition=Q(organization__isnull=True),
                name="collection_unique_name_company_wide",
            ),
            models.CheckConstraint(condition=Q(approval_status__in=ApprovalStatus.values), name="collection_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_company_wide(self) -> bool:
        return self.organization_id is None


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="collection_items")
    position = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["collection", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "course"], name="collection_item_unique_course"),
        ]
        indexes = [models.Index(fields=["course", "collection"])]

    def __str__(self) -> str:
        return f"{self.collection}: {self.position}. {self.course}"


class CollectionReviewAction(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted for review")
    CHANGES_REQUESTED = "changes", _("Changes requested")
    RESUBMITTED = "resubmitted", _("Resubmitted after changes")
    APPROVED = "approved", _("Approved")


class CollectionReviewStep(models.Model):
    """One step of a collection's review, kept for its history: who did what, when, and
    the note they left (`programs.collections.COLLECTION_REVIEW_TRANSITIONS`)."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="review_steps")
    action = models.CharField(max_length=12, choices=CollectionReviewAction.choices)
    actor = models.ForeignKey(Employee, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["collection", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=CollectionReviewAction.values), name="collection_review_step_action"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collection}: {self.get_action_display()} by {self.actor}"


# --- Provider side: connections, sync runs, enrollments -------------------------------


class ProviderConnection(models.Model):
    """How LearnHub reaches one provider account. The client secret is write-only: it
    is never rendered back on a page, in the admin or in a log."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Provider.choices, default=Provider.COURSERA)
    base_url = models.URLField(max_length=500, blank=True)
    token_url = models.URLField(max_length=500, blank=True)
    provider_org_id = models.CharField(max_length=200, blank=True)
    provider_program_ids = models.JSONField(default=list, blank=True)
    client_id = models.CharField(max_length=300, blank=True)
    client_secret = models.CharField(max_length=500, blank=True)
    sync_interval_minutes = models.PositiveIntegerField(default=360)
    is_active = models.BooleanField(default=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="A running sync holds this connection until then and renews it while alive",
    )
    sync_requested_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A sync was asked for then and has not started yet"
    )
    sync_claim_token = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="The running sync's token: its tasks renew the hold with it",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(sync_interval_minutes__gte=5), name="connection_interval_min_5"),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the secret
        return f"<ProviderConnection {self.pk} {self.name!r} {self.kind}>"


class SyncStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class SyncRun(models.Model):
    """One sync, scheduled, manual or a file import, with its counts."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="runs")
    source = models.CharField(max_length=20, default="api", help_text="api, csv, ...")
    full = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Not course-level (specialization, video, ...)")
    merged = models.PositiveIntegerField(default=0, help_text="Duplicates folded into another record of the run")
    pages = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)
    parts = models.PositiveIntegerField(default=1, help_text="Tasks the run is read by: one per provider program")
    parts_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["connection", "-started_at"])]
        constraints = [models.CheckConstraint(condition=Q(status__in=SyncStatus.values), name="syncrun_status")]

    def __str__(self) -> str:
        return f"{self.connection} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class Enrollment(models.Model):
    """One provider learner x course, as last reported. Keyed by (connection, learner
    key, provider course id) so re-reading the same data upserts, never duplicates."""

    # No single-column index on the three keys: each leads a composite index below (connection:
    # enrollment_unique_key, employee: enrollment_completions, course: enrollment_course_completions),
    # which serves its lookups and deletes; a sync writing 400,000 rows maintains three fewer.
    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.CASCADE, related_name="enrollments", db_index=False
    )
    learner_key = models.CharField(max_length=254, help_text="Provider learner key (external id or e-mail)")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments", db_index=False)
    enrolled_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    progress = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    is_completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    is_removed = models.BooleanField(default=False, help_text="Removed from the provider program")
    raw = models.JSONField(default=dict)
    fingerprint = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="Digest of the values above (programs.sync.records.enrollment_fingerprint): a sync writes a row "
        "only when it differs",
    )
    raw_digest = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",  # a process still running the code before this field inserts rows too
        editable=False,
        help_text="Digest of the raw record (programs.sync.records.raw_digest): a re-sync reading the same raw "
        "record for the same employee does not parse it again",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "learner_key", "course"], name="enrollment_unique_key"),
            models.CheckConstraint(
                condition=Q(is_completed=False) | Q(completed_at__isnull=False), name="enrollment_completed_has_date"
            ),
        ]
        indexes = [
            models.Index(fields=["employee", "completed_at"], name="enrollment_completions"),
            models.Index(fields=["course", "completed_at"], name="enrollment_course_completions"),
            # The progress engine reads counted completions in (employee, course) order from
            # this index, so making the pairs distinct streams instead of sorting or hashing
            # every completion (reports.progress._counts_by_home_organization).
            models.Index(
                fields=["employee", "course", "completed_at"],
                condition=Q(is_completed=True),
                name="enrollment_completed_pairs",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee} - {self.course}"


class UnmatchedRecord(models.Model):
    """A valid provider record whose learner is not on the roster. Kept, not dropped,
    and matched again when the roster gains that person."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="unmatched_records")
    learner_key = models.CharField(max_length=254)
    email = models.CharField(max_length=254, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    provider_course_id = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    record = models.JSONField(default=dict, help_text="The normalized record, replayed when re-matched")
    raw = models.JSONField(default=dict)
    fingerprint = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="Digest of the values above (programs.sync.records.unmatched_fingerprint): a sync writes a row "
        "only when it differs",
    )
    last_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "learner_key", "provider_course_id"], name="unmatched_unique_key"
            ),
        ]
        indexes = [models.Index(Lower("email"), name="unmatched_email_ci"), models.Index(fields=["external_id"])]

    def __str__(self) -> str:
        return f"{self.email or self.learner_key} / {self.provider_course_id}"


class LearnerAlias(models.Model):
    """An L&D admin's link from a provider learner key (the external id, else the e-mail,
    as `programs.sync.records.learner_key` makes it) to a roster employee, per provider
    kind: every record with that key, from any connection, sync, file or statement of
    that kind, matches that employee (`programs.sync.merge.EmployeeMap`). Written by
    programs/learner_aliases.py only."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    learner_key = models.CharField(max_length=254)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="learner_aliases")
    created_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "learner_key"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "learner_key"], name="learneralias_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.learner_key} -> {self.employee}"


class LearnerDismissal(models.Model):
    """A provider learner an L&D admin set aside (a contractor, a test account): their
    unmatched records are kept but left out of the unmatched list, until restored.
    Written by programs/learner_aliases.py only."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    learner_key = models.CharField(max_length=254)
    dismissed_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "learner_key"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "learner_key"], name="learnerdismissal_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.learner_key} dismissed"


class LearnerAliasAction(models.TextChoices):
    LINK = "link", _("Linked")
    UNLINK = "unlink", _("Unlinked")
    DISMISS = "dismiss", _("Dismissed")
    RESTORE = "restore", _("Restored")


class LearnerAliasChange(models.Model):
    """The audit trail of provider learner identities: one row per link, unlink, dismiss
    and restore, with who did it and when; the employee's e-mail is kept as text so the
    row still reads after that person is removed. Written by programs/learner_aliases.py,
    never edited."""

    provider = models.CharField(max_length=20, choices=Provider.choices)
    learner_key = models.CharField(max_length=254)
    action = models.CharField(max_length=10, choices=LearnerAliasAction.choices)
    employee_email = models.CharField(max_length=254, blank=True)
    changed_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=LearnerAliasAction.values), name="learneraliaschange_action"),
        ]
        indexes = [models.Index(fields=["-changed_at", "-id"], name="learneraliaschange_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.provider} {self.learner_key}"


class InvalidRecord(models.Model):
    """A provider record that failed validation, with the reason, for L&D admins."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="invalid_records")
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="invalid_records")
    line = models.PositiveIntegerField(null=True, blank=True, help_text="Line of the file, for CSV imports")
    reason = models.CharField(max_length=500)
    raw = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "line"]

    def __str__(self) -> str:
        return self.reason


# --- API tokens (learnhub/api) ----------------------------------------------------------


class ApiTokenScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read-write", _("Read and write")
    SCIM = "scim", _("SCIM provisioning only")


class ApiToken(models.Model):
    """A token an integration sends as `Authorization: Bearer <token>`. It acts as the
    L&D admin who created it (their identity and roles, checked on every request),
    limited by its scope. Only the sha256 of the secret is stored; `prefix` is public and
    finds the row (learnhub/api/tokens.py)."""

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=ApiTokenScope.choices, default=ApiTokenScope.READ)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False, help_text="sha256 hex of the secret part")
    created_by = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=ApiTokenScope.values), name="apitoken_scope_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="apitoken_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiTokenScope.READ_WRITE


# --- File imports run as jobs (programs/imports.py) ---------------------------------------


class ImportKind(models.TextChoices):
    ROSTER = "roster", _("Roster")
    PROVIDER_CSV = "provider_csv", _("Provider completions file")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """An uploaded file (roster or provider completions) imported by a Celery task. The
    file is kept in storage until the job ends; `rows_done` / `rows_total` drive the
    progress bar and `result` keeps what the import did (counts, bad lines)."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    connection = models.ForeignKey(
        ProviderConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="import_jobs"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True, max_length=500)
    file_name = models.CharField(max_length=255, help_text="The name of the file as uploaded")
    file_size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    sync_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ImportKind.values), name="importjob_kind"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="importjob_status"),
            models.CheckConstraint(
                condition=Q(kind="roster") | Q(connection__isnull=False), name="importjob_provider_has_connection"
            ),
        ]
        indexes = [models.Index(fields=["kind", "-created_at"], name="importjob_by_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.status})"


# --- xAPI statements pushed to LearnHub (programs/xapi) -----------------------------------


class XapiStatement(models.Model):
    """One xAPI statement a provider pushed to a connection of kind xapi, kept as received.

    The statement id is unique per connection: the same statement again changes nothing,
    a different statement under a used id is refused (`canonical_hash` is compared, see
    programs.xapi.statements.statement_hash). The columns after `statement` are read from
    it once, at intake, so the pipeline's questions (which statements complete which
    course for whom, which are voided, which are still to process) are indexed queries.
    `processed_at` is empty until a successful pipeline run has taken the statement in."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="xapi_statements")
    statement_id = models.UUIDField()
    statement = models.JSONField(help_text="The statement as received (with the id LearnHub gave it, if it had none)")
    canonical_hash = models.CharField(
        max_length=64, help_text="sha256 of the statement without stored/authority/version"
    )
    verb_id = models.CharField(max_length=2000)
    learner_key = models.CharField(
        max_length=500, blank=True, help_text="actor.account.name, else the lower-case e-mail of actor.mbox"
    )
    email = models.CharField(max_length=254, blank=True)
    external_id = models.CharField(max_length=500, blank=True)
    object_id = models.CharField(max_length=2000, blank=True, help_text="The activity (course) id")
    is_completion = models.BooleanField(default=False)
    voids = models.UUIDField(null=True, blank=True, help_text="A voiding statement: the id of the statement it voids")
    voided = models.BooleanField(default=False)
    occurred_at = models.DateTimeField(help_text="timestamp, else stored, else when LearnHub received it")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "statement_id"], name="xapistatement_unique_id"),
            models.CheckConstraint(
                condition=Q(voids__isnull=True) | Q(is_completion=False), name="xapistatement_void_is_no_completion"
            ),
        ]
        indexes = [
            # The completions of a learner (a few per person): the object ids are then compared
            # in Python, so no index entry holds two long strings.
            models.Index(
                fields=["connection", "learner_key"], condition=Q(is_completion=True), name="xapistatement_completions"
            ),
            models.Index(fields=["connection", "voids"], condition=Q(voids__isnull=False), name="xapistatement_voids"),
            models.Index(
                fields=["connection", "received_at"],
                condition=Q(processed_at__isnull=True),
                name="xapistatement_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.verb_id.rsplit('/', 1)[-1]})"


class XapiToken(models.Model):
    """An OAuth 2.0 access token LearnHub issued to an xapi connection's client (client
    credentials grant, programs/xapi/tokens.py). Only the sha256 of the token is stored.
    It works on its own connection only, until `expires_at`, and only while the
    connection's client id and secret are the ones it was issued for
    (`credentials_digest`, an HMAC of both under SECRET_KEY)."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="xapi_tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=100, default="xapi:write")
    credentials_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="xapitoken_expires_after_issue"
            ),
        ]
        indexes = [models.Index(fields=["connection", "expires_at"], name="xapitoken_by_connection")]

    def __str__(self) -> str:
        return f"xAPI token of {self.connection} until {self.expires_at:%Y-%m-%d %H:%M}"
