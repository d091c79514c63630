"""Django admin for the programs app: organizations, the roster (the custom user model),
programs, the course catalog, collections and the provider-side records.

The admin stays available to L&D admins; the product pages are the main interface.
Rights are not theirs to hand out: superuser, staff, group and permission fields, other
people's passwords and superuser accounts are changed only by a superuser; an L&D admin
sees them read-only (and groups too). Provider records (sync runs, enrollments, unmatched and invalid records) are
written by the sync pipeline only, so they are read-only here. A connection's client
secret is write-only: it is never rendered back.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from learnhub.roles import has_access
from programs.access import access_end_reason, employee_access_end
from programs.connections import provider_connection_errors, provider_connection_save
from programs.learning_programs import program_create, program_errors, program_update
from programs.models import (
    Collection,
    CollectionItem,
    CollectionReviewStep,
    Course,
    Employee,
    Enrollment,
    InvalidRecord,
    LearningProgram,
    Organization,
    ProgramExclusion,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
    XapiStatement,
)
from programs.organizations import organization_create
from reports.hooks import progress_changed


class ProgressInputAdmin(admin.ModelAdmin):
    """The admin of a model whose rows are inputs of the numbers (organizations, people
    and their exclusions, programs, courses, collections, enrollments, connections): a
    save (with its inlines) or a delete, one at a time or in bulk, calls
    `reports.hooks.progress_changed` after its writes, in the admin's transaction."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        progress_changed()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        progress_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        progress_changed()


# --- Organizations ----------------------------------------------------------------------


ORG_CREATE_NOTE = "Path and depth are computed from the parent and the name."
ORG_CHANGE_NOTE = (
    "Name and parent cannot be changed here: the path of every organization below would change too. "
    "Create the new organization and move its people instead."
)


@admin.register(Organization)
class OrganizationAdmin(ProgressInputAdmin):
    """Name and parent are set once, at creation, through `organization_create` (which
    computes path and depth). They are read-only afterwards because renaming or moving
    an organization would change the path of every organization below it."""

    list_display = ["path", "name", "parent", "depth", "employee_count"]
    list_filter = ["depth"]
    search_fields = ["path", "name"]
    ordering = ["path"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth"]

    @admin.display(description="employees", ordering="employee_count")
    def employee_count(self, obj: Organization) -> int:
        return getattr(obj, "employee_count", 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).annotate(employee_count=Count("employees"))

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> list[str]:
        if obj is None:
            return ["path", "depth"]
        return ["name", "parent", "path", "depth"]

    def get_fieldsets(self, request: HttpRequest, obj: Organization | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["name", "parent"], "description": ORG_CREATE_NOTE})]
        return [(None, {"fields": ["name", "parent", "path", "depth"], "description": ORG_CHANGE_NOTE})]

    def save_model(self, request: HttpRequest, obj: Organization, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # nothing editable on change
        created = organization_create(name=obj.name, parent=obj.parent)
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth
        obj._state.adding = False


# --- Employees (the custom user model) and groups ----------------------------------------

# What only a superuser changes: who is staff or superuser, and which rights a person has.
PRIVILEGE_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def _clean_unique_email(form: forms.ModelForm) -> str:
    email = (form.cleaned_data.get("email") or "").strip().lower()
    others = Employee.objects.filter(email__iexact=email)
    if form.instance.pk:
        others = others.exclude(pk=form.instance.pk)
    if email and others.exists():
        raise ValidationError("An employee with this e-mail address already exists.")
    return email


class EmployeeCreationForm(AdminUserCreationForm):
    """E-mail, name and organization; the password is optional (a roster employee
    usually claims the account by signing up with the company e-mail)."""

    class Meta:
        model = Employee
        fields = ("email", "full_name", "organization")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["usable_password"].initial = "false"
        self.fields[
            "usable_password"
        ].help_text = "Disabled: the employee claims the account by signing up with their company e-mail address."

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class EmployeeRosterCreationForm(forms.ModelForm):
    """The add form for L&D admins who are not superusers: a roster entry, never a
    password (the employee claims the account by signing up with their e-mail)."""

    class Meta:
        model = Employee
        fields = ("email", "full_name", "organization")

    def clean_email(self) -> str:
        return _clean_unique_email(self)

    def save(self, commit: bool = True) -> Employee:
        employee = super().save(commit=False)
        employee.set_unusable_password()
        if commit:
            employee.save()
        return employee


class EmployeeChangeForm(UserChangeForm):
    class Meta:
        model = Employee
        fields = "__all__"

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class ProgramExclusionInline(admin.TabularInline):
    model = ProgramExclusion
    extra = 0
    autocomplete_fields = ["program"]
    fields = ["program", "reason"]
    fk_name = "employee"


@admin.register(Employee)
class EmployeeAdmin(ProgressInputAdmin, UserAdmin):
    form = EmployeeChangeForm
    add_form = EmployeeCreationForm
    list_display = ["email", "full_name", "title", "organization", "external_id", "hired_on", "departed_on", "is_staff"]
    list_filter = [
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        ("organization", admin.RelatedOnlyFieldListFilter),
        "hired_on",
        "departed_on",
    ]
    search_fields = ["email", "full_name", "external_id", "title", "organization__path"]
    ordering = ["email"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization", "manager"]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups", "user_permissions"]
    inlines = [ProgramExclusionInline]

    def get_inlines(self, request: HttpRequest, obj: Employee | None) -> list[type[admin.options.InlineModelAdmin]]:
        return [] if obj is None else list(self.inlines)  # the add form stays e-mail + password

    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (
            "Roster",
            {"fields": ("full_name", "title", "external_id", "organization", "manager", "hired_on", "departed_on")},
        ),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "organization", "usable_password", "password1", "password2"),
            },
        ),
    )
    roster_add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "organization")}),)

    @admin.display(description="password")
    def password_state(self, obj: Employee) -> str:
        if obj.has_usable_password():
            return "Set by the employee. Only a superuser can change it here."
        return "Not set: the employee claims the account by signing up with their company e-mail."

    def get_fieldsets(self, request: HttpRequest, obj: Employee | None = None) -> Any:
        if is_superuser(request):
            return super().get_fieldsets(request, obj)
        if obj is None:
            return self.roster_add_fieldsets
        return tuple(
            (name, {**options, "fields": tuple("password_state" if f == "password" else f for f in options["fields"])})
            for name, options in self.fieldsets
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Employee | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        if obj is not None and not is_superuser(request):
            fields += ["password_state", *PRIVILEGE_FIELDS]
            if obj.is_staff or obj.is_superuser:
                fields.append("email")  # the login of a privileged account: a password reset would hand it over
        return fields

    def get_form(self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None and not is_superuser(request):
            kwargs["form"] = EmployeeRosterCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Employee | None = None) -> bool:
        if obj is not None and obj.is_superuser and not is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Employee | None = None) -> bool:
        if obj is not None and obj.is_superuser and not is_superuser(request):
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Only a superuser sets passwords here; everyone changes their own at
        /accounts/password/change/."""
        if not is_superuser(request):
            raise PermissionDenied("Only a superuser can change passwords in the admin.")
        return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: Employee, form: forms.ModelForm, change: bool) -> None:
        """Deactivating someone, or recording a departure that has come, ends their
        sessions and API tokens at once (programs.access)."""
        super().save_model(request, obj, form, change)
        if change and not has_access(obj):
            reason = access_end_reason(obj, day=timezone.localdate())
            transaction.on_commit(lambda: employee_access_end(employee_ids=[obj.pk], reason=reason))


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(auth_admin.GroupAdmin):
    """Groups hand out permissions, so only superusers add, change or delete them; L&D
    admins can look (they hold the view permission)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return is_superuser(request)


# --- Programs, catalog, collections -----------------------------------------------------


PROGRAM_FIELDS = ["name", "starts_on", "ends_on", "target_rate", "required_completions", "status"]


class LearningProgramForm(forms.ModelForm):
    """The admin's program form. Its checks are the programs' own (`program_errors`:
    the name rule ignoring case, the window, the target, the status transitions), shown
    next to the fields like any form error."""

    class Meta:
        model = LearningProgram
        fields = PROGRAM_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if all(cleaned.get(field) is not None for field in PROGRAM_FIELDS):  # else a field error says why
            values = {field: cleaned[field] for field in PROGRAM_FIELDS}
            values["name"] = values["name"].strip()
            stored = self.instance if self.instance.pk else None  # still the stored values here
            for field, problems in program_errors(program=stored, **values).items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(LearningProgram)
class LearningProgramAdmin(ProgressInputAdmin):
    """Programs are created and changed through `program_create` / `program_update`, as
    on the /manage/ pages and in the API: the same rules, the same audit trail."""

    form = LearningProgramForm
    list_display = ["name", "starts_on", "ends_on", "target_rate", "required_completions", "status", "cloned_from"]
    list_filter = ["status", "starts_on"]
    search_fields = ["name"]
    list_select_related = ["cloned_from"]
    readonly_fields = ["cloned_from", "created_at"]
    fields = [*PROGRAM_FIELDS, "cloned_from", "created_at"]
    date_hierarchy = "starts_on"

    def save_model(self, request: HttpRequest, obj: LearningProgram, form: forms.ModelForm, change: bool) -> None:
        values = {field: form.cleaned_data[field] for field in PROGRAM_FIELDS}
        if change:
            program_update(program=obj, changed_by=request.user, **values)  # type: ignore[arg-type]
            return
        created = program_create(**values)
        obj.pk, obj.name, obj.created_at = created.pk, created.name, created.created_at
        obj._state.adding = False


@admin.register(ProgramExclusion)
class ProgramExclusionAdmin(ProgressInputAdmin):
    list_display = ["employee", "program", "reason", "created_at"]
    list_filter = ["program"]
    search_fields = ["employee__email", "employee__full_name", "reason"]
    list_select_related = ["employee", "program"]
    autocomplete_fields = ["program", "employee"]


@admin.register(Course)
class CourseAdmin(ProgressInputAdmin):
    list_display = ["title", "provider", "provider_course_id", "partner", "hours", "updated_at"]
    list_filter = ["provider", "partner"]
    search_fields = ["title", "provider_course_id", "partner"]


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 1
    autocomplete_fields = ["course"]
    fields = ["position", "course"]


class CollectionReviewStepInline(admin.TabularInline):
    """The review history, read only: steps are taken on the product pages
    (programs.collections.collection_review_step), which e-mail the other side."""

    model = CollectionReviewStep
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Collection | None = None) -> bool:
        return False


@admin.register(Collection)
class CollectionAdmin(ProgressInputAdmin):
    """A collection's approval is read only here: it changes by the review's steps on the
    product pages (programs.collections.collection_review_step), which keep its history
    and tell the other side."""

    list_display = ["name", "program", "organization", "approval_status", "approved_by", "approved_at", "item_count"]
    list_filter = ["program", "approval_status", "organization__depth"]
    search_fields = ["name", "organization__path", "needs"]
    list_select_related = ["program", "organization", "approved_by"]
    autocomplete_fields = ["program", "organization"]
    readonly_fields = ["approval_status", "approved_by", "approved_at"]
    inlines = [CollectionItemInline, CollectionReviewStepInline]

    @admin.display(description="courses", ordering="item_count")
    def item_count(self, obj: Collection) -> int:
        return getattr(obj, "item_count", 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return super().get_queryset(request).annotate(item_count=Count("items"))


@admin.register(CollectionItem)
class CollectionItemAdmin(ProgressInputAdmin):
    list_display = ["collection", "position", "course"]
    list_filter = ["collection__program"]
    search_fields = ["collection__name", "course__title", "course__provider_course_id"]
    list_select_related = ["collection", "course"]
    autocomplete_fields = ["collection", "course"]


# --- Provider side ----------------------------------------------------------------------


def stored_state(value: str) -> str:
    """What the admin shows about a write-only value: whether one is stored, never what."""
    return "set" if value else "not set"


# The admin form's fields under the names of provider_connection_save's keywords.
CONNECTION_SERVICE_FIELDS = {
    "kind": "kind",
    "is_active": "is_active",
    "sync_interval_minutes": "interval_minutes",
    "base_url": "base_url",
    "token_url": "token_url",
    "provider_org_id": "org_id",
    "provider_program_ids": "program_ids",
    "client_id": "client_id",
    "client_secret": "client_secret",
}


class ProviderConnectionForm(forms.ModelForm):
    """The client secret is write-only: the input never shows the stored value, and
    leaving it empty keeps the stored secret. The checks are the providers pages' own
    (`provider_connection_errors`: what each kind needs, URLs, names, the interval),
    shown next to the fields; the admin then saves through `provider_connection_save`."""

    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = ProviderConnection
        fields = ["name", *CONNECTION_SERVICE_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        state = stored_state(self.instance.client_secret)
        self.fields["client_secret"].help_text = f"Currently {state}. Leave empty to keep the stored secret."

    def clean_provider_program_ids(self) -> list[str]:
        program_ids = self.cleaned_data.get("provider_program_ids") or []
        if not isinstance(program_ids, list) or not all(isinstance(p, str) for p in program_ids):
            raise ValidationError('A list of provider program ids, e.g. ["program-1", "program-2"].')
        return program_ids

    def service_values(self) -> dict[str, Any]:
        """The cleaned values as `provider_connection_save` keywords, for this form's
        connection (a new one when adding)."""
        values = {keyword: self.cleaned_data.get(field) for field, keyword in CONNECTION_SERVICE_FIELDS.items()}
        values["program_ids"] = values["program_ids"] or None  # none given: keep what the connection has
        stored = self.instance if self.instance.pk else None
        return {"name": self.cleaned_data.get("name") or "", "connection": stored, "new": stored is None, **values}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:  # else a field error says why
            by_keyword = {keyword: field for field, keyword in CONNECTION_SERVICE_FIELDS.items()}
            for keyword, problems in provider_connection_errors(**self.service_values()).items():
                field = by_keyword.get(keyword, keyword)
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(ProgressInputAdmin):
    form = ProviderConnectionForm
    list_display = ["name", "kind", "provider_org_id", "is_active", "sync_interval_minutes", "last_synced_at", "secret"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "provider_org_id", "client_id"]
    readonly_fields = ["last_synced_at", "created_at"]
    fieldsets = (
        (None, {"fields": ("name", "kind", "is_active", "sync_interval_minutes")}),
        (
            "Provider account",
            {
                "fields": (
                    "base_url",
                    "token_url",
                    "provider_org_id",
                    "provider_program_ids",
                    "client_id",
                    "client_secret",
                )
            },
        ),
        ("History", {"fields": ("last_synced_at", "created_at")}),
    )

    @admin.display(description="client secret")
    def secret(self, obj: ProviderConnection) -> str:
        return stored_state(obj.client_secret)

    def save_model(
        self, request: HttpRequest, obj: ProviderConnection, form: ProviderConnectionForm, change: bool
    ) -> None:
        saved, _ = provider_connection_save(**form.service_values())
        obj.pk, obj.client_secret, obj._state.adding = saved.pk, saved.client_secret, False


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """Records written by the sync pipeline: viewable and deletable, never added or edited
    by hand (the next sync would overwrite a hand edit)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInputAdmin(ReadOnlyRecordAdmin, ProgressInputAdmin):
    """Read-only records that are inputs of the numbers (enrollments): deleting them
    changes the numbers."""


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyRecordAdmin):
    list_display = [
        "started_at",
        "connection",
        "source",
        "full",
        "status",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "unmatched",
        "finished_at",
    ]
    list_filter = ["status", "source", "full", "connection"]
    search_fields = ["connection__name", "error"]
    list_select_related = ["connection"]
    date_hierarchy = "started_at"


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyInputAdmin):
    list_display = ["employee", "course", "connection", "progress", "is_completed", "completed_at", "is_removed"]
    list_filter = ["is_completed", "is_removed", "connection", "completed_at"]
    search_fields = [
        "employee__email",
        "employee__full_name",
        "learner_key",
        "course__title",
        "course__provider_course_id",
    ]
    list_select_related = ["employee", "course", "connection"]
    date_hierarchy = "completed_at"
    show_full_result_count = False


@admin.register(UnmatchedRecord)
class UnmatchedRecordAdmin(ReadOnlyRecordAdmin):
    list_display = ["learner_key", "email", "external_id", "provider_course_id", "connection", "last_seen_at"]
    list_filter = ["connection"]
    search_fields = ["learner_key", "email", "external_id", "provider_course_id"]
    list_select_related = ["connection"]


@admin.register(InvalidRecord)
class InvalidRecordAdmin(ReadOnlyRecordAdmin):
    list_display = ["created_at", "connection", "run", "line", "reason"]
    list_filter = ["connection"]
    search_fields = ["reason"]
    list_select_related = ["connection", "run", "run__connection"]


@admin.register(XapiStatement)
class XapiStatementAdmin(ReadOnlyRecordAdmin):
    """Pushed xAPI statements as received (programs/xapi): read-only, like every record the
    pipeline works from."""

    list_display = [
        "received_at",
        "connection",
        "statement_id",
        "verb_id",
        "learner_key",
        "object_id",
        "is_completion",
        "voided",
        "processed_at",
    ]
    list_filter = ["connection", "is_completion", "voided"]
    search_fields = ["learner_key", "object_id", "verb_id"]
    list_select_related = ["connection"]
    date_hierarchy = "received_at"
    show_full_result_count = False
