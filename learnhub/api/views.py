"""API views: check the role (learnhub/roles.py through learnhub/api/permissions.py) and
the object, parse the input, call one domain function, respond."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from champions.models import StudyGroup
from champions.selectors import groups_visible
from learnhub.api import serializers as s
from learnhub.api.errors import error_response
from learnhub.api.filters import (
    CollectionFilter,
    EmployeeFilter,
    ListFilterBackend,
    OrganizationFilter,
    StudyGroupFilter,
    SyncRunFilter,
)
from learnhub.api.params import (
    ProgressParameters,
    SnapshotParameters,
    ToNudgeParameters,
    openapi_parameters,
    parameters_read,
)
from learnhub.api.permissions import LD_ADMINS, READ_OR_LD_ADMINS, SIGNED_IN
from learnhub.api.selectors import snapshot_series
from learnhub.api.services import roster_json_import
from learnhub.roles import can_see_people_of, current_program, programs_visible
from programs.learning_programs import program_create, program_update
from programs.models import Collection, LearningProgram, Organization, ProviderConnection, SyncRun
from programs.roster import RosterFileError, roster_employees
from programs.selectors import collections_visible
from programs.sync.schedule import sync_problem, sync_request
from reports.kept import people_to_nudge_read, progress_read
from reports.people import Stage
from reports.progress import progress_as_dict

# The filtering parameters of each list are its FilterSet's (learnhub.api.filters); the
# parameters of the other actions are read by the forms of learnhub.api.params.

PROGRAM_EXAMPLE = OpenApiExample(
    "A program for 2027",
    value={"name": "Learning Program 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.9},
    request_only=True,
)
ROSTER_EXAMPLE = OpenApiExample(
    "Two people, counted without writing",
    value={
        "rows": [
            {"email": "ada@acme.example", "full_name": "Ada Lovelace", "organization": "Acme/Research", "title": ""},
            {"email": "grace@acme.example", "full_name": "Grace Hopper", "organization": "Acme", "title": "CTO"},
        ],
        "dry_run": True,
    },
    request_only=True,
)


# --- Programs, progress, snapshots -----------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Programs (everyone signed in; drafts: L&D admins only)"),
    retrieve=extend_schema(summary="A program (everyone signed in; a draft: L&D admins only)"),
)
class ProgramViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = LearningProgram.objects.all()  # the schema's model; each request: get_queryset
    serializer_class = s.ProgramSerializer
    permission_classes = READ_OR_LD_ADMINS
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["starts_on", "name", "id"]
    ordering = ["-starts_on", "name"]

    def get_queryset(self) -> QuerySet[LearningProgram]:
        return programs_visible(self.request.user)

    @extend_schema(
        summary="Create a program (L&D admins, read-write tokens)",
        request=s.ProgramCreateSerializer,
        examples=[PROGRAM_EXAMPLE],
        responses={201: s.ProgramSerializer},
    )
    def create(self, request: Request) -> Response:
        data = s.ProgramCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program = program_create(**data.validated_data)
        return Response(s.ProgramSerializer(program).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a program (L&D admins, read-write tokens); audited",
        request=s.ProgramUpdateSerializer,
        responses={200: s.ProgramSerializer},
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        program = self.get_object()
        data = s.ProgramUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program_update(program=program, changed_by=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(s.ProgramSerializer(program).data)

    @extend_schema(
        summary="Progress as of a day: exactly `manage.py progress --format json`",
        parameters=openapi_parameters(ProgressParameters),
        responses={200: s.ProgressSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def progress(self, request: Request, pk: int) -> Response:
        program = self.get_object()
        as_of = parameters_read(ProgressParameters, request)["as_of"]
        return Response(progress_as_dict(progress_read(program=program, as_of=as_of)))

    @extend_schema(
        summary="Daily snapshots of one organization (or the company) as a time series",
        parameters=openapi_parameters(SnapshotParameters),
        responses={200: s.SnapshotSeriesSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def snapshots(self, request: Request, pk: int) -> Response:
        program = self.get_object()
        parameters = parameters_read(SnapshotParameters, request)
        organization: Organization | None = parameters["organization"]
        start, end = parameters["from"], parameters["to"]
        points = snapshot_series(program=program, organization=organization, start=start, end=end)
        series = {
            "program": program.pk,
            "organization": organization.pk if organization else None,
            "organization_path": organization.path if organization else None,
            "points": points,
        }
        return Response(s.SnapshotSeriesSerializer(series).data)


# --- Organizations ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Organizations, as a tree by path (everyone signed in)"),
    retrieve=extend_schema(summary="An organization"),
)
class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Organization.objects.all()
    serializer_class = s.OrganizationSerializer
    permission_classes = SIGNED_IN
    filter_backends = [ListFilterBackend, filters.OrderingFilter]
    filterset_class = OrganizationFilter
    ordering_fields = ["path", "name", "depth", "id"]
    ordering = ["path"]

    @extend_schema(
        summary="Who to nudge first: the organization's people still to complete, closest to the goal first "
        "(its champions and sponsor, L&D admins)",
        parameters=openapi_parameters(ToNudgeParameters),
        responses={200: s.PersonToNudgeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path="to-nudge", filter_backends=[])
    def to_nudge(self, request: Request, pk: int) -> Response:
        organization = self.get_object()
        parameters = parameters_read(ToNudgeParameters, request)
        program = parameters["program"] or current_program(request.user)
        if program is not None and not programs_visible(request.user).filter(pk=program.pk).exists():
            # a draft, to all but L&D admins
            raise NotFound(_("There is no learning program with id %(id)s.") % {"id": program.pk})
        if program is None:
            raise NotFound(_("No learning program has been set up yet."))
        if not can_see_people_of(request.user, program, organization):
            raise PermissionDenied(_("Only this organization's champions, sponsor and L&D admins see its people."))
        stage = Stage(parameters["status"]) if parameters["status"] else None
        people = people_to_nudge_read(program=program, as_of=None, organization=organization, stage=stage)
        page = self.paginate_queryset(people)
        return self.get_paginated_response(s.PersonToNudgeSerializer(page, many=True).data)


# --- Employees (L&D admins) --------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="The roster (L&D admins)"),
    retrieve=extend_schema(summary="An employee (L&D admins)"),
)
class EmployeeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.EmployeeSerializer
    permission_classes = LD_ADMINS
    filter_backends = [ListFilterBackend, filters.OrderingFilter]
    filterset_class = EmployeeFilter
    ordering_fields = ["email", "full_name", "hired_on", "departed_on", "id"]
    ordering = ["email"]

    def get_queryset(self) -> QuerySet[Any]:
        return roster_employees()

    @extend_schema(
        summary="Bulk roster upsert (L&D admins, read-write tokens): the CSV roster import's rules",
        description=(
            "Rows carry the roster CSV's fields; each bad row is reported in `errors` with its index in `rows` "
            "as `line`. Any bad row: 400 and nothing is applied. `dry_run` counts without writing."
        ),
        request=s.RosterBulkUpsertSerializer,
        examples=[ROSTER_EXAMPLE],
        responses={
            200: s.RosterBulkResultSerializer,
            409: OpenApiResponse(description="People changed in LearnHub during the push: nothing was written."),
        },
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def bulk(self, request: Request) -> Response:
        data = s.RosterBulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = roster_json_import(**data.validated_data)
        except RosterFileError as exc:
            return error_response(detail=str(exc), errors=[], status_code=status.HTTP_409_CONFLICT)
        if result.errors:
            lines = {error.line for error in result.errors}
            return error_response(
                detail=_("%(count)d row(s) have errors; nothing was applied.") % {"count": len(lines)},
                errors=[{"line": error.line, "message": error.reason} for error in result.errors],
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        return Response(s.RosterBulkResultSerializer(result).data)


# --- Collections and study groups ------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Collections a person browses, with their ordered courses"),
    retrieve=extend_schema(summary="A collection and its ordered courses"),
)
class CollectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Collection.objects.none()  # the visible ones: CollectionFilter's (list), get_queryset's (one)
    serializer_class = s.CollectionSerializer
    permission_classes = SIGNED_IN
    filter_backends = [ListFilterBackend]
    filterset_class = CollectionFilter

    def get_queryset(self) -> QuerySet[Collection]:
        if self.action == "list":
            return Collection.objects.none()  # CollectionFilter answers with the program's visible ones
        collection = get_object_or_404(Collection.objects.select_related("program"), pk=self.kwargs.get("pk"))
        return collections_visible(program=collection.program, user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Study groups a person sees"),
    retrieve=extend_schema(summary="A study group"),
)
class StudyGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = StudyGroup.objects.none()  # the visible ones: StudyGroupFilter's (list), get_queryset's (one)
    serializer_class = s.StudyGroupSerializer
    permission_classes = SIGNED_IN
    filter_backends = [ListFilterBackend]
    filterset_class = StudyGroupFilter

    def get_queryset(self) -> QuerySet[Any]:
        if self.action == "list":
            return StudyGroup.objects.none()  # StudyGroupFilter answers with the program's visible ones
        group = get_object_or_404(StudyGroup.objects.select_related("program"), pk=self.kwargs.get("pk"))
        return groups_visible(program=group.program, user=self.request.user)


# --- Provider connections and syncs (L&D admins) ---------------------------------------


@extend_schema_view(list=extend_schema(summary="Provider connections (L&D admins; never secrets)"))
class ConnectionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = ProviderConnection.objects.all()
    serializer_class = s.ConnectionSerializer
    permission_classes = LD_ADMINS

    @extend_schema(
        summary="Start a sync (L&D admins, read-write tokens): queued after commit",
        request=s.SyncStartSerializer,
        responses={202: s.SyncQueuedSerializer, 409: OpenApiResponse(description="This connection cannot sync.")},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def sync(self, request: Request, pk: int) -> Response:
        connection = self.get_object()
        data = s.SyncStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        problem = sync_problem(connection=connection)
        full = data.validated_data["full"]
        if problem or not sync_request(connection=connection, full=full):
            # sync_request refuses only when the connection changed since sync_problem was asked
            detail = problem or sync_problem(connection=connection)
            return error_response(detail=detail, errors=[], status_code=status.HTTP_409_CONFLICT)
        body = {"detail": _("Sync queued."), "connection": connection.pk, "full": full}
        return Response(s.SyncQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Sync runs, newest first (L&D admins)"),
    retrieve=extend_schema(summary="A sync run (L&D admins)"),
)
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = SyncRun.objects.all()
    serializer_class = s.SyncRunSerializer
    permission_classes = LD_ADMINS
    filter_backends = [ListFilterBackend, filters.OrderingFilter]
    filterset_class = SyncRunFilter
    ordering_fields = ["started_at", "id"]
    ordering = ["-started_at", "-id"]
