"""Django admin for the people side of a program: sponsors, champions, study groups
(with their members and sessions), attendance, progress updates and learner stories."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from champions.models import (
    Attendance,
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    PracticeNote,
    ProgressUpdate,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from programs.admin import ProgressInputAdmin

APPOINTMENT_SEARCH = ["employee__email", "employee__full_name", "organization__path", "program__name"]


@admin.register(ExecutiveSponsor)
class ExecutiveSponsorAdmin(ProgressInputAdmin):  # the dashboards show the sponsors' commitment
    list_display = ["employee", "organization", "program", "is_confirmed", "launch_video_url", "appointed_at"]
    list_filter = ["program", "is_confirmed", "organization__depth"]
    search_fields = APPOINTMENT_SEARCH
    list_select_related = ["employee", "organization", "program"]
    autocomplete_fields = ["program", "organization", "employee"]


@admin.register(LearningChampion)
class LearningChampionAdmin(ProgressInputAdmin):  # and the champions' names
    list_display = ["employee", "organization", "program", "is_confirmed", "appointed_at"]
    list_filter = ["program", "is_confirmed", "organization__depth"]
    search_fields = APPOINTMENT_SEARCH
    list_select_related = ["employee", "organization", "program"]
    autocomplete_fields = ["program", "organization", "employee"]


class StudyGroupMembershipInline(admin.TabularInline):
    model = StudyGroupMembership
    extra = 0
    autocomplete_fields = ["employee"]
    readonly_fields = ["joined_at"]
    fields = ["employee", "joined_at"]


class StudySessionInline(admin.TabularInline):
    model = StudySession
    extra = 0
    fields = ["starts_at", "ends_at", "topic", "location"]
    show_change_link = True


@admin.register(StudyGroup)
class StudyGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "organization", "champion", "course", "collection", "is_open", "member_count"]
    list_filter = ["program", "is_open", "organization__depth"]
    search_fields = ["name", "description", "organization__path", "champion__email", "champion__full_name"]
    list_select_related = ["program", "organization", "champion", "course", "collection"]
    autocomplete_fields = ["program", "organization", "course", "collection", "champion"]
    inlines = [StudySessionInline, StudyGroupMembershipInline]

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: StudyGroup) -> int:
        return getattr(obj, "member_count", 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StudyGroup]:
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))


@admin.register(StudyGroupMembership)
class StudyGroupMembershipAdmin(admin.ModelAdmin):
    list_display = ["employee", "group", "joined_at"]
    list_filter = ["group__program"]
    search_fields = ["employee__email", "employee__full_name", "group__name"]
    list_select_related = ["employee", "group"]
    autocomplete_fields = ["group", "employee"]


class AttendanceInline(admin.TabularInline):
    model = Attendance
    extra = 0
    autocomplete_fields = ["employee"]
    readonly_fields = ["recorded_at"]
    fields = ["employee", "recorded_at"]


@admin.register(StudySession)
class StudySessionAdmin(admin.ModelAdmin):
    list_display = ["group", "starts_at", "ends_at", "topic", "location", "attendance_count"]
    list_filter = ["group__program", "starts_at"]
    search_fields = ["group__name", "topic", "location"]
    list_select_related = ["group"]
    autocomplete_fields = ["group"]
    date_hierarchy = "starts_at"
    inlines = [AttendanceInline]

    @admin.display(description="attended", ordering="attendance_count")
    def attendance_count(self, obj: StudySession) -> int:
        return getattr(obj, "attendance_count", 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StudySession]:
        return super().get_queryset(request).annotate(attendance_count=Count("attendances"))


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["employee", "session", "recorded_at"]
    list_filter = ["session__group__program"]
    search_fields = ["employee__email", "employee__full_name", "session__group__name"]
    list_select_related = ["employee", "session", "session__group"]
    autocomplete_fields = ["session", "employee"]


@admin.register(ProgressUpdate)
class ProgressUpdateAdmin(admin.ModelAdmin):
    list_display = ["title", "program", "organization", "author", "for_all_hands", "created_at"]
    list_filter = ["program", "for_all_hands", "organization__depth"]
    search_fields = ["title", "body", "author__email", "author__full_name", "organization__path"]
    list_select_related = ["program", "organization", "author"]
    autocomplete_fields = ["program", "organization", "author"]
    date_hierarchy = "created_at"


@admin.register(LearnerStory)
class LearnerStoryAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "employee",
        "program",
        "course",
        "consent_to_share",
        "moderation",
        "withdrawn_at",
        "created_at",
    ]
    list_filter = ["program", "consent_to_share", "moderation", ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body", "employee__email", "employee__full_name"]
    list_select_related = ["employee", "program", "course"]
    autocomplete_fields = ["program", "employee", "course"]
    readonly_fields = ["moderation", "moderated_by", "moderated_at", "created_at", "updated_at"]


@admin.register(PracticeNote)
class PracticeNoteAdmin(admin.ModelAdmin):
    list_display = ["title", "program", "author", "created_at"]
    list_filter = ["program"]
    search_fields = ["title", "body", "author__email", "author__full_name"]
    list_select_related = ["program", "author"]
    autocomplete_fields = ["author"]
