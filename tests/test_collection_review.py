"""The collection review loop (issue 14): L&D submits an organization's collection, its
sponsor requests changes or approves, L&D edits and resubmits; each step is kept in the
history with who and when, and the other side is e-mailed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from programs.collections import COLLECTION_REVIEW_TRANSITIONS, collection_review_actions, collection_review_step
from programs.models import ApprovalStatus, Collection, CollectionReviewAction, CollectionReviewStep
from reports.models import MessageKind, MessageStatus, SentMessage
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory, EmployeeFactory, SponsorFactory

pytestmark = pytest.mark.django_db

A = CollectionReviewAction


@pytest.fixture
def collection(personas) -> Collection:
    made = CollectionFactory(program=personas.program, organization=personas.engineering, name="Engineering <path>")
    CollectionItemFactory(collection=made, course=CourseFactory(title="Machine Learning"))
    return made


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A step's e-mails are queued for when its transaction commits: `with committed():`
    runs what the step queued, as the commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def state(collection: Collection) -> tuple:
    collection.refresh_from_db()
    steps = list(collection.review_steps.order_by("id").values_list("action", "actor__email", "note"))
    return collection.approval_status, collection.approval_note, collection.approved_by_id, steps


def test_the_loop_closes_with_history_and_mail_to_the_other_side(personas, collection, mailoutbox, committed):
    admin, sponsor = personas.client_for(personas.admin), personas.client_for(personas.sponsor)

    with committed():
        admin.post(f"/manage/collections/{collection.pk}/submit/", {"note": ""})
    assert [m.to for m in mailoutbox] == [["sam@acme.example"]]
    assert mailoutbox[0].subject == "[LearnHub] Engineering <path>: submitted for review"

    with committed():
        sponsor.post(
            f"/champions/sponsor/collections/{collection.pk}/review/",
            {"decision": "changes", "note": "Add a <b>security</b> course"},
        )
    assert [m.to for m in mailoutbox[1:]] == [["alice@acme.example"]]
    text, (html, _) = mailoutbox[1].body, mailoutbox[1].alternatives[0]
    assert 'Sam Sponsor asked for changes to the collection "Engineering <path>"' in text
    assert "Note: Add a <b>security</b> course" in text
    assert "Add a &lt;b&gt;security&lt;/b&gt; course" in html
    assert "<b>security</b>" not in html

    page = admin.get(f"/manage/collections/{collection.pk}/").content.decode()
    assert "The sponsor asked for changes:" in page
    assert "Add a &lt;b&gt;security&lt;/b&gt; course" in page
    assert "Resubmit to the sponsor" in page

    with committed():
        admin.post(f"/manage/collections/{collection.pk}/submit/", {"note": "Security course added"})
    assert mailoutbox[2].subject == "[LearnHub] Engineering <path>: resubmitted after changes"
    assert mailoutbox[2].to == ["sam@acme.example"]

    with committed():
        sponsor.post(f"/champions/sponsor/collections/{collection.pk}/review/", {"decision": "approve", "note": ""})
    assert mailoutbox[3].subject == "[LearnHub] Engineering <path>: approved"
    assert mailoutbox[3].to == ["alice@acme.example"]
    assert len(mailoutbox) == 4

    assert state(collection) == (
        ApprovalStatus.APPROVED,
        "",
        personas.sponsor.pk,
        [
            (A.SUBMITTED, "alice@acme.example", ""),
            (A.CHANGES_REQUESTED, "sam@acme.example", "Add a <b>security</b> course"),
            (A.RESUBMITTED, "alice@acme.example", "Security course added"),
            (A.APPROVED, "sam@acme.example", ""),
        ],
    )
    assert (
        list(
            SentMessage.objects.filter(kind=MessageKind.COLLECTION_REVIEW)
            .order_by("id")
            .values_list("status", flat=True)
        )
        == [MessageStatus.SENT] * 4
    )
    history = admin.get(f"/manage/collections/{collection.pk}/").content.decode()
    for line in (
        "Submitted for review</strong> by Alice Admin",
        "Changes requested</strong> by Sam Sponsor",
        "Resubmitted after changes</strong> by Alice Admin",
        "Approved</strong> by Sam Sponsor",
    ):
        assert line in history


def test_sponsors_above_the_organization_are_told_too_and_nobody_mails_themselves(
    personas, collection, mailoutbox, committed
):
    above = EmployeeFactory(email="ceo@acme.example", organization=personas.engineering.parent)
    SponsorFactory(program=personas.program, organization=personas.engineering.parent, employee=above)
    with committed():
        collection_review_step(collection=collection, actor=personas.admin, action=A.SUBMITTED)
    assert sorted(m.to[0] for m in mailoutbox) == ["ceo@acme.example", "sam@acme.example"]

    with committed():
        collection_review_step(collection=collection, actor=personas.sponsor, action=A.APPROVED)
    assert [m.to for m in mailoutbox[2:]] == [["alice@acme.example"]]


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (ApprovalStatus.DRAFT, [A.SUBMITTED]),
        (ApprovalStatus.PENDING, [A.APPROVED, A.CHANGES_REQUESTED]),
        (ApprovalStatus.CHANGES_REQUESTED, [A.RESUBMITTED]),
        (ApprovalStatus.APPROVED, [A.CHANGES_REQUESTED]),
    ],
)
def test_only_the_table_s_transitions_are_allowed(personas, collection, status, allowed, mailoutbox, committed):
    Collection.objects.filter(pk=collection.pk).update(approval_status=status)
    collection.refresh_from_db()
    assert collection_review_actions(collection=collection) == allowed
    for action in set(COLLECTION_REVIEW_TRANSITIONS) - set(allowed):
        with committed(), pytest.raises(ValidationError):
            collection_review_step(collection=collection, actor=personas.admin, action=action, note="n")
        assert state(collection) == (status, "", None, [])
    assert mailoutbox == []


def test_a_change_request_needs_a_note(personas, collection, mailoutbox, committed):
    with committed():
        collection_review_step(collection=collection, actor=personas.admin, action=A.SUBMITTED)
    with committed(), pytest.raises(ValidationError, match=r"Say what should change\."):
        collection_review_step(collection=collection, actor=personas.sponsor, action=A.CHANGES_REQUESTED, note=" ")
    assert state(collection)[0] == ApprovalStatus.PENDING
    assert len(mailoutbox) == 1


def test_a_company_wide_collection_has_no_review(personas, mailoutbox, committed):
    company = CollectionFactory(program=personas.program, organization=None, name="Everyone")
    with committed():
        response = personas.client_for(personas.admin).post(f"/manage/collections/{company.pk}/submit/")
    assert response.status_code == 403
    assert state(company) == (ApprovalStatus.DRAFT, "", None, [])
    assert collection_review_actions(collection=company) == []
    assert mailoutbox == []


@pytest.mark.parametrize("who", ["sponsor", "champion", "employee", "outsider"])
def test_only_l_and_d_submits(personas, collection, who, mailoutbox, committed):
    with committed():
        response = personas.client_for(getattr(personas, who)).post(f"/manage/collections/{collection.pk}/submit/")
    assert response.status_code == 403
    assert state(collection) == (ApprovalStatus.DRAFT, "", None, [])
    assert not CollectionReviewStep.objects.exists()
    assert mailoutbox == []


def test_anonymous_cannot_submit(personas, collection):
    response = Client().post(f"/manage/collections/{collection.pk}/submit/")
    assert response.status_code == 302
    assert state(collection) == (ApprovalStatus.DRAFT, "", None, [])


@pytest.mark.parametrize("who", ["admin", "champion", "employee", "outsider"])
def test_only_the_sponsor_reviews(personas, collection, who, mailoutbox, committed):
    with committed():
        collection_review_step(collection=collection, actor=personas.admin, action=A.SUBMITTED)
    before = state(collection)
    with committed():
        response = personas.client_for(getattr(personas, who)).post(
            f"/champions/sponsor/collections/{collection.pk}/review/", {"decision": "approve"}
        )
    assert response.status_code == 403
    assert state(collection) == before
    assert len(mailoutbox) == 1


def test_the_sponsor_page_offers_a_decision_only_when_there_is_one_to_make(personas, collection):
    sponsor = personas.client_for(personas.sponsor)
    assert "L&amp;D has not submitted it for your review yet." in sponsor.get("/champions/sponsor/").content.decode()
    assert f'id="approve-{collection.pk}"' not in sponsor.get("/champions/sponsor/").content.decode()
    collection_review_step(collection=collection, actor=personas.admin, action=A.SUBMITTED)
    page = sponsor.get("/champions/sponsor/").content.decode()
    assert f'id="approve-{collection.pk}"' in page
    assert "Submitted for review</strong> by Alice Admin" in page
