"""Which language a page speaks (learnhub.language): the browser's (Accept-Language), the
footer's choice (a cookie, and for a signed-in person their saved language, which wins over
the browser's and is the language of their e-mails); `<html lang>` follows it; dates, rates
and numbers use the language's formats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation

from programs.languages import employee_language_set
from programs.models import Employee
from programs.templatetags.formats import percent, signed_points, target
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db


def html_lang(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_browser_language_chooses_the_page_language(client):
    english = client.get("/accounts/login/")
    german = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")

    assert (html_lang(english), english["Content-Language"]) == ("en", "en")
    assert (html_lang(german), german["Content-Language"]) == ("de", "de")
    assert '<label for="language-choice">Sprache</label>' in german.content.decode()
    assert '<option value="de" lang="de" selected>Deutsch</option>' in german.content.decode()


def test_a_person_s_saved_language_wins_over_the_browser(client):
    person = EmployeeFactory(language="de")
    client.force_login(person)

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert (html_lang(response), response["Content-Language"]) == ("de", "de")


def test_the_sign_in_message_is_in_the_person_s_saved_language(client):
    greta = EmployeeFactory(email="greta@acme.example", full_name="Greta Gruber", language="de")
    EmailAddress.objects.create(user=greta, email=greta.email, primary=True, verified=True)

    response = client.post(
        "/accounts/login/",
        {"login": "greta@acme.example", "password": "correct-horse-battery-staple"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == ["Erfolgreich als Greta Gruber angemeldet."]
    assert html_lang(response) == "de"


def test_choosing_a_language_saves_it_for_the_person_and_the_browser(client):
    person = EmployeeFactory()
    client.force_login(person)

    response = client.post("/language/", {"language": "de", "next": "/reports/"})

    assert (response.status_code, response["Location"]) == (302, "/reports/")
    assert response.cookies["django_language"].value == "de"
    person.refresh_from_db()
    assert (person.language, person.message_language) == ("de", "de")
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="en")) == "de"


def test_a_visitor_s_choice_is_a_cookie_only(client):
    response = client.post("/language/", {"language": "de", "next": "/accounts/login/"})

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert html_lang(client.get("/accounts/login/")) == "de"
    assert list(Employee.objects.exclude(language="").values_list("email", flat=True)) == []


def test_an_unknown_language_or_a_foreign_next_changes_nothing(client):
    person = EmployeeFactory()
    client.force_login(person)

    unknown = client.post("/language/", {"language": "xx", "next": "/reports/"})
    foreign = client.post("/language/", {"language": "de", "next": "https://evil.example/"})

    assert (unknown.status_code, unknown["Location"]) == (302, "/reports/")
    assert "django_language" not in unknown.cookies
    assert (foreign.status_code, foreign["Location"]) == (302, "/")  # never off the site
    person.refresh_from_db()
    assert person.language == "de"  # the second post's language, saved; the first one's refused


def test_the_language_form_is_post_only(client):
    assert client.get("/language/?language=de").status_code == 405


def test_a_language_learnhub_does_not_speak_is_refused_and_nothing_changes():
    person = EmployeeFactory(language="de")

    with pytest.raises(ValidationError, match=r"xx is not a language LearnHub speaks\."):
        employee_language_set(employee=person, language="xx")

    person.refresh_from_db()
    assert person.language == "de"


@override_settings(LANGUAGE_CODE="de")
def test_e_mails_use_the_company_default_for_someone_who_chose_none():
    assert EmployeeFactory.build(language="").message_language == "de"
    assert EmployeeFactory.build(language="en").message_language == "en"


def test_dates_rates_and_numbers_follow_the_language():
    from django.template import engines

    page = engines["django"].from_string(
        '{% load formats %}{{ day|date:"SHORT_DATE_FORMAT" }} / {{ day|date:"DATE_FORMAT" }} / '
        '{{ moment|date:"DATETIME_FORMAT" }} / {{ rate|percent:1 }} / {{ goal|target }} / {{ 1234.5 }}'
    )
    context = {"day": dt.date(2026, 12, 4), "moment": dt.datetime(2026, 12, 4, 16, 30, tzinfo=dt.UTC), "rate": 0.8567}
    context["goal"] = Decimal("0.875")
    with translation.override("en"):
        english = (page.render(context), signed_points(0.031), percent(0.5), target(Decimal("0.9")))
    with translation.override("de"):
        german = (page.render(context), signed_points(0.031), percent(0.5), target(Decimal("0.9")))

    assert english == (
        "4 Dec 2026 / 4 December 2026 / Fri 4 Dec 2026, 16:30 / 85.7% / 87.5% / 1234.5",
        "+3.1 pts",
        "50%",
        "90%",
    )
    assert german == (
        "04.12.2026 / 4. Dezember 2026 / Fr, 4. Dez 2026, 16:30 / 85,7\u00a0% / 87,5\u00a0% / 1234,5",
        "+3,1 Pkt.",
        "50\u00a0%",
        "90\u00a0%",
    )
