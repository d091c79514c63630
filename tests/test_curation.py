"""Curating collections on /manage/: create and edit, search the catalog, add, remove and
reorder courses with positions kept dense (1..n)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from programs.models import Collection, CollectionItem
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory

pytestmark = pytest.mark.django_db


def order(collection) -> list[tuple[int, str]]:
    return list(collection.items.order_by("position").values_list("position", "course__title"))


@pytest.fixture
def cloud(personas):
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Cloud skills")
    for position, title in enumerate(["Kubernetes", "Terraform", "Go"], start=1):
        CollectionItemFactory(collection=collection, course=CourseFactory(title=title), position=position)
    return collection


def item_of(collection, title: str) -> CollectionItem:
    return collection.items.get(course__title=title)


def test_an_admin_creates_an_organization_collection_and_a_company_wide_one(personas):
    client = personas.client_for(personas.admin)
    url = reverse("manage:collection_new", args=[personas.program.pk])
    response = client.post(
        url,
        {
            "name": " Data for engineers ",
            "organization": personas.engineering.pk,
            "needs": "SQL and dashboards",
            "launch_video_url": "https://video.acme.example/data",
        },
    )
    data = Collection.objects.get(name="Data for engineers")
    assert response["Location"] == reverse("manage:collection", args=[data.pk])
    assert (data.program, data.organization, data.needs, data.launch_video_url, data.approval_status) == (
        personas.program,
        personas.engineering,
        "SQL and dashboards",
        "https://video.acme.example/data",
        "draft",
    )
    client.post(url, {"name": "For everyone", "organization": ""})
    assert Collection.objects.get(name="For everyone").organization is None


def test_a_duplicate_name_is_explained_and_the_typed_text_is_kept(personas, cloud):
    before = Collection.objects.count()
    response = personas.client_for(personas.admin).post(
        reverse("manage:collection_new", args=[personas.program.pk]),
        {"name": "cloud SKILLS", "organization": personas.engineering.pk, "needs": "My long note"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "Acme/Engineering already has a collection named 'cloud SKILLS' in Learning Program 2026."
    ]
    html = response.content.decode()
    assert 'value="cloud SKILLS"' in html
    assert "My long note</textarea>" in html
    assert Collection.objects.count() == before


def test_a_bad_video_url_is_refused_next_to_the_field(personas, cloud):
    response = personas.client_for(personas.admin).post(
        reverse("manage:collection_edit", args=[cloud.pk]),
        {"name": "Cloud skills", "organization": personas.engineering.pk, "launch_video_url": "not a url"},
    )
    assert response.context["form"].errors["launch_video_url"] == ["Enter a valid URL."]
    assert Collection.objects.get(pk=cloud.pk).launch_video_url == ""


def test_an_admin_edits_a_collection_and_attaches_it_to_the_company(personas, cloud):
    personas.client_for(personas.admin).post(
        reverse("manage:collection_edit", args=[cloud.pk]),
        {"name": "Cloud for all", "organization": "", "needs": "Everyone deploys", "launch_video_url": ""},
    )
    cloud.refresh_from_db()
    assert (cloud.name, cloud.organization, cloud.needs) == ("Cloud for all", None, "Everyone deploys")


def test_the_catalog_search_finds_courses_by_title_partner_or_provider_id(personas, cloud):
    CourseFactory(title="Machine Learning", partner="Stanford", provider_course_id="machine-learning")
    CourseFactory(title="Deep Learning", partner="DeepLearning.AI", provider_course_id="deep-ai")
    client = personas.client_for(personas.admin)
    url = reverse("manage:collection", args=[cloud.pk])

    def found(query: str) -> list[tuple[str, bool]]:
        return [(course.title, already) for course, already in client.get(url, {"q": query}).context["results"]]

    assert found("learning") == [("Deep Learning", False), ("Machine Learning", False)]
    assert found("stanford") == [("Machine Learning", False)]
    assert found("deep-ai") == [("Deep Learning", False)]
    assert found("kubern") == [("Kubernetes", True)]
    assert found("") == []
    assert (
        'No course of the catalog matches "nothing-like-this"'
        in client.get(url, {"q": "nothing-like-this"}).content.decode()
    )


def test_adding_a_course_puts_it_last_and_adding_it_again_is_refused(personas, cloud):
    course = CourseFactory(title="Rust")
    client = personas.client_for(personas.admin)
    url = reverse("manage:collection_add", args=[cloud.pk])
    response = client.post(url, {"course": course.pk, "q": "rust"})
    assert response["Location"] == reverse("manage:collection", args=[cloud.pk]) + "?q=rust"
    assert order(cloud) == [(1, "Kubernetes"), (2, "Terraform"), (3, "Go"), (4, "Rust")]

    again = client.post(url, {"course": course.pk}, follow=True)
    assert "&#x27;Rust&#x27; is already in Cloud skills." in again.content.decode()
    assert order(cloud) == [(1, "Kubernetes"), (2, "Terraform"), (3, "Go"), (4, "Rust")]

    missing = client.post(url, {"course": "not-a-number"}, follow=True)
    assert "Choose a course from the catalog search." in missing.content.decode()
    assert cloud.items.count() == 4


def test_moving_up_and_down_keeps_positions_dense(personas, cloud):
    client = personas.client_for(personas.admin)

    def move(title: str, direction: str) -> None:
        client.post(
            reverse("manage:collection_move", args=[cloud.pk, item_of(cloud, title).pk]),
            {"direction": direction},
        )

    move("Go", "up")
    assert order(cloud) == [(1, "Kubernetes"), (2, "Go"), (3, "Terraform")]
    move("Kubernetes", "down")
    assert order(cloud) == [(1, "Go"), (2, "Kubernetes"), (3, "Terraform")]
    move("Go", "up")  # already first: nothing moves
    move("Terraform", "down")  # already last
    assert order(cloud) == [(1, "Go"), (2, "Kubernetes"), (3, "Terraform")]


def test_moving_repairs_gaps_left_by_an_import(personas):
    collection = CollectionFactory(program=personas.program, name="Gappy")
    for position, title in [(3, "A"), (10, "B"), (42, "C")]:
        CollectionItemFactory(collection=collection, course=CourseFactory(title=title), position=position)
    personas.client_for(personas.admin).post(
        reverse("manage:collection_move", args=[collection.pk, item_of(collection, "C").pk]),
        {"direction": "up"},
    )
    assert order(collection) == [(1, "A"), (2, "C"), (3, "B")]


def test_removing_a_course_keeps_positions_dense(personas, cloud):
    client = personas.client_for(personas.admin)
    terraform = item_of(cloud, "Terraform")
    client.post(reverse("manage:collection_remove", args=[cloud.pk, terraform.pk]))
    assert order(cloud) == [(1, "Kubernetes"), (2, "Go")]
    again = client.post(reverse("manage:collection_remove", args=[cloud.pk, terraform.pk]), follow=True)
    assert "That course is no longer in this collection." in again.content.decode()
    assert order(cloud) == [(1, "Kubernetes"), (2, "Go")]


def test_an_item_of_another_collection_cannot_be_moved_or_removed_through_this_one(personas, cloud):
    other = CollectionFactory(program=personas.program, name="Other")
    stranger = CollectionItemFactory(collection=other, course=CourseFactory(title="Stranger"), position=1)
    client = personas.client_for(personas.admin)
    client.post(reverse("manage:collection_remove", args=[cloud.pk, stranger.pk]))
    client.post(reverse("manage:collection_move", args=[cloud.pk, stranger.pk]), {"direction": "up"})
    assert CollectionItem.objects.filter(pk=stranger.pk, position=1).exists()
    assert order(cloud) == [(1, "Kubernetes"), (2, "Terraform"), (3, "Go")]


def test_the_collection_page_lists_courses_in_order_with_post_buttons(personas, cloud):
    html = personas.client_for(personas.admin).get(reverse("manage:collection", args=[cloud.pk])).content.decode()
    assert html.index("<td>Kubernetes") < html.index("<td>Terraform") < html.index("<td>Go")  # not in a random token
    assert 'aria-label="Move Kubernetes up"' not in html  # the first cannot go up
    assert 'aria-label="Move Go down"' not in html  # the last cannot go down
    assert 'aria-label="Move Terraform up"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= 7
