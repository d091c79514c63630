"""The people-side pages cost a fixed number of queries whatever the size of the company:
the employee home, the collections and study-group pages, the champion's "not yet
completed" list and network, and the sponsor's page, each at two sizes (`grow` from the
dashboard tests: size 10 holds ten times the organizations and a hundred times the people
of size 1)."""

from __future__ import annotations

import pytest

from tests.factories import StudySessionFactory
from tests.test_dashboards import grow

pytestmark = pytest.mark.django_db

# Each page: session, user and the navigation (the current program, permissions in one
# query, the sponsor's and champion's organizations) first, then its own reads.
# Today's numbers are the kept figures (reports.kept; the warm-up request keeps them): the
# home reads the kept counts (one query instead of the engine's four) and whether the
# person manages anyone (the link to their team's page), the network and
# sponsor pages the kept counts, projection and sponsors (three instead of four); the
# not-yet list checks that the kept people are fresh, then reads them ranked (one query:
# each person's columns from their own rows), the kept counts, projection and sponsors (the
# headline's people still needed), whether the viewer may preview messages and the teams
# of the filter. The sponsor page reads its collections' review history in one more query.
QUERIES = {
    "home": 24,
    "collections": 13,
    "groups": 13,
    "not-yet": 17,
    "network": 19,
    "sponsor": 16,
}


@pytest.mark.parametrize("size", [1, 10])
@pytest.mark.parametrize("page", sorted(QUERIES))
def test_a_page_costs_the_same_queries_at_any_size(personas, django_assert_num_queries, size, page):
    grow(personas, size)
    for group in personas.program.study_groups.all():
        StudySessionFactory(group=group)
    who = {"not-yet": personas.champion, "network": personas.champion, "sponsor": personas.sponsor}.get(
        page, personas.employee
    )
    client = personas.client_for(who)
    url = {
        "home": "/",
        "collections": "/champions/collections/",
        "groups": "/champions/groups/",
        "not-yet": f"/champions/not-yet/{personas.engineering.pk}/",
        "network": "/champions/network/",
        "sponsor": "/champions/sponsor/",
    }[page]
    client.get(url)  # warm the per-process caches (content types, permissions of the session)

    with django_assert_num_queries(QUERIES[page]):
        response = client.get(url)

    assert response.status_code == 200
