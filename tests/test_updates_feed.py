"""The updates feed (issue 14): the company's and each organization's, newest first,
paged, read by everyone signed in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from champions.models import ProgressUpdate
from champions.views.updates import UPDATES_PAGE_SIZE
from tests.factories import ProgramFactory, org

pytestmark = pytest.mark.django_db


def post(personas, organization, title: str, minutes_ago: int) -> ProgressUpdate:
    update = ProgressUpdate.objects.create(
        program=personas.program, organization=organization, author=personas.champion, title=title, body="<b>b</b>"
    )
    ProgressUpdate.objects.filter(pk=update.pk).update(created_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return update


def titles(response) -> list[str]:
    return [u.title for u in response.context["page"].object_list]


def test_company_feed_is_every_update_newest_first(personas):
    post(personas, personas.engineering, "Eng", 3)
    post(personas, None, "Company", 1)
    post(personas, personas.sales, "Sales", 2)
    ProgressUpdate.objects.create(program=ProgramFactory(name="Other"), title="Other program", body="b")

    response = personas.client_for(personas.outsider).get("/champions/updates/")

    assert response.status_code == 200
    assert titles(response) == ["Company", "Sales", "Eng"]
    html = response.content.decode()
    assert "&lt;b&gt;b&lt;/b&gt;" in html
    assert "<b>b</b>" not in html


def test_organization_feed_holds_its_teams_and_not_its_neighbours(personas):
    platform = org("Acme/Engineering/Platform")
    post(personas, personas.engineering, "Eng", 3)
    post(personas, platform, "Platform", 1)
    post(personas, personas.sales, "Sales", 2)
    post(personas, None, "Company", 0)

    response = personas.client_for(personas.employee).get(f"/champions/updates/org/{personas.engineering.pk}/")

    assert titles(response) == ["Platform", "Eng"]
    assert "Updates of Acme/Engineering" in response.content.decode()


def test_the_feed_is_paged_with_constant_queries(personas, django_assert_num_queries):
    for i in range(UPDATES_PAGE_SIZE + 3):
        post(personas, personas.engineering, f"U{i:02d}", i)
    client = personas.client_for(personas.employee)
    client.get("/champions/updates/")  # warm the session

    first = client.get("/champions/updates/")
    assert titles(first) == [f"U{i:02d}" for i in range(UPDATES_PAGE_SIZE)]
    assert "Page 1 of 2 (23 in all)" in first.content.decode()
    second = client.get("/champions/updates/?page=2")
    assert titles(second) == ["U20", "U21", "U22"]
    with django_assert_num_queries(10):
        client.get("/champions/updates/")
    post(personas, personas.sales, "One more", 0)
    with django_assert_num_queries(10):
        client.get("/champions/updates/")


def test_anonymous_is_sent_to_sign_in_and_an_unknown_org_is_404(personas):
    assert Client().get("/champions/updates/").status_code == 302
    assert personas.client_for(personas.employee).get("/champions/updates/org/999999/").status_code == 404
