"""Provider learners who do not match the roster (programs/learner_aliases.py): linked to an
employee (an alias per provider kind, used by every sync, file and statement, and the kept
records matched again at once), dismissed and restored, each in the audit trail; the
unmatched page that does it, paged, at a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from programs.learner_aliases import learner_alias_link, learner_alias_unlink, learner_dismiss, learner_restore
from programs.models import (
    Enrollment,
    LearnerAlias,
    LearnerAliasChange,
    LearnerDismissal,
    ProviderConnection,
    UnmatchedRecord,
)
from programs.providers.base import ProviderRecord
from programs.sync.pipeline import sync_run
from reports.progress import progress_counts
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.test_sync_pipeline import PagesAdapter

pytestmark = pytest.mark.django_db

COMPLETED_AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def completion(*, external_id: str = "", email: str = "", course: str = "UD-1") -> ProviderRecord:
    return ProviderRecord(
        raw={"user_external_id": external_id, "user_email": email, "course_id": course},
        external_id=external_id,
        email=email,
        provider_course_id=course,
        course_title=f"Course {course}",
        is_completed=True,
        completed_at=COMPLETED_AT,
    )


@pytest.fixture
def udemy() -> ProviderConnection:
    return ConnectionFactory(name="Udemy", kind="udemy", client_secret="udemy-s3cret")


@pytest.fixture
def bob_unmatched(udemy) -> None:
    """Bob (the employee persona) completed a Udemy course under his private address."""
    run = sync_run(connection=udemy, adapter=PagesAdapter([completion(email="bobby@private.example")]))
    assert run.unmatched == 1


def audit_rows() -> list[tuple[str, str, str, str, str]]:
    return list(
        LearnerAliasChange.objects.order_by("pk").values_list(
            "provider", "learner_key", "action", "employee_email", "changed_by__email"
        )
    )


def test_a_linked_learner_s_completion_counts_in_program_progress(
    personas, udemy, bob_unmatched, django_capture_on_commit_callbacks
):
    before = progress_counts(program=personas.program, as_of=dt.date(2026, 3, 31)).company

    with django_capture_on_commit_callbacks(execute=True):
        alias = learner_alias_link(
            provider="udemy", learner_key="bobby@private.example", email="BOB@acme.example", by=personas.admin
        )

    after = progress_counts(program=personas.program, as_of=dt.date(2026, 3, 31)).company
    assert (alias.provider, alias.learner_key, alias.employee, alias.created_by) == (
        "udemy",
        "bobby@private.example",
        personas.employee,
        personas.admin,
    )
    assert (before.eligible, before.met, before.completions) == (5, 0, 0)
    assert (after.eligible, after.met, after.completions) == (5, 1, 1)
    assert UnmatchedRecord.objects.count() == 0
    enrollment = Enrollment.objects.select_related("course").get()
    assert (enrollment.employee, enrollment.learner_key, enrollment.course.provider_course_id) == (
        personas.employee,
        "bobby@private.example",
        "UD-1",
    )
    assert (enrollment.is_completed, enrollment.completed_at) == (True, COMPLETED_AT)
    assert audit_rows() == [("udemy", "bobby@private.example", "link", "bob@acme.example", "alice@acme.example")]


def test_later_records_match_the_alias_of_their_provider_kind_only(personas, udemy, bob_unmatched):
    learner_alias_link(provider="udemy", learner_key="bobby@private.example", email="bob@acme.example", by=None)
    other_udemy = ConnectionFactory(name="Udemy EU", kind="udemy", client_secret="eu-s3cret")
    coursera = ConnectionFactory(name="Coursera", kind="coursera", client_secret="c-s3cret")

    later = sync_run(connection=other_udemy, adapter=PagesAdapter([completion(email="Bobby@Private.example")]))
    elsewhere = sync_run(connection=coursera, adapter=PagesAdapter([completion(email="bobby@private.example")]))

    assert (later.created, later.unmatched) == (1, 0)
    assert (elsewhere.created, elsewhere.unmatched) == (0, 1)
    assert Enrollment.objects.get(connection=other_udemy).employee == personas.employee


@pytest.mark.parametrize(
    ("provider", "learner_key", "email", "field", "message"),
    [
        ("udemy", "bobby@private.example", "nobody@acme.example", "email", "Nobody on the roster has the e-mail"),
        ("udemy", "bobby@private.example", "gone@acme.example", "email", "left on 2026-01-31"),
        ("udemy", "bobby@private.example", "charlie@acme.example", "learner_key", "already linked to bob@acme"),
        ("udemy", "someone@else.example", "bob@acme.example", "learner_key", "No unmatched record of a Udemy"),
        ("coursera", "bobby@private.example", "bob@acme.example", "learner_key", "No unmatched record of a Coursera"),
        ("zoom", "bobby@private.example", "bob@acme.example", "provider", "Unknown provider 'zoom'"),
    ],
)
def test_bad_links_are_refused_with_a_message_and_change_nothing(
    personas, udemy, bob_unmatched, provider, learner_key, email, field, message
):
    EmployeeFactory(email="gone@acme.example", departed_on=dt.date(2026, 1, 31))
    LearnerAlias.objects.create(provider="udemy", learner_key="bobby@private.example", employee=personas.employee)

    with pytest.raises(ValidationError) as refused:
        learner_alias_link(provider=provider, learner_key=learner_key, email=email, by=personas.admin)

    assert message in " ".join(refused.value.message_dict[field])
    assert list(LearnerAlias.objects.values_list("learner_key", "employee__email")) == [
        ("bobby@private.example", "bob@acme.example")
    ]
    assert (LearnerAliasChange.objects.count(), Enrollment.objects.count(), UnmatchedRecord.objects.count()) == (
        0,
        0,
        1,
    )


def test_unlinking_puts_the_records_back_on_the_unmatched_list(
    personas, udemy, bob_unmatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alias = learner_alias_link(
            provider="udemy", learner_key="bobby@private.example", email="bob@acme.example", by=personas.admin
        )

    assert learner_alias_unlink(alias=alias, by=personas.admin) == 1

    assert (LearnerAlias.objects.count(), Enrollment.objects.count()) == (0, 0)
    kept = UnmatchedRecord.objects.get()
    assert (kept.connection, kept.learner_key, kept.email, kept.provider_course_id) == (
        udemy,
        "bobby@private.example",
        "bobby@private.example",
        "UD-1",
    )
    assert (kept.record["is_completed"], kept.record["completed_at"]) == (True, COMPLETED_AT.isoformat())
    assert progress_counts(program=personas.program, as_of=dt.date(2026, 3, 31)).company.met == 0
    assert [row[2] for row in audit_rows()] == ["link", "unlink"]
    # The next sync of the same data keeps it unmatched, and a new link matches it again.
    again = sync_run(connection=udemy, adapter=PagesAdapter([completion(email="bobby@private.example")]))
    assert (again.created, again.unmatched) == (0, 1)


def test_a_dismissed_learner_leaves_the_list_and_comes_back_when_restored(personas, udemy, bob_unmatched):
    client = personas.client_for(personas.admin)
    url = reverse("programs:providers:unmatched")

    dismissal = learner_dismiss(provider="udemy", learner_key="bobby@private.example", by=personas.admin)
    dismissed_page = client.get(url).content.decode()
    with pytest.raises(ValidationError, match="already dismissed"):
        learner_dismiss(provider="udemy", learner_key="bobby@private.example", by=personas.admin)
    learner_restore(dismissal=dismissal, by=personas.admin)
    restored_page = client.get(url).content.decode()

    assert "No unmatched learners." in dismissed_page
    assert 'aria-label="Restore bobby@private.example"' in dismissed_page
    assert 'aria-label="Dismiss bobby@private.example"' in restored_page
    assert UnmatchedRecord.objects.count() == 1  # kept all along
    assert LearnerDismissal.objects.count() == 0
    assert audit_rows() == [
        ("udemy", "bobby@private.example", "dismiss", "", "alice@acme.example"),
        ("udemy", "bobby@private.example", "restore", "", "alice@acme.example"),
    ]


def test_the_page_links_with_a_message_next_to_the_field_on_bad_input(
    personas, udemy, bob_unmatched, django_capture_on_commit_callbacks
):
    client = personas.client_for(personas.admin)
    url = reverse("programs:providers:unmatched")
    data = {"provider": "udemy", "learner_key": "bobby@private.example"}

    refused = client.post(url, {**data, "email": "nobody@acme.example"})
    with django_capture_on_commit_callbacks(execute=True):
        linked = client.post(url, {**data, "email": "bob@acme.example"})
    page = client.get(url).content.decode()

    assert refused.status_code == 200
    assert "Nobody on the roster has the e-mail address &#x27;nobody@acme.example&#x27;." in refused.content.decode()
    assert linked.status_code == 302
    assert Enrollment.objects.get().employee == personas.employee
    assert "No unmatched learners." in page
    assert 'aria-label="Unlink bobby@private.example"' in page
    assert "<td>Linked</td>" in page


def test_the_people_search_finds_employees_by_name(personas, udemy, bob_unmatched):
    page = (
        personas.client_for(personas.admin)
        .get(
            reverse("programs:providers:unmatched"), {"q": "builder", "provider": "udemy", "learner": "bobby@x.example"}
        )
        .content.decode()
    )

    assert "bob@acme.example" in page
    assert "?provider=udemy&amp;learner=bobby%40x.example&amp;q=builder&amp;email=bob%40acme.example#link-title" in page


def test_others_are_refused_and_change_nothing(personas, udemy, bob_unmatched):
    alias = LearnerAlias.objects.create(provider="udemy", learner_key="other-key", employee=personas.outsider)
    dismissal = LearnerDismissal.objects.create(provider="udemy", learner_key="contractor-key")
    data = {"provider": "udemy", "learner_key": "bobby@private.example", "email": "bob@acme.example"}

    for persona in (personas.employee, personas.champion, personas.sponsor):
        client = personas.client_for(persona)
        answers = [
            client.get(reverse("programs:providers:unmatched")),
            client.post(reverse("programs:providers:unmatched"), data),
            client.post(reverse("programs:providers:learner_dismiss"), data),
            client.post(reverse("programs:providers:learner_restore", args=[dismissal.pk])),
            client.post(reverse("programs:providers:learner_unlink", args=[alias.pk])),
        ]
        assert [a.status_code for a in answers] == [403] * 5

    assert list(LearnerAlias.objects.values_list("learner_key", flat=True)) == ["other-key"]
    assert list(LearnerDismissal.objects.values_list("learner_key", flat=True)) == ["contractor-key"]
    assert (LearnerAliasChange.objects.count(), Enrollment.objects.count(), UnmatchedRecord.objects.count()) == (
        0,
        0,
        1,
    )


def unmatched_learners_create(connection: ProviderConnection, count: int) -> None:
    UnmatchedRecord.objects.bulk_create(
        UnmatchedRecord(
            connection=connection,
            learner_key=f"learner-{n}",
            external_id=f"learner-{n}",
            provider_course_id=course,
            record={"is_completed": course == "UD-1"},
        )
        for n in range(count)
        for course in ("UD-1", "UD-2")
    )


@pytest.mark.parametrize("count", [10, 1000])
def test_the_page_reads_a_fixed_number_of_queries_however_many_learners(
    personas, udemy, count, django_assert_num_queries
):
    unmatched_learners_create(udemy, count)
    for n in range(3):
        LearnerAlias.objects.create(provider="udemy", learner_key=f"linked-{n}", employee=personas.employee)
        LearnerDismissal.objects.create(provider="udemy", learner_key=f"learner-{n}")
        LearnerAliasChange.objects.create(provider="udemy", learner_key=f"linked-{n}", action="link")
    client = personas.client_for(personas.admin)

    # session, user, permissions; the menu's program and roles (3); the learners: count and
    # page; connections; the people found; aliases, dismissals, audit trail
    with django_assert_num_queries(13):
        page = client.get(reverse("programs:providers:unmatched"), {"q": "builder"}).content.decode()

    shown = min(count - 3, 50)
    assert page.count('aria-label="Dismiss learner-') == shown
    if count > 50:
        assert f"Page 1 of {-(-(count - 3) // 50)} ({count - 3} in all)" in page
    assert page.count('aria-label="Restore learner-') == 3
