"""Executive sponsor page: commitment, launch video, collection approval, updates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from champions.models import ExecutiveSponsor, ProgressUpdate
from programs.models import ApprovalStatus, Collection
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def approval(collection: Collection) -> tuple:
    collection.refresh_from_db()
    return (collection.approval_status, collection.approval_note, collection.approved_by, collection.approved_at)


@pytest.fixture
def collections(personas):
    eng = CollectionFactory(
        program=personas.program, organization=personas.engineering, name="Engineering path", approval_status="pending"
    )
    CollectionItemFactory(collection=eng, course=CourseFactory(title="Machine Learning"))
    sales = CollectionFactory(program=personas.program, organization=personas.sales, name="Sales path")
    company = CollectionFactory(program=personas.program, organization=None, name="Everyone")
    return {"eng": eng, "sales": sales, "company": company}


def test_sponsor_page_shows_commitment_and_collections(personas, collections):
    course = CourseFactory(title="Leading with Data")
    EnrollmentFactory(
        employee=personas.sponsor, course=course, is_completed=True, completed_at=dt.datetime(2026, 2, 3, tzinfo=UTC)
    )
    EnrollmentFactory(
        employee=personas.sponsor,
        course=CourseFactory(title="Old course"),
        is_completed=True,
        completed_at=dt.datetime(2025, 6, 1, tzinfo=UTC),
    )

    response = personas.client_for(personas.sponsor).get("/champions/sponsor/")

    assert response.status_code == 200
    assert [c.title for c in response.context["completed"]] == ["Leading with Data"]
    assert response.context["met"] is True
    [appointment] = response.context["appointments"]
    assert [c.name for c in appointment.collections] == ["Engineering path"]
    html = response.content.decode()
    assert "You have completed 1 of the 1 course you committed to" in html
    assert "Old course" not in html


def test_sponsor_approves_their_collection(personas, collections):
    response = personas.client_for(personas.sponsor).post(
        f"/champions/sponsor/collections/{collections['eng'].pk}/review/",
        {"decision": "approve", "note": "Great list"},
        follow=True,
    )
    status, note, by, at = approval(collections["eng"])
    assert (status, note, by) == (ApprovalStatus.APPROVED, "Great list", personas.sponsor)
    assert at is not None
    assert "“Engineering path”: Approved by the sponsor." in response.content.decode()
    assert '<span class="badge good">Approved</span>' in response.content.decode()


def test_sponsor_requests_changes_with_a_note(personas, collections):
    client = personas.client_for(personas.sponsor)
    url = f"/champions/sponsor/collections/{collections['eng'].pk}/review/"

    without_note = client.post(url, {"decision": "changes", "note": " "}, follow=True)
    assert "not changed: Say what should change." in without_note.content.decode()
    assert approval(collections["eng"]) == ("pending", "", None, None)

    client.post(url, {"decision": "changes", "note": "Add a security course"})
    assert approval(collections["eng"]) == (ApprovalStatus.CHANGES_REQUESTED, "Add a security course", None, None)


@pytest.mark.parametrize("who", ["sponsor", "champion", "employee", "outsider", "admin"])
def test_nobody_reviews_another_orgs_or_the_company_collection(personas, collections, who):
    client = personas.client_for(getattr(personas, who))
    for name in ("sales", "company") if who == "sponsor" else ("sales", "company", "eng"):
        before = approval(collections[name])
        response = client.post(
            f"/champions/sponsor/collections/{collections[name].pk}/review/", {"decision": "approve"}
        )
        assert response.status_code == 403
        assert approval(collections[name]) == before


def test_anonymous_cannot_review(personas, collections):
    response = Client().post(f"/champions/sponsor/collections/{collections['eng'].pk}/review/", {"decision": "approve"})
    assert response.status_code == 302
    assert approval(collections["eng"]) == ("pending", "", None, None)


def test_sponsor_sets_the_launch_video_and_bad_input_keeps_the_text(personas):
    appointment = ExecutiveSponsor.objects.get(employee=personas.sponsor)
    client = personas.client_for(personas.sponsor)
    field = f"video-{appointment.pk}-launch_video_url"

    bad = client.post(f"/champions/sponsor/video/{appointment.pk}/", {field: "not a url at all"})
    assert bad.status_code == 400
    assert 'value="not a url at all"' in bad.content.decode()
    assert "Enter a valid URL." in bad.content.decode()
    appointment.refresh_from_db()
    assert appointment.launch_video_url == ""

    client.post(f"/champions/sponsor/video/{appointment.pk}/", {field: "https://video.example/launch"})
    appointment.refresh_from_db()
    assert appointment.launch_video_url == "https://video.example/launch"


@pytest.mark.parametrize("who", ["champion", "employee", "outsider", "admin"])
def test_nobody_else_sets_the_sponsors_video(personas, who):
    appointment = ExecutiveSponsor.objects.get(employee=personas.sponsor)
    field = f"video-{appointment.pk}-launch_video_url"
    response = personas.client_for(getattr(personas, who)).post(
        f"/champions/sponsor/video/{appointment.pk}/", {field: "https://evil.example/"}
    )
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.launch_video_url == ""


def test_sponsor_posts_an_update_for_the_all_hands(personas):
    personas.client_for(personas.sponsor).post(
        "/champions/updates/new/",
        {
            "organization": personas.engineering.pk,
            "title": "We are at 60%",
            "body": "Keep going",
            "for_all_hands": "on",
        },
    )
    assert list(ProgressUpdate.objects.values_list("organization__name", "author__email", "for_all_hands")) == [
        ("Engineering", "sam@acme.example", True)
    ]
