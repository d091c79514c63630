"""An employee and a champion walk their journeys in German, in a real browser, and no
English is left on the pages they see, besides names and course titles.

"English left" is found two ways on each page: a line of visible text (or a label, title,
placeholder or alternative text) that is an English string of the catalogue whose German
differs, which catches a marked string the page did not translate; and common English words
anywhere in the text once the names of people, courses, collections, groups and
organizations are taken out, which catches a string nobody marked."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from champions.models import Attendance, StudyGroup
from programs.models import ApprovalStatus, Course, Employee, Organization
from tests.browser.conftest import PHONE, horizontal_overflow
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory, StudyGroupFactory

pytestmark = pytest.mark.browser

CATALOGUE = Path(settings.BASE_DIR) / "learnhub" / "locale" / "de" / "LC_MESSAGES" / "django.mo"
# Words that are English and not German: one of them on a German page is a string left behind.
# (Words both languages use, such as "in", "Team", "Start", "Name" or "Updates", are not here.)
ENGLISH_WORDS = frozenset(
    """the and you your of to with not yet for is are this that has have who what been more from by on at
    no none people course courses completed complete completion group groups session sessions sign
    out home progress goal nudge save add find search my our their new edit delete back next previous page
    be can how when where why all join joined leave started enrolled attended update stories story week
    weeks day days today left since last never until about members member place places organization
    collection collections target share shared""".split()  # noqa: SIM905 (a paragraph reads better)
)
PHRASES_KEPT = ("All-Hands", "All Hands", "LearnHub", "Learning Champion")  # product names kept in German


def english_strings() -> set[str]:
    """The catalogue's English strings whose German differs, without placeholders, and that
    are not German too (English "Start" is "Beginn", German "Start" is English "Home")."""
    with CATALOGUE.open("rb") as file:
        catalogue = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]
    found = set()
    for key, german in catalogue.items():
        english = key[0] if isinstance(key, tuple) else key
        english = english.split("\x04")[-1]  # a msgctxt comes first, before \x04
        if english and german != english and "%" not in english and re.search(r"[a-z]{3}", english):
            found.add(english)
    return found - set(catalogue.values())


def names() -> list[str]:
    """What is allowed to stay as it is: names of people, courses, groups, organizations."""
    found = [*PHRASES_KEPT]
    found += [name for person in Employee.objects.all() for name in (person.full_name, person.email)]
    found += [name for course in Course.objects.all() for name in (course.title, course.partner)]
    found += list(StudyGroup.objects.values_list("name", flat=True))
    found += list(Organization.objects.values_list("name", flat=True))
    found += [
        "Engineering path",
        "Machine learning for our products",
        "Learning Program 2026",
        "Week 1: regression",
        "Room 4",
    ]
    return sorted({name for name in found if name}, key=len, reverse=True)


SEEN_TEXT = """() => {
  const texts = [document.title, document.body.innerText];
  for (const element of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = element.getAttribute(name);
      if (value) texts.push(value);
    }
  }
  for (const option of document.querySelectorAll("option")) texts.push(option.textContent);
  return texts.join("\\n");
}"""


def english_left(page) -> list[str]:
    """The lines of the page that still speak English (see the module docstring)."""
    assert page.locator("html").get_attribute("lang") == "de"
    left = []
    known, allowed = english_strings(), names()
    for line in page.evaluate(SEEN_TEXT).splitlines():
        line = line.strip()
        if line in known:
            left.append(line)
            continue
        rest = re.sub(r"https?://\S+", " ", line)  # addresses are not words
        for name in allowed:
            rest = rest.replace(name, " ")
        words = {word.lower() for word in re.findall(r"[A-Za-zÄÖÜäöüß']+", rest)}
        if words & ENGLISH_WORDS:
            left.append(line)
    return left


def check(page) -> None:
    """No English on the page, and it reads on a phone without scrolling sideways."""
    assert english_left(page) == [], page.url
    page.set_viewport_size(PHONE)
    assert horizontal_overflow(page) == 0, page.url
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.fixture
def eng_collection(personas):
    collection = CollectionFactory(
        program=personas.program,
        organization=personas.engineering,
        name="Engineering path",
        needs="Machine learning for our products",
        approval_status=ApprovalStatus.APPROVED,
    )
    for position, (title, partner) in enumerate(
        [("Python for Everybody", "University of Michigan"), ("Machine Learning", "Stanford")], start=1
    ):
        course = CourseFactory(title=title, partner=partner, url=f"https://courses.example/{position}")
        CollectionItemFactory(collection=collection, course=course, position=position)
    return collection


def test_an_employee_chooses_german_and_walks_their_pages(page, personas, eng_collection, sign_in):
    group = StudyGroupFactory(
        program=personas.program, organization=personas.engineering, name="ML circle", is_open=True, capacity=6
    )
    sign_in(page, personas.employee)  # the browser asks for English
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_label("Language").select_option("de")
    with page.expect_navigation():
        page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    personas.employee.refresh_from_db()
    assert personas.employee.language == "de"
    check(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Alle Kurssammlungen durchsuchen").click()
    page.get_by_label("Nach Titel oder Partner suchen").fill("stanford")
    with page.expect_navigation():
        page.get_by_role("button", name="Suchen").click()
    assert page.locator("main h3").all_inner_texts() == ["Engineering path"]
    check(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Lerngruppen").first.click()
    check(page)
    page.goto(f"/champions/groups/{group.pk}/")
    check(page)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()  # join
    assert group.memberships.filter(employee=personas.employee).exists()
    check(page)

    for address in ["/champions/updates/", "/champions/stories/mine/", "/reports/"]:
        page.goto(address)
        check(page)


def test_a_champion_who_chose_german_runs_a_study_group(page, personas, eng_collection, sign_in):
    # Bob too chose German: the nudge preview shows the e-mail in its recipient's language.
    Employee.objects.filter(pk__in=[personas.champion.pk, personas.employee.pk]).update(language="de")
    sign_in(page, personas.champion)  # the browser asks for English; the saved choice wins
    expect(page.locator("html")).to_have_attribute("lang", "de")
    check(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Lerngruppen").first.click()
    check(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Neue Lerngruppe").click()
    check(page)
    page.get_by_label("Name").fill("ML circle")
    page.get_by_label("Kurssammlung").select_option(label="Engineering path")
    page.get_by_label("Ort").fill("Room 4")
    page.get_by_label("Plätze").fill("6")
    with page.expect_navigation():
        page.get_by_role("button", name="Gruppe speichern").click()
    assert page.locator("h1").inner_text() == "ML circle"
    check(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Termin hinzufügen").click()
    page.get_by_label("Beginn").fill("2026-12-10T18:00")
    page.get_by_label("Ende").fill("2026-12-10T19:30")
    page.get_by_label("Thema").fill("Week 1: regression")
    with page.expect_navigation():
        page.get_by_role("button", name="Termin speichern").click()
    assert "Week 1: regression" in page.locator("table").inner_text()
    check(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Anwesenheit").click()
    page.get_by_label("Weitere Person in Engineering finden").fill("bob")
    with page.expect_navigation():
        page.get_by_role("button", name="Finden").click()
    page.get_by_label("Bob Builder").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Anwesenheit speichern").click()
    assert list(Attendance.objects.values_list("employee__email", flat=True)) == ["bob@acme.example"]
    check(page)

    page.goto(f"/champions/not-yet/{personas.engineering.pk}/")
    check(page)
    page.goto(f"/champions/not-yet/{personas.engineering.pk}/preview/{personas.employee.pk}/")
    check(page)
    page.goto("/champions/updates/new/")
    check(page)
