"""One-click unsubscribe: a signed link that works without signing in, GET only shows a
confirmation (mail scanners follow links), POST and RFC 8058 one-click POST unsubscribe at
once, a bad signature is refused and changes nothing, and a link older than
UNSUBSCRIBE_LINK_MAX_AGE_DAYS gets a page that says so (and still works the day before)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import signing
from django.urls import reverse

from reports.messaging.digests import digests_send
from reports.messaging.nudges import nudge_employees
from reports.messaging.unsubscribe import UNSUBSCRIBE_SALT, unsubscribe_token
from reports.models import SentMessage, Unsubscribe

pytestmark = pytest.mark.django_db

NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)
MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"


def link_from(mail) -> str:
    header = mail.extra_headers["List-Unsubscribe"]
    return header.removeprefix("<https://learnhub.example").removesuffix(">")


def test_the_link_in_a_nudge_asks_first_then_unsubscribes_at_once_without_sign_in(personas, mailoutbox, client):
    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)
    url = link_from(mailoutbox[0])

    confirm = client.get(url)

    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Stop Nudge e-mails to <strong>bob@acme.example</strong>" in page
    assert '<form method="post"' in page
    assert Unsubscribe.objects.count() == 0  # GET changes nothing

    done = client.post(url)

    assert done.status_code == 200
    assert "will get no more Nudge e-mails" in done.content.decode()
    assert list(Unsubscribe.objects.values_list("employee__email", "kind")) == [("bob@acme.example", "nudge")]
    # Honoured at once: the next nudge (next interval) skips Bob.
    mailoutbox.clear()
    later = nudge_employees(
        program=personas.program, employees=[personas.employee], now=NUDGE_TIME + dt.timedelta(days=30)
    )
    assert (later.sent, later.unsubscribed, mailoutbox) == ([], [personas.employee.pk], [])


def test_rfc8058_one_click_post_unsubscribes_at_once(personas, mailoutbox, client):
    digests_send(program=personas.program, now=MONDAY)
    to_sponsor = next(m for m in mailoutbox if m.to == ["sam@acme.example"])

    response = client.post(link_from(to_sponsor), {"List-Unsubscribe": "One-Click"})

    assert (response.status_code, response.content) == (200, b"Unsubscribed.\n")
    assert list(Unsubscribe.objects.values_list("employee__email", "kind")) == [("sam@acme.example", "digest")]
    mailoutbox.clear()
    digests_send(program=personas.program, now=MONDAY + dt.timedelta(days=7))
    assert sorted(m.to[0] for m in mailoutbox) == ["chris@acme.example"]


def test_unsubscribing_from_one_kind_keeps_the_others_and_all_stops_everything(personas, mailoutbox, client):
    client.post(reverse("reports:unsubscribe", args=[unsubscribe_token(employee=personas.champion, kind="nudge")]))

    digests_send(program=personas.program, now=MONDAY)
    assert "chris@acme.example" in [m.to[0] for m in mailoutbox]

    client.post(reverse("reports:unsubscribe", args=[unsubscribe_token(employee=personas.champion, kind="all")]))
    mailoutbox.clear()
    digests_send(program=personas.program, now=MONDAY + dt.timedelta(days=7))
    assert [m.to[0] for m in mailoutbox] == ["sam@acme.example"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        signing.dumps({"e": 1, "k": "nudge"}, salt="another-salt"),
        signing.dumps({"e": 1, "k": "everything-else"}, salt=UNSUBSCRIBE_SALT),
    ],
    # Fixed ids: a signed value holds the time it was made, and every xdist worker collects
    # the same test ids (or the run stops).
    ids=["not-a-token", "another-salt", "unknown-kind"],
)
def test_a_bad_signature_is_refused_and_changes_nothing(personas, client, token):
    for method in (client.get, client.post):
        response = method(reverse("reports:unsubscribe", args=[token]))
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert Unsubscribe.objects.count() == 0


def test_a_tampered_token_for_someone_else_is_refused(personas, client):
    good = unsubscribe_token(employee=personas.employee, kind="nudge")
    _payload, signature = good.rsplit(":", 1)
    forged = signing.dumps({"e": personas.outsider.pk, "k": "nudge"}, salt=UNSUBSCRIBE_SALT).rsplit(":", 1)[0]

    response = client.post(reverse("reports:unsubscribe", args=[f"{forged}:{signature}"]))

    assert response.status_code == 400
    assert Unsubscribe.objects.count() == 0 and SentMessage.objects.count() == 0


def test_clicking_twice_keeps_one_row(personas, client):
    url = reverse("reports:unsubscribe", args=[unsubscribe_token(employee=personas.employee, kind="all")])
    client.post(url)
    client.post(url, {"List-Unsubscribe": "One-Click"})
    assert Unsubscribe.objects.count() == 1


class SignedDaysAgo(signing.TimestampSigner):
    """The unsubscribe signer with its clock `days` back: the link of an e-mail sent then."""

    def __init__(self, days: int) -> None:
        super().__init__(salt=UNSUBSCRIBE_SALT)
        self.days = days

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - self.days * 24 * 3600)


def old_link(employee, days: int, kind: str = "nudge") -> str:
    return reverse(
        "reports:unsubscribe", args=[unsubscribe_token(employee=employee, kind=kind, signer=SignedDaysAgo(days))]
    )


def test_a_link_of_364_days_still_works(personas, client, settings):
    assert settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS == 365
    url = old_link(personas.employee, 364)

    assert client.get(url).status_code == 200
    done = client.post(url)

    assert done.status_code == 200
    assert list(Unsubscribe.objects.values_list("employee__email", "kind")) == [("bob@acme.example", "nudge")]


def test_an_expired_link_gets_a_clear_page_and_changes_nothing(personas, client):
    url = old_link(personas.employee, 366)

    pages = [client.get(url), client.post(url)]
    one_click = client.post(url, {"List-Unsubscribe": "One-Click"})

    for page in pages:
        assert page.status_code == 410
        text = page.content.decode()
        assert "This unsubscribe link has expired" in text
        assert "Unsubscribe links work for 365 days after their e-mail was sent" in text
        assert 'href="/accounts/login/"' in text and "ask your L&amp;D team" in text
        assert "bob@acme.example" not in text  # an old link reveals nothing about its person
    assert (one_click.status_code, one_click.content) == (410, b"This unsubscribe link has expired.\n")
    assert Unsubscribe.objects.count() == 0


def test_the_link_lifetime_comes_from_the_settings(personas, client, settings):
    settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS = 30

    assert client.get(old_link(personas.employee, 29)).status_code == 200
    assert client.get(old_link(personas.employee, 31)).status_code == 410


def test_an_old_forged_link_is_not_valid_rather_than_expired(personas, client):
    genuine = unsubscribe_token(employee=personas.employee, kind="nudge", signer=SignedDaysAgo(400))
    forged = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")

    response = client.post(reverse("reports:unsubscribe", args=[forged]))

    assert response.status_code == 400 and "This link is not valid" in response.content.decode()
    assert Unsubscribe.objects.count() == 0
