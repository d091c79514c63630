"""Clone for next year: one program, collections to be reviewed, appointments as
proposals, and never a duplicate (twice in a row or two at once)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection as default_connection
from django.db import connections
from django.urls import reverse

from champions.models import ExecutiveSponsor, LearningChampion
from champions.program_clone import ProgramAlreadyClonedError, program_clone
from learnhub.roles import is_champion_of, is_sponsor_of
from programs.learning_programs import next_year_date, next_year_name, program_clone_defaults
from programs.models import ApprovalStatus, Collection, LearningProgram, ProgramStatus
from tests.factories import (
    ChampionFactory,
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    EmployeeFactory,
    ProgramFactory,
    SponsorFactory,
    org,
)

CLONE_FORM = {
    "name": "Learning Program 2027",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "target_percent": "92.5",
    "required_completions": "2",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Learning Program 2026", "Learning Program 2027"),
        ("FY2025 learning", "FY2025 learning 2027"),  # "FY2025" is not a year on its own
        ("2025-2026 program", "2025-2027 program"),
        ("Learning program", "Learning program 2027"),
    ],
)
def test_next_year_name_bumps_the_last_year(name, expected):
    assert next_year_name(name, fallback_year=2027) == expected


def test_a_collection_name_without_a_year_is_kept():
    assert next_year_name("Cloud skills", fallback_year=None) == "Cloud skills"


def test_next_year_date_keeps_the_day_and_folds_29_february():
    assert next_year_date(dt.date(2026, 1, 1)) == dt.date(2027, 1, 1)
    assert next_year_date(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


@pytest.mark.django_db
def test_the_clone_form_proposes_next_year(personas):
    response = personas.client_for(personas.admin).get(reverse("manage:program_clone", args=[personas.program.pk]))
    form = response.context["form"]
    assert form["name"].value() == "Learning Program 2027"
    assert form["starts_on"].value() == dt.date(2027, 1, 1)
    assert form["ends_on"].value() == dt.date(2027, 12, 31)
    assert form["target_percent"].value() == Decimal("90")
    assert form["required_completions"].value() == 1
    html = response.content.decode()
    assert 'value="Learning Program 2027"' in html
    assert 'value="2027-01-01"' in html
    assert 'value="90"' in html


def _source_with_content(personas):
    program = personas.program
    cloud = CollectionFactory(program=program, organization=personas.engineering, name="Cloud skills", needs="Cloud")
    cloud.approval_status = ApprovalStatus.APPROVED
    cloud.launch_video_url = "https://video.acme.example/cloud"
    cloud.save()
    kubernetes, terraform, go = (CourseFactory(title=t) for t in ["Kubernetes", "Terraform", "Go"])
    # Positions with gaps: the clone numbers them 1..n in the same order.
    CollectionItemFactory(collection=cloud, course=terraform, position=7)
    CollectionItemFactory(collection=cloud, course=kubernetes, position=2)
    CollectionItemFactory(collection=cloud, course=go, position=9)
    company = CollectionFactory(program=program, organization=None, name="For everyone 2026")
    CollectionItemFactory(collection=company, course=go, position=1)
    return cloud, company, (kubernetes, terraform, go)


@pytest.mark.django_db
def test_cloning_creates_one_draft_program_with_collections_to_review_and_proposed_appointments(personas):
    _, _, (kubernetes, terraform, go) = _source_with_content(personas)
    client = personas.client_for(personas.admin)
    programs_before = LearningProgram.objects.count()

    response = client.post(reverse("manage:program_clone", args=[personas.program.pk]), CLONE_FORM)

    clone = LearningProgram.objects.get(cloned_from=personas.program)
    assert LearningProgram.objects.count() == programs_before + 1
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:program", args=[clone.pk])
    assert (clone.name, clone.starts_on, clone.ends_on) == (
        "Learning Program 2027",
        dt.date(2027, 1, 1),
        dt.date(2027, 12, 31),
    )
    assert (clone.target_rate, clone.required_completions, clone.status) == (Decimal("0.925"), 2, ProgramStatus.DRAFT)

    copies = {c.name: c for c in Collection.objects.filter(program=clone)}
    assert sorted(copies) == ["Cloud skills", "For everyone 2027"]
    cloud = copies["Cloud skills"]
    assert (cloud.organization, cloud.needs, cloud.launch_video_url) == (
        personas.engineering,
        "Cloud",
        "https://video.acme.example/cloud",
    )
    assert cloud.approval_status == ApprovalStatus.DRAFT
    assert list(cloud.items.order_by("position").values_list("position", "course")) == [
        (1, kubernetes.pk),
        (2, terraform.pk),
        (3, go.pk),
    ]
    assert list(copies["For everyone 2027"].items.values_list("position", "course")) == [(1, go.pk)]

    assert list(
        ExecutiveSponsor.objects.filter(program=clone).values_list("organization", "employee", "is_confirmed")
    ) == [(personas.engineering.pk, personas.sponsor.pk, False)]
    assert list(
        LearningChampion.objects.filter(program=clone).values_list("organization", "employee", "is_confirmed")
    ) == [(personas.engineering.pk, personas.champion.pk, False)]
    # A proposal gives no role until confirmed; this year's appointments are untouched.
    assert not is_sponsor_of(personas.sponsor, clone, personas.engineering)
    assert is_sponsor_of(personas.sponsor, personas.program, personas.engineering)

    page = client.get(response["Location"]).content.decode()
    assert "Learning Program 2027" in page
    assert 'data-testid="starts-on">1 Jan 2027<' in page
    assert 'data-testid="ends-on">31 Dec 2027<' in page
    assert "92.5%" in page


@pytest.mark.django_db
def test_cloning_twice_is_refused_and_names_the_existing_clone(personas):
    client = personas.client_for(personas.admin)
    url = reverse("manage:program_clone", args=[personas.program.pk])
    client.post(url, CLONE_FORM)
    clone = LearningProgram.objects.get(cloned_from=personas.program)
    counts = (LearningProgram.objects.count(), Collection.objects.count(), LearningChampion.objects.count())

    response = client.post(url, {**CLONE_FORM, "name": "Learning Program 2027 bis"}, follow=True)

    assert (LearningProgram.objects.count(), Collection.objects.count(), LearningChampion.objects.count()) == counts
    assert response.redirect_chain == [(reverse("manage:program", args=[clone.pk]), 302)]
    assert (
        "This program was already cloned for next year: Learning Program 2027. Nothing was created."
        in response.content.decode()
    )
    assert client.get(url).context["existing"] == clone


@pytest.mark.django_db
def test_a_clone_whose_name_is_taken_is_refused_next_to_the_name_and_creates_nothing(personas):
    ProgramFactory(name="Learning Program 2027")
    before = LearningProgram.objects.count()
    response = personas.client_for(personas.admin).post(
        reverse("manage:program_clone", args=[personas.program.pk]), CLONE_FORM
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["A program named 'Learning Program 2027' already exists."]
    assert LearningProgram.objects.count() == before
    assert not LearningProgram.objects.filter(cloned_from=personas.program).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_clones_yield_one_program():
    source = ProgramFactory(name="Learning Program 2026")
    engineering = org("Acme/Engineering")
    SponsorFactory(program=source, organization=engineering, employee=EmployeeFactory())
    ChampionFactory(program=source, organization=engineering, employee=EmployeeFactory())
    CollectionItemFactory(collection=CollectionFactory(program=source, organization=engineering))
    defaults = program_clone_defaults(program=source)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def clone(name: str) -> None:
        try:
            barrier.wait()
            program_clone(
                program=source,
                cloned_by=None,
                name=name,
                starts_on=defaults.starts_on,
                ends_on=defaults.ends_on,
                target_rate=defaults.target_rate,
                required_completions=1,
            )
            outcomes.append("created")
        except ProgramAlreadyClonedError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clone, args=(name,)) for name in ["Next A", "Next B"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "refused"]
    assert LearningProgram.objects.filter(cloned_from=source).count() == 1
    assert LearningProgram.objects.count() == 2
    clone = LearningProgram.objects.get(cloned_from=source)
    assert Collection.objects.filter(program=clone).count() == 1
    assert ExecutiveSponsor.objects.filter(program=clone).count() == 1
    assert LearningChampion.objects.filter(program=clone).count() == 1
    default_connection.close()


@pytest.mark.django_db
def test_proposals_are_confirmed_or_removed_on_the_appointments_page(personas):
    client = personas.client_for(personas.admin)
    client.post(reverse("manage:program_clone", args=[personas.program.pk]), CLONE_FORM)
    clone = LearningProgram.objects.get(cloned_from=personas.program)
    sponsor = ExecutiveSponsor.objects.get(program=clone)
    champion = LearningChampion.objects.get(program=clone)

    page = client.get(reverse("manage:appointments", args=[clone.pk])).content.decode()
    assert page.count('<span class="badge warn">Proposed</span>') == 2
    assert reverse("manage:appointment_confirm", args=[clone.pk, "sponsor", sponsor.pk]) in page

    client.post(reverse("manage:appointment_confirm", args=[clone.pk, "sponsor", sponsor.pk]))
    client.post(reverse("manage:appointment_remove", args=[clone.pk, "champion", champion.pk]))

    assert ExecutiveSponsor.objects.get(pk=sponsor.pk).is_confirmed is True
    assert is_sponsor_of(personas.sponsor, clone, personas.engineering)
    assert not LearningChampion.objects.filter(program=clone).exists()
    assert not is_champion_of(personas.champion, clone, personas.engineering)
    # This year's appointments are untouched.
    assert LearningChampion.objects.filter(program=personas.program, is_confirmed=True).count() == 1


@pytest.mark.django_db
def test_confirming_an_appointment_of_another_program_changes_nothing(personas):
    other = ProgramFactory(name="Other program")
    proposal = ChampionFactory(
        program=other, organization=personas.sales, employee=personas.outsider, is_confirmed=False
    )
    response = personas.client_for(personas.admin).post(
        reverse("manage:appointment_confirm", args=[personas.program.pk, "champion", proposal.pk]),
        follow=True,
    )
    assert "Nothing to confirm: it was already confirmed or removed." in response.content.decode()
    assert LearningChampion.objects.get(pk=proposal.pk).is_confirmed is False
