"""Communication pages: the L&D admins' message log and settings, and the public
one-click unsubscribe. Each view checks access (learnhub/roles.py; the unsubscribe link's
signature is its own credential), validates input, calls one function of
reports/messaging/ and renders."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from learnhub.roles import ld_admin_required
from programs.models import LearningProgram
from reports.forms import MessageFilterForm, MessageSettingsForm, OrgWebhookForm
from reports.messaging.delivery import in_recipient_language
from reports.messaging.settings import message_settings_update, org_webhook_set, sent_messages
from reports.messaging.unsubscribe import UnsubscribeLinkExpiredError, unsubscribe_apply, unsubscribe_read
from reports.messaging.webhooks import WebhookUrlError, mask_url
from reports.models import MessageSettings, OrgWebhook

MESSAGES_PER_PAGE = 50


@ld_admin_required
def messages_log(request: HttpRequest) -> HttpResponse:
    """What was sent, to whom, when, and what failed; filter by kind and status."""
    form = MessageFilterForm(request.GET or None)
    kind = status = ""
    if form.is_bound and form.is_valid():
        kind, status = form.cleaned_data["kind"], form.cleaned_data["status"]
    page = Paginator(sent_messages(kind=kind, status=status), MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in {"kind": kind, "status": status}.items() if v}
    return render(
        request,
        "reports/messages.html",
        {
            "form": form,
            "page": page,
            "query": urlencode(filters) + "&" if filters else "",
            "programs": LearningProgram.objects.order_by("-starts_on", "name"),
        },
    )


@ld_admin_required
@require_http_methods(["GET", "POST"])
def message_settings(request: HttpRequest, program_id: int) -> HttpResponse:
    """Which messages the program sends and when, escalation thresholds, webhooks (URLs
    write-only: shown masked, kept when the input is left empty)."""
    program = get_object_or_404(LearningProgram, pk=program_id)
    # A GET never writes: show the defaults until the first save creates the row.
    current = MessageSettings.objects.filter(program=program).first() or MessageSettings(program=program)
    settings_form = MessageSettingsForm(instance=current)
    webhook_form = OrgWebhookForm()
    if request.method == "POST" and request.POST.get("form") == "webhook":
        webhook_form = OrgWebhookForm(request.POST)
        if webhook_form.is_valid():
            data = webhook_form.cleaned_data
            try:
                org_webhook_set(
                    program=program,
                    organization=data["organization"],
                    kind=data["kind"],
                    url=data["url"] or "",
                    remove=data["remove"],
                )
            except ValueError as exc:
                webhook_form.add_error("url", str(exc))
            else:
                messages.success(
                    request, _("Webhook of %(organization)s saved.") % {"organization": data["organization"]}
                )
                return redirect("reports:message_settings", program_id=program.pk)
    elif request.method == "POST":
        settings_form = MessageSettingsForm(request.POST, instance=current)
        if settings_form.is_valid():
            data = settings_form.cleaned_data
            try:
                message_settings_update(
                    program=program,
                    values=data,
                    company_webhook_url=data["company_webhook_url"] or "",
                    remove_company_webhook=data["remove_company_webhook"],
                )
            except WebhookUrlError as exc:  # the host's DNS answer changed since the form's check
                settings_form.add_error("company_webhook_url", str(exc))
            else:
                messages.success(request, _("Message settings saved."))
                return redirect("reports:message_settings", program_id=program.pk)
    hooks = [
        {
            "organization": h.organization,
            "kind": h.get_kind_display(),
            "url": mask_url(h.url),
            "active": h.is_active,
            "connected_at": h.connected_at,
        }
        for h in OrgWebhook.objects.filter(program=program).select_related("organization")
    ]
    return render(
        request,
        "reports/message_settings.html",
        {
            "program": program,
            "settings_form": settings_form,
            "webhook_form": webhook_form,
            "hooks": hooks,
            "company_webhook": mask_url(current.company_webhook_url),
            "company_webhook_connected_at": current.company_webhook_connected_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@csrf_exempt  # the signed token is the credential; mail clients POST without a CSRF cookie (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirmation page with a button (mail scanners follow GET links, so GET
    changes nothing). POST (the button, or RFC 8058 one-click with
    List-Unsubscribe=One-Click): unsubscribed at once. A bad signature is refused (400);
    a genuine link older than UNSUBSCRIBE_LINK_MAX_AGE_DAYS is gone (410) and changes
    nothing: the page says what to do instead."""
    one_click = request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"
    try:
        found = unsubscribe_read(token=token)
    except UnsubscribeLinkExpiredError:
        if one_click:
            return HttpResponse(_("This unsubscribe link has expired.") + "\n", content_type="text/plain", status=410)
        context = {"expired": True, "max_age_days": settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS}
        return render(request, "reports/unsubscribe.html", context, status=410)
    if found is None:
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=400)
    with in_recipient_language(found.employee):  # the language of the e-mails the link came in
        if request.method == "POST":
            unsubscribe_apply(request=found)
            if one_click:
                return HttpResponse(_("Unsubscribed.") + "\n", content_type="text/plain")
            return render(request, "reports/unsubscribe.html", {"done": True, "found": found})
        return render(request, "reports/unsubscribe.html", {"found": found, "token": token})
