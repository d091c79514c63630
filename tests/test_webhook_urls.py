"""Webhook URLs are https to a public host: refused when saved (the settings page, the
services, the Django admin) with a message that says why, and nothing is saved. Local
addresses in every spelling are refused; WEBHOOK_ALLOW_PRIVATE_URLS allows them for
development. (Checks at post time: tests/test_webhooks.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.messaging.settings import message_settings_update, org_webhook_set
from reports.messaging.webhooks import WebhookUrlError, webhook_url_check
from reports.models import MessageSettings, OrgWebhook

pytestmark = pytest.mark.django_db

PRIVATE = "is a private, local or reserved address: webhooks are only posted to public hosts."
NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _public_only(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://hooks.slack.com/services/T/B/x",
            "Use an https:// address: a webhook post carries your organization's progress.",
        ),
        ("ftp://hooks.slack.com/x", "Use an https:// address: a webhook post carries your organization's progress."),
        ("https:///services/x", "Enter the full webhook address, e.g. https://hooks.slack.com/services/…"),
        ("https://hooks.slack.com:99999/x", "This address has an invalid port."),
        ("https://127.0.0.1/hook", f"127.0.0.1 {PRIVATE}"),
        ("https://127.8.9.10/hook", f"127.8.9.10 {PRIVATE}"),
        ("https://10.0.0.8/hook", f"10.0.0.8 {PRIVATE}"),
        ("https://172.16.5.4/hook", f"172.16.5.4 {PRIVATE}"),
        ("https://192.168.1.20/hook", f"192.168.1.20 {PRIVATE}"),
        ("https://169.254.169.254/latest/meta-data/", f"169.254.169.254 {PRIVATE}"),
        ("https://100.64.0.1/hook", f"100.64.0.1 {PRIVATE}"),  # shared address space (carrier NAT)
        ("https://0.0.0.0/hook", f"0.0.0.0 {PRIVATE}"),
        ("https://224.0.0.251/hook", f"224.0.0.251 {PRIVATE}"),  # multicast
        ("https://240.0.0.1/hook", f"240.0.0.1 {PRIVATE}"),  # reserved
        ("https://255.255.255.255/hook", f"255.255.255.255 {PRIVATE}"),
        ("https://192.0.2.10/hook", f"192.0.2.10 {PRIVATE}"),  # documentation
        ("https://2130706433/hook", f"2130706433 (127.0.0.1) {PRIVATE}"),  # 127.0.0.1 as one number
        ("https://0x7f.1/hook", f"0x7f.1 (127.0.0.1) {PRIVATE}"),
        ("https://[::1]/hook", f"::1 {PRIVATE}"),
        ("https://[::]/hook", f":: {PRIVATE}"),
        ("https://[fe80::1]/hook", f"fe80::1 {PRIVATE}"),
        ("https://[fd12:3456::1]/hook", f"fd12:3456::1 {PRIVATE}"),
        ("https://[ff02::1]/hook", f"ff02::1 {PRIVATE}"),
        ("https://[::ffff:127.0.0.1]/hook", f"::ffff:127.0.0.1 {PRIVATE}"),
        ("https://[::ffff:8.8.8.8]/hook", f"::ffff:8.8.8.8 {PRIVATE}"),  # any IPv4-mapped address
        ("https://[2002:a00:1::]/hook", f"2002:a00:1:: {PRIVATE}"),  # 6to4 of 10.0.0.1
        ("https://[64:ff9b::a00:1]/hook", f"64:ff9b::a00:1 {PRIVATE}"),  # NAT64 of 10.0.0.1
        ("https://[2001:db8::1]/hook", f"2001:db8::1 {PRIVATE}"),
    ],
)
def test_the_services_refuse_a_url_that_is_not_https_to_a_public_host_and_save_nothing(personas, url, message):
    with pytest.raises(WebhookUrlError) as org_refused:
        org_webhook_set(program=personas.program, organization=personas.sales, kind="slack", url=url)
    with pytest.raises(WebhookUrlError) as company_refused:
        message_settings_update(program=personas.program, values={}, company_webhook_url=url)

    assert (str(org_refused.value), str(company_refused.value)) == (message, message)
    assert (OrgWebhook.objects.count(), MessageSettings.objects.count()) == (0, 0)


def test_localhost_by_name_is_refused_too():
    with pytest.raises(WebhookUrlError) as refused:
        webhook_url_check("https://localhost:8443/hook")
    assert str(refused.value).startswith("localhost (") and str(refused.value).endswith(PRIVATE)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/secret",  # public, or not resolvable here: checked again at each post
        "https://93.184.215.14/webhook",
        "https://[2606:4700::1111]/webhook",
    ],
)
def test_https_to_a_public_host_is_saved(personas, url):
    hook = org_webhook_set(program=personas.program, organization=personas.sales, kind="slack", url=url, now=NOW)
    row = message_settings_update(program=personas.program, values={}, company_webhook_url=url, now=NOW)

    assert hook is not None
    assert (hook.url, hook.connected_at, row.company_webhook_url, row.company_webhook_connected_at) == (
        url,
        NOW,
        url,
        NOW,
    )


def test_the_development_switch_allows_http_and_local_hosts(personas, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

    hook = org_webhook_set(
        program=personas.program, organization=personas.sales, kind="slack", url="http://127.0.0.1:9/h"
    )

    assert hook is not None and hook.url == "http://127.0.0.1:9/h"


def test_the_settings_page_says_why_a_url_is_refused_and_saves_nothing(personas):
    client = personas.client_for(personas.admin)
    url = reverse("reports:message_settings", args=[personas.program.pk])

    hook = client.post(
        url, {"form": "webhook", "organization": personas.sales.pk, "kind": "slack", "url": "https://10.0.0.8/hook"}
    )
    company = client.post(
        url,
        {
            "form": "settings",
            "nudge_interval_days": "14",
            "escalate_after_nudges": "3",
            "escalate_after_weeks_behind": "3",
            "digest_weekday": "0",
            "digest_hour": "9",
            "nudge_hour": "10",
            "leaderboard_hour": "9",
            "company_webhook_kind": "slack",
            "company_webhook_url": "http://hooks.slack.com/services/T/B/x",
        },
    )

    assert hook.status_code == 400
    assert f"10.0.0.8 {PRIVATE}" in hook.content.decode()
    assert company.status_code == 400
    assert "Use an https:// address: a webhook post carries your organization&#x27;s progress." in (
        company.content.decode()
    )
    assert (OrgWebhook.objects.count(), MessageSettings.objects.count()) == (0, 0)


def test_the_django_admin_refuses_a_private_url_and_keeps_the_stored_one(personas):
    hook = OrgWebhook.objects.create(
        program=personas.program, organization=personas.sales, url="https://hooks.slack.com/services/T/B/KEPT"
    )
    client = personas.client_for(personas.admin)

    response = client.post(
        f"/admin/reports/orgwebhook/{hook.pk}/change/",
        {
            "program": personas.program.pk,
            "organization": personas.sales.pk,
            "kind": "slack",
            "url": "https://169.254.169.254/latest/meta-data/",
            "is_active": "on",
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert f"169.254.169.254 {PRIVATE}" in response.content.decode()
    hook.refresh_from_db()
    assert hook.url == "https://hooks.slack.com/services/T/B/KEPT"


def test_a_url_changed_in_the_django_admin_connects_its_channel_anew(personas):
    before = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    hook = OrgWebhook.objects.create(
        program=personas.program,
        organization=personas.sales,
        url="https://hooks.slack.com/services/T/B/OLD",
        connected_at=before,
    )
    client = personas.client_for(personas.admin)
    form = {"program": personas.program.pk, "organization": personas.sales.pk, "kind": "teams", "is_active": "on"}

    client.post(f"/admin/reports/orgwebhook/{hook.pk}/change/", {**form, "url": ""})  # kept: still connected then
    hook.refresh_from_db()
    assert (hook.kind, hook.url, hook.connected_at) == ("teams", "https://hooks.slack.com/services/T/B/OLD", before)

    started = timezone.now()
    client.post(
        f"/admin/reports/orgwebhook/{hook.pk}/change/", {**form, "url": "https://hooks.slack.com/services/T/B/NEW"}
    )
    hook.refresh_from_db()
    assert hook.url == "https://hooks.slack.com/services/T/B/NEW"
    assert started <= hook.connected_at <= timezone.now()
