"""API tokens in the Django admin: list, create (the token is shown once, on the page
after saving) and revoke. The secret hash is never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy, ngettext

from learnhub.api.services import api_token_revoke, api_token_secret_assign
from learnhub.roles import is_ld_admin
from programs.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "created_by__email"]
    fields = ["name", "scope", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        always = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
        return [*always, "scope"] if obj is not None else always

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_ld_admin(request.user)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
            obj._raw_token = api_token_secret_assign(token=obj)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "token": obj, "raw": obj._raw_token}  # type: ignore[attr-defined]
        return TemplateResponse(request, "api/admin_token_created.html", context)

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(api_token_revoke(token=token) for token in queryset)
        text = ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked) % {"count": revoked}
        self.message_user(request, text, messages.SUCCESS)
