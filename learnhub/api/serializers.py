"""API representations. Input serializers only parse and type the input; the rules live in
the domain functions the views call (programs.learning_programs, programs.roster, ...)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from champions.models import StudyGroup
from programs.models import (
    PROGRAM_CHANGE_REASON_MAX_LENGTH,
    ApiToken,
    Collection,
    Employee,
    LearningProgram,
    Organization,
    ProgramStatus,
    ProviderConnection,
    SyncRun,
)
from reports.people import Stage


def _json_type(field: serializers.Field) -> tuple[str, tuple[type, ...]] | None:
    """The refusal of a value that is not of the JSON type the schema gives `field`, and
    the Python types json.loads makes of that type (None: any)."""
    if isinstance(field, serializers.BooleanField):
        return _("Must be true or false."), (bool,)
    if isinstance(field, serializers.IntegerField):
        return _("Must be a whole number."), (int,)
    if isinstance(field, serializers.DecimalField | serializers.FloatField):
        return _("Must be a number."), (int, float)
    if isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.DateField):
        return _("Must be a string."), (str,)
    if isinstance(field, serializers.ListField):
        return _("Must be a list."), (list,)
    return None


class JsonInputSerializer(serializers.Serializer):
    """Input typed as the schema says, not as DRF would coerce it: a string field takes a
    JSON string (not 0), a boolean true or false (not 0, 1 or "yes"), a number a JSON
    number (not "0.9"). `null` only where the field allows it."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                expected = _json_type(field)
                if name not in data or expected is None or (data[name] is None and field.allow_null):
                    continue
                value = data[name]
                if isinstance(value, bool) != (bool in expected[1]) or not isinstance(value, expected[1]):
                    errors[name] = [expected[0]]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class RateField(serializers.DecimalField):
    """A target rate: a fraction from 0.001 to 1, stored to 0.1% (three decimal places).
    More precise input (0.87549 from a float) is rounded half up, not refused: the schema
    says `number`, and a float cannot promise its decimal places."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("help_text", "A fraction from 0.001 to 1 (0.9 = 90%), stored to 0.1%: 0.87549 is 0.875.")
        super().__init__(
            max_digits=4,
            decimal_places=3,
            min_value=Decimal("0.001"),
            max_value=Decimal(1),
            coerce_to_string=False,
            **kwargs,
        )

    def validate_precision(self, value: Decimal) -> Decimal:
        with contextlib.suppress(InvalidOperation):  # far out of range: the digit checks below refuse it
            value = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        return super().validate_precision(value)


class ProgramSerializer(serializers.ModelSerializer):
    target_rate = serializers.DecimalField(max_digits=4, decimal_places=3, coerce_to_string=False)

    class Meta:
        model = LearningProgram
        fields = ["id", "name", "starts_on", "ends_on", "target_rate", "required_completions", "status", "created_at"]
        read_only_fields = fields


class ProgramCreateSerializer(JsonInputSerializer):
    name = serializers.CharField(max_length=200)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    target_rate = RateField()
    required_completions = serializers.IntegerField(min_value=1, max_value=32767, default=1)
    status = serializers.ChoiceField(choices=ProgramStatus.choices, default=ProgramStatus.ACTIVE)


class ProgramUpdateSerializer(JsonInputSerializer):
    """Every field optional (PATCH); a missing field keeps its value. Status moves only
    draft -> active -> closed."""

    name = serializers.CharField(max_length=200, required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)
    target_rate = RateField(required=False)
    required_completions = serializers.IntegerField(min_value=1, max_value=32767, required=False)
    status = serializers.ChoiceField(choices=ProgramStatus.choices, required=False)
    reason = serializers.CharField(
        max_length=PROGRAM_CHANGE_REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Why: kept with each change in the program's audit trail.",
    )


class ProgressBlockSerializer(serializers.Serializer):
    eligible = serializers.IntegerField()
    met = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    completions = serializers.IntegerField()
    curated_completions = serializers.IntegerField()
    curated_share = serializers.FloatField(allow_null=True)


class CompanyProgressSerializer(ProgressBlockSerializer):
    pace = serializers.FloatField()
    on_track = serializers.BooleanField()
    projection = serializers.FloatField(allow_null=True)


class OrganizationProgressSerializer(ProgressBlockSerializer):
    path = serializers.CharField()


class ExecutiveSerializer(serializers.Serializer):
    email = serializers.EmailField()
    organization = serializers.CharField()
    met = serializers.BooleanField()


class ProgressSerializer(serializers.Serializer):
    """The shape of `manage.py progress --format json` (reports.progress.progress_as_dict)."""

    program = serializers.CharField()
    as_of = serializers.DateField()
    target = serializers.FloatField()
    required = serializers.IntegerField()
    company = CompanyProgressSerializer()
    organizations = OrganizationProgressSerializer(many=True)
    executives = ExecutiveSerializer(many=True)


class SnapshotPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    eligible = serializers.IntegerField()
    met = serializers.IntegerField()
    completions = serializers.IntegerField()
    curated_completions = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class SnapshotSeriesSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    organization = serializers.IntegerField(allow_null=True)
    organization_path = serializers.CharField(allow_null=True)
    points = SnapshotPointSerializer(many=True)


class PersonToNudgeSerializer(serializers.Serializer):
    """One person of the ranked list (reports.kept.people_to_nudge_read), closest to the goal first."""

    id = serializers.IntegerField()
    full_name = serializers.CharField()
    email = serializers.EmailField()
    team = serializers.CharField(source="organization.path", allow_null=True, default=None)
    status = serializers.ChoiceField(source="stage", choices=Stage.choices)
    course_in_progress = serializers.CharField(source="course_title", allow_null=True)
    course_progress = serializers.FloatField(allow_null=True, help_text="Percent through the course in progress.")
    counted_courses = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    last_nudged_at = serializers.DateTimeField(allow_null=True)
    last_nudged_by = serializers.CharField(allow_null=True, help_text="Empty when the schedule sent it.")
    unsubscribed = serializers.BooleanField(help_text="Unsubscribed from nudges or from every message.")


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "path", "depth", "parent"]
        read_only_fields = fields


class EmployeeSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.path", allow_null=True, default=None)
    manager_email = serializers.EmailField(source="manager.email", allow_null=True, default=None)

    class Meta:
        model = Employee
        fields = [
            "id",
            "email",
            "full_name",
            "external_id",
            "title",
            "organization",
            "organization_id",
            "manager_email",
            "hired_on",
            "departed_on",
            "is_active",
        ]
        read_only_fields = fields


class RosterRowSerializer(serializers.Serializer):
    """For the schema only: the view passes rows as they came to the roster import, so
    each bad row is reported with its index."""

    email = serializers.CharField()
    full_name = serializers.CharField()
    organization = serializers.CharField(help_text='Full path, e.g. "Acme/Engineering/Platform".')
    external_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    title = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    manager_email = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    hired_on = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="YYYY-MM-DD")
    departed_on = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="YYYY-MM-DD")


class RosterBulkSerializer(JsonInputSerializer):
    rows = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=100_000)
    dry_run = serializers.BooleanField(default=False)
    mark_missing_departed = serializers.BooleanField(
        default=False, help_text="Everyone not in `rows` who has no departure date departs today."
    )


class RosterBulkUpsertSerializer(RosterBulkSerializer):
    """The documented request of the bulk upsert (RosterBulkSerializer parses it). At
    least one row: an empty push is refused rather than read as "nobody is on the roster"
    (with mark_missing_departed it would depart everyone)."""

    rows = serializers.ListField(child=RosterRowSerializer(), min_length=1, max_length=100_000)


class RosterBulkResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    departed = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()


class CollectionCourseSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    id = serializers.IntegerField(source="course.id")
    provider = serializers.CharField(source="course.provider")
    provider_course_id = serializers.CharField(source="course.provider_course_id")
    title = serializers.CharField(source="course.title")
    partner = serializers.CharField(source="course.partner")
    url = serializers.CharField(source="course.url")
    hours = serializers.DecimalField(source="course.hours", max_digits=6, decimal_places=1, allow_null=True)


class CollectionSerializer(serializers.ModelSerializer):
    launch_video_url = serializers.CharField(help_text="A URL, or empty.")
    organization_path = serializers.CharField(source="organization.path", allow_null=True, default=None)
    courses = CollectionCourseSerializer(source="items", many=True)

    class Meta:
        model = Collection
        fields = [
            "id",
            "program",
            "organization",
            "organization_path",
            "name",
            "needs",
            "launch_video_url",
            "approval_status",
            "courses",
        ]
        read_only_fields = fields


class StudyGroupSerializer(serializers.ModelSerializer):
    organization_path = serializers.CharField(source="organization.path", allow_null=True, default=None)
    champion = serializers.CharField(source="champion.get_full_name", allow_null=True, default=None)
    member_count = serializers.IntegerField()

    class Meta:
        model = StudyGroup
        fields = [
            "id",
            "program",
            "organization",
            "organization_path",
            "name",
            "description",
            "course",
            "collection",
            "champion",
            "location",
            "capacity",
            "is_open",
            "member_count",
            "created_at",
        ]
        read_only_fields = fields


class ConnectionSerializer(serializers.ModelSerializer):
    """Never the client secret."""

    class Meta:
        model = ProviderConnection
        fields = ["id", "name", "kind", "is_active", "sync_interval_minutes", "last_synced_at"]
        read_only_fields = fields


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "connection",
            "source",
            "full",
            "status",
            "started_at",
            "finished_at",
            "fetched",
            "created",
            "updated",
            "unchanged",
            "invalid",
            "unmatched",
            "skipped",
            "merged",
            "pages",
            "retries",
            "error",
        ]
        read_only_fields = fields


class SyncStartSerializer(JsonInputSerializer):
    full = serializers.BooleanField(default=False, help_text="Everything, not only changes since the last sync.")


class SyncQueuedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    connection = serializers.IntegerField()
    full = serializers.BooleanField()


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields
