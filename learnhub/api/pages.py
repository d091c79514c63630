"""/api/tokens/: L&D admins create and revoke API tokens. A new token is shown once, in the
response to the form that created it; only its hash is stored."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from learnhub.api.forms import ApiTokenForm
from learnhub.api.services import api_token_create, api_token_revoke
from learnhub.roles import ld_admin_required
from programs.models import ApiToken


@never_cache
@ld_admin_required
def tokens(request: HttpRequest) -> HttpResponse:
    created: tuple[ApiToken, str] | None = None
    form = ApiTokenForm(request.POST) if request.method == "POST" else ApiTokenForm()
    if request.method == "POST" and form.is_valid():
        try:
            created = api_token_create(created_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.select_related("created_by").order_by("revoked_at", "-created_at", "-id"),
    }
    return render(request, "api/tokens.html", context)


@require_POST
@ld_admin_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if api_token_revoke(token=token):
        messages.success(
            request,
            _("Token “%(name)s” (%(prefix)s) is revoked: it no longer works.")
            % {"name": token.name, "prefix": token.prefix},
        )
    else:
        messages.info(request, _("Token “%(name)s” was already revoked.") % {"name": token.name})
    return redirect("api:tokens")
