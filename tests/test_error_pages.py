"""The 403 and 404 pages use the site's layout (navigation, sign-out) and say what the
person can do instead; the API keeps its JSON error bodies. With DEBUG off, as in
production (Django's test client runs with DEBUG False; the test sets it anyway)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def test_a_refused_page_says_why_and_what_to_do_instead(personas):
    response = personas.client_for(personas.employee).get("/manage/")
    page = response.content.decode()

    assert response.status_code == 403
    assert "<title>Not for you · LearnHub</title>" in page
    assert '<nav class="main-nav" aria-label="Main">' in page  # the site layout, signed in
    assert "This page is for L&amp;D admins. Nothing was changed." in page
    assert '<a href="/">Go to your home</a>' in page
    assert '<a href="/reports/">See the company\'s progress</a>' in page
    assert "Ask an L&amp;D admin to give you the role" in page
    assert "L&amp;D admin home" not in page


def test_a_missing_page_says_so_and_offers_the_way_home(personas):
    response = personas.client_for(personas.admin).get("/no-such-page/<script>")
    page = response.content.decode()

    assert response.status_code == 404
    assert "<title>Not found · LearnHub</title>" in page
    assert "There is nothing at this address" in page
    assert "<code>/no-such-page/%3Cscript%3E</code>" in page
    assert '<a href="/manage/">Go to the L&amp;D admin home</a>' in page
    assert '<nav class="main-nav" aria-label="Main">' in page


def test_a_missing_object_is_the_same_page(personas):
    response = personas.client_for(personas.admin).get("/manage/programs/999999/")

    assert response.status_code == 404
    assert "There is nothing at this address" in response.content.decode()


def test_signed_out_visitors_are_offered_to_sign_in(client):
    response = client.get("/nothing-here/")
    page = response.content.decode()

    assert response.status_code == 404
    assert '<a href="/accounts/login/?next=/nothing-here/">Sign in</a>' in page
    assert 'class="main-nav"' not in page


def test_the_api_keeps_its_json_errors(personas):
    client = personas.client_for(personas.employee)

    assert client.get("/api/v1/nothing/").json() == {"detail": "Not found.", "errors": []}
