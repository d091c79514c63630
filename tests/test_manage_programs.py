"""The L&D admin area (/manage/): program create / edit with its audit trail, activate /
close, and the Django admin's program form. (Who may open each page and post each form is
the permission walk's: tests/test_url_permissions.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from champions.models import ExecutiveSponsor, LearningChampion
from programs.models import Collection, CollectionItem, LearningProgram, ProgramChange, ProgramStatus
from programs.templatetags.formats import target_percent
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


def state() -> dict:
    """Everything the admin pages can change, to compare before and after a refused write."""
    return {
        "programs": list(
            LearningProgram.objects.order_by("pk").values_list(
                "pk", "name", "starts_on", "ends_on", "target_rate", "required_completions", "status", "cloned_from"
            )
        ),
        "changes": ProgramChange.objects.count(),
        "collections": list(
            Collection.objects.order_by("pk").values_list("pk", "name", "organization", "needs", "approval_status")
        ),
        "items": list(CollectionItem.objects.order_by("pk").values_list("pk", "collection", "course", "position")),
        "sponsors": list(ExecutiveSponsor.objects.order_by("pk").values_list("pk", "organization", "employee")),
        "champions": list(
            LearningChampion.objects.order_by("pk").values_list("pk", "organization", "employee", "is_confirmed")
        ),
    }


def test_home_links_every_admin_page_and_lists_organizations_missing_appointments(personas):
    response = personas.client_for(personas.admin).get(reverse("manage:home"))
    html = response.content.decode()
    for name in ["manage:programs", "programs:roster", "programs:roster_import"]:
        assert f'href="{reverse(name)}"' in html
    assert f'href="{reverse("programs:collections_import")}"' in html
    assert f'href="{reverse("programs:providers:connections")}"' in html
    assert f'href="{reverse("admin:index")}"' in html
    assert f'href="{reverse("manage:collections", args=[personas.program.pk])}"' in html
    gaps = [(gap.organization.path, gap.has_sponsor, gap.has_champion) for gap in response.context["gaps"]]
    assert gaps == [("Acme/Sales", False, False)]


def test_the_nav_shows_manage_to_ld_admins_only(personas):
    manage = f'href="{reverse("manage:home")}"'
    assert manage in personas.client_for(personas.admin).get(reverse("home")).content.decode()
    assert manage not in personas.client_for(personas.sponsor).get(reverse("home")).content.decode()


def test_an_ld_admin_creates_a_program_with_a_90_percent_target(personas):
    client = personas.client_for(personas.admin)
    response = client.post(
        reverse("manage:program_new"),
        {
            "name": "  Learning Program 2030 ",
            "starts_on": "2030-01-01",
            "ends_on": "2030-12-31",
            "target_percent": "90",
            "required_completions": "2",
        },
    )
    program = LearningProgram.objects.get(name="Learning Program 2030")
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:program", args=[program.pk])
    assert (program.starts_on, program.ends_on) == (dt.date(2030, 1, 1), dt.date(2030, 12, 31))
    assert program.target_rate == Decimal("0.900")
    assert program.required_completions == 2
    assert program.status == ProgramStatus.DRAFT
    page = client.get(response["Location"])
    assert page.context["target"] == "90%"
    assert '<p class="stat" data-testid="target">90%</p>' in page.content.decode()


def test_a_target_with_one_decimal_is_kept_exactly(personas):
    client = personas.client_for(personas.admin)
    client.post(
        reverse("manage:program_new"),
        {
            "name": "Half points",
            "starts_on": "2030-01-01",
            "ends_on": "2030-12-31",
            "target_percent": "87.5",
            "required_completions": "1",
        },
    )
    assert LearningProgram.objects.get(name="Half points").target_rate == Decimal("0.875")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": "2029-12-31"}, "ends_on", "The program must end after it starts."),
        ({"target_percent": "0"}, "target_percent", "Ensure this value is greater than or equal to 0.1."),
        ({"target_percent": "101"}, "target_percent", "Ensure this value is less than or equal to 100."),
        ({"target_percent": "87.55"}, "target_percent", "Ensure that there are no more than 1 decimal place."),
        ({"required_completions": "0"}, "required_completions", "Ensure this value is greater than or equal to 1."),
        ({"name": "learning program 2026"}, "name", "A program named 'learning program 2026' already exists."),
    ],
)
def test_bad_program_input_is_explained_next_to_the_field_and_keeps_the_typed_text(personas, changes, field, message):
    data = {
        "name": "Learning Program 2030",
        "starts_on": "2030-01-01",
        "ends_on": "2030-12-31",
        "target_percent": "90",
        "required_completions": "1",
        **changes,
    }
    before = state()
    response = personas.client_for(personas.admin).post(reverse("manage:program_new"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    html = response.content.decode()
    assert f'value="{data["name"]}"' in html
    assert f'value="{data["target_percent"]}"' in html
    assert state() == before


def _edit(client, program, **changes):
    data = {
        "name": program.name,
        "starts_on": program.starts_on.isoformat(),
        "ends_on": program.ends_on.isoformat(),
        "target_percent": str(target_percent(program.target_rate)),
        "required_completions": str(program.required_completions),
        **changes,
    }
    return client.post(reverse("manage:program_edit", args=[program.pk]), data)


def test_editing_the_target_writes_the_audit_trail(personas):
    client = personas.client_for(personas.admin)
    response = _edit(client, personas.program, target_percent="87.5")
    assert response.status_code == 302
    program = LearningProgram.objects.get(pk=personas.program.pk)
    assert program.target_rate == Decimal("0.875")
    change = ProgramChange.objects.get(program=program)
    assert (change.field, change.old_value, change.new_value) == ("target_rate", "90%", "87.5%")
    assert change.changed_by == personas.admin
    page = client.get(reverse("manage:program", args=[program.pk])).content.decode()
    assert "<td><strong>Target</strong>: 90% → 87.5%</td>" in page
    assert '<span title="alice@acme.example">Alice Admin</span>' in page


def test_editing_the_window_and_completions_writes_one_row_per_field(personas):
    client = personas.client_for(personas.admin)
    _edit(client, personas.program, starts_on="2026-02-01", ends_on="2026-11-30", required_completions="2")
    rows = set(ProgramChange.objects.values_list("field", "old_value", "new_value", "changed_by"))
    admin = personas.admin.pk
    assert rows == {
        ("starts_on", "2026-01-01", "2026-02-01", admin),
        ("ends_on", "2026-12-31", "2026-11-30", admin),
        ("required_completions", "1", "2", admin),
    }


def test_saving_without_a_change_or_only_renaming_writes_no_audit_row(personas):
    client = personas.client_for(personas.admin)
    _edit(client, personas.program)
    _edit(client, personas.program, name="Learning Program 2026 (renamed)")
    assert LearningProgram.objects.get(pk=personas.program.pk).name == "Learning Program 2026 (renamed)"
    assert ProgramChange.objects.count() == 0


def test_activate_and_close_are_audited_and_refused_from_the_wrong_status(personas):
    client = personas.client_for(personas.admin)
    draft = ProgramFactory(name="Draft 2027", status=ProgramStatus.DRAFT)
    response = client.post(reverse("manage:program_close", args=[draft.pk]), follow=True)
    assert "Only an active program can be closed; this one is draft." in response.content.decode()
    assert LearningProgram.objects.get(pk=draft.pk).status == ProgramStatus.DRAFT
    client.post(reverse("manage:program_activate", args=[draft.pk]))
    assert LearningProgram.objects.get(pk=draft.pk).status == ProgramStatus.ACTIVE
    client.post(reverse("manage:program_close", args=[draft.pk]))
    assert LearningProgram.objects.get(pk=draft.pk).status == ProgramStatus.CLOSED
    assert list(ProgramChange.objects.order_by("id").values_list("field", "old_value", "new_value")) == [
        ("status", "draft", "active"),
        ("status", "active", "closed"),
    ]


def test_an_edit_through_the_django_admin_is_audited(personas):
    client = personas.client_for(personas.admin)
    program = personas.program
    response = client.post(
        reverse("admin:programs_learningprogram_change", args=[program.pk]),
        {
            "name": program.name,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "target_rate": "0.950",
            "required_completions": "1",
            "status": "active",
            "cloned_from": "",
        },
    )
    assert response.status_code == 302
    assert LearningProgram.objects.get(pk=program.pk).target_rate == Decimal("0.950")
    assert list(ProgramChange.objects.values_list("field", "old_value", "new_value", "changed_by")) == [
        ("target_rate", "90%", "95%", personas.admin.pk)
    ]


def admin_program_form(program: LearningProgram, **changes: str) -> dict[str, str]:
    data = {
        "name": program.name,
        "starts_on": program.starts_on.isoformat(),
        "ends_on": program.ends_on.isoformat(),
        "target_rate": str(program.target_rate),
        "required_completions": str(program.required_completions),
        "status": program.status,
    }
    data.update(changes)
    return data


def test_the_django_admin_refuses_closed_to_draft_on_its_form(personas):
    program = personas.program
    LearningProgram.objects.filter(pk=program.pk).update(status=ProgramStatus.CLOSED)
    program.refresh_from_db()

    response = personas.client_for(personas.admin).post(
        reverse("admin:programs_learningprogram_change", args=[program.pk]), admin_program_form(program, status="draft")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "status": ["A closed program cannot become draft: draft -> active -> closed only."]
    }
    assert LearningProgram.objects.get(pk=program.pk).status == ProgramStatus.CLOSED
    assert not ProgramChange.objects.exists()


def test_the_django_admin_shows_a_name_clash_ignoring_case_as_a_form_error(personas):
    other = LearningProgram.objects.create(
        name="Learning Program 2027",
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 12, 31),
        target_rate=Decimal("0.9"),
    )
    client = personas.client_for(personas.admin)
    count = LearningProgram.objects.count()

    change = client.post(
        reverse("admin:programs_learningprogram_change", args=[personas.program.pk]),
        admin_program_form(personas.program, name="learning program 2027"),
    )
    add = client.post(
        reverse("admin:programs_learningprogram_add"), admin_program_form(other, name="LEARNING PROGRAM 2027")
    )

    assert (change.status_code, add.status_code) == (200, 200)
    assert change.context["adminform"].form.errors == {
        "name": ["A program named 'learning program 2027' already exists."]
    }
    assert add.context["adminform"].form.errors == {"name": ["A program named 'LEARNING PROGRAM 2027' already exists."]}
    assert LearningProgram.objects.get(pk=personas.program.pk).name == "Learning Program 2026"
    assert LearningProgram.objects.count() == count


def test_the_django_admin_adds_a_program_through_program_create(personas):
    response = personas.client_for(personas.admin).post(
        reverse("admin:programs_learningprogram_add"),
        {
            "name": "  Learning Program 2028 ",
            "starts_on": "2028-01-01",
            "ends_on": "2028-12-31",
            "target_rate": "0.875",
            "required_completions": "2",
            "status": "draft",
        },
    )

    assert response.status_code == 302
    created = LearningProgram.objects.get(name="Learning Program 2028")
    assert (created.target_rate, created.required_completions, created.status) == (Decimal("0.875"), 2, "draft")


def test_a_change_of_target_and_window_keeps_its_reason_in_the_audit_trail(personas):
    client = personas.client_for(personas.admin)
    program = personas.program

    response = _edit(
        client, program, target_percent="85", ends_on="2027-01-31", reason="  Board asked for <more> time  "
    )

    assert response.status_code == 302
    assert list(ProgramChange.objects.order_by("field").values_list("field", "new_value", "reason")) == [
        ("ends_on", "2027-01-31", "Board asked for <more> time"),
        ("target_rate", "85%", "Board asked for <more> time"),
    ]
    page = client.get(reverse("manage:program", args=[program.pk])).content.decode()
    assert "<td>Board asked for &lt;more&gt; time</td>" in page


def test_a_change_without_a_reason_says_none_was_given(personas):
    client = personas.client_for(personas.admin)

    _edit(client, personas.program, target_percent="80")

    assert ProgramChange.objects.get().reason == ""
    page = client.get(reverse("manage:program", args=[personas.program.pk])).content.decode()
    assert '<td><span class="muted">None given</span></td>' in page


def test_a_too_long_reason_is_refused_and_nothing_changes(personas):
    client = personas.client_for(personas.admin)
    before = state()

    response = _edit(client, personas.program, target_percent="80", reason="x" * 501)

    assert response.status_code == 200
    assert "Ensure this value has at most 500 characters (it has 501)." in response.content.decode()
    assert state() == before


def test_closing_asks_first_and_close_is_not_the_primary_button(personas):
    client = personas.client_for(personas.admin)
    program = personas.program

    detail = client.get(reverse("manage:program", args=[program.pk])).content.decode()
    confirm = client.get(reverse("manage:program_close", args=[program.pk]))
    page = confirm.content.decode()

    close_url = reverse("manage:program_close", args=[program.pk])
    assert f'<a class="button secondary" href="{close_url}">Close the program…</a>' in detail
    assert confirm.status_code == 200
    assert LearningProgram.objects.get(pk=program.pk).status == ProgramStatus.ACTIVE  # asking closes nothing
    assert "A closed program cannot be opened again" in page
    assert f'<a class="button" href="/manage/programs/{program.pk}/">Keep it open</a>' in page
    assert '<button type="submit" class="button secondary">Close Learning Program 2026</button>' in page


def test_confirming_closes_the_program_with_the_reason(personas):
    client = personas.client_for(personas.admin)
    program = personas.program

    response = client.post(reverse("manage:program_close", args=[program.pk]), {"reason": "Year over"}, follow=True)

    assert "Learning Program 2026 is closed." in response.content.decode()
    assert LearningProgram.objects.get(pk=program.pk).status == ProgramStatus.CLOSED
    assert list(ProgramChange.objects.values_list("field", "old_value", "new_value", "reason")) == [
        ("status", "active", "closed", "Year over")
    ]


def test_the_close_page_of_a_draft_says_it_cannot_be_closed(personas):
    draft = ProgramFactory(name="Draft 2027", status=ProgramStatus.DRAFT)

    page = personas.client_for(personas.admin).get(reverse("manage:program_close", args=[draft.pk])).content.decode()

    assert "Only an active program can be closed; this one is draft." in page
    assert "<form" not in page.split("<main")[1].split("</main>")[0].replace('action="/accounts/logout/"', "")


def test_the_api_keeps_a_reason_with_a_change(personas):
    client = personas.client_for(personas.admin)

    response = client.patch(
        f"/api/v1/programs/{personas.program.pk}/",
        {"target_rate": 0.8, "reason": "Budget cut"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert list(ProgramChange.objects.values_list("field", "reason")) == [("target_rate", "Budget cut")]
