"""Company and organization dashboards and the All-Hands report, on a small company
whose numbers are worked out by hand (see `acme`).

Program 2026-01-01 .. 2026-12-31, target 90%, one course; pages viewed as of 2026-07-02,
when the pace is 0.9 x 182 / 364 = 45%.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from django.utils import timezone

from champions.models import LearnerStory, ProgressUpdate
from programs.models import Employee, Organization
from reports.models import ProgressSnapshot
from reports.selectors import people_needed_for
from tests.factories import (
    ChampionFactory,
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    StudyGroupFactory,
    org,
)

pytestmark = pytest.mark.django_db

AS_OF = "2026-07-02"
DASH = "\N{EN DASH}"


def visible_text(markup: str) -> str:
    """The page as a person reads it: tags, scripts and extra white space removed."""
    markup = re.sub(r"<(script|style|title)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def section(markup: str, element_id: str) -> str:
    """The visible text of the <section> whose heading has `element_id`."""
    match = re.search(rf'<section[^>]*aria-labelledby="{element_id}".*?</section>', markup, flags=re.S)
    assert match, f"no section {element_id}"
    return visible_text(match.group(0))


def table_rows(markup: str, table_class: str) -> list[str]:
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', markup, flags=re.S)
    assert table, f"no table.{table_class}"
    body = table.group(1).split("<tbody>", 1)[1]
    # The phone layout repeats the bar and champions inside the first cell, hidden from
    # screen readers (and from this reading of the table).
    body = re.sub(r'<div class="phone-only" aria-hidden="true">.*?</td>', "</td>", body, flags=re.S)
    return [visible_text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)


def snap(program, organization, day: str, *, rate: float | None, eligible: int = 10, met: int | None = None) -> None:
    ProgressSnapshot.objects.create(
        program=program,
        organization=organization,
        day=dt.date.fromisoformat(day),
        eligible=eligible,
        met=met if met is not None else round((rate or 0) * eligible),
        completions=0,
        curated_completions=0,
        rate=rate,
    )


@dataclass
class Acme:
    platform: Organization
    marketing: Organization
    pat: Employee
    nina: Employee


@pytest.fixture
def acme(personas) -> Acme:
    """Eligible on 2026-07-02 (all hired 2020):
    - Acme: Alice Admin                          (no completion)
    - Acme/Engineering: Sam Sponsor (curated C1), Chris Champion (none), Bob Builder (C2,
      not curated), Nina Notyet (none); Acme/Engineering/Platform: Patricia Quinn (C1)
    - Acme/Sales: Charlie Sales (none); Acme/Marketing: nobody (no rate)
    Company 3/7 = 42.9% (behind the 45% pace: ceil(0.45 x 7) - 3 = 1 more person; target:
    ceil(6.3) - 3 = 4); Engineering 3/5 = 60%; Platform 1/1; Sales 0/1.
    Completions 3, curated 2 (67%). The sponsor met the goal."""
    program = personas.program
    platform = org("Acme/Engineering/Platform")
    marketing = org("Acme/Marketing")
    pat = EmployeeFactory(email="pat@acme.example", full_name="Patricia Quinn", organization=platform, title="SRE")
    nina = EmployeeFactory(
        email="nina@acme.example", full_name="Nina Notyet", organization=personas.engineering, title="Designer"
    )
    curated, other = CourseFactory(title="Curated course"), CourseFactory(title="Other course")
    collection = CollectionFactory(program=program, organization=personas.engineering, name="Engineering foundations")
    CollectionItemFactory(collection=collection, course=curated)
    for person, course, day in [
        (personas.sponsor, curated, "2026-03-01"),
        (personas.employee, other, "2026-04-01"),
        (pat, curated, "2026-05-01"),
    ]:
        EnrollmentFactory(employee=person, course=course, is_completed=True, completed_at=at(day))
    EnrollmentFactory(employee=nina, course=curated, last_activity_at=at("2026-06-15"))
    # Snapshots: a week before (06-25), 30 days before (06-02) and the day before (07-01).
    snap(program, None, "2026-06-02", rate=0.2)
    snap(program, None, "2026-06-25", rate=0.4)
    snap(program, None, "2026-07-01", rate=0.406, met=4)
    snap(program, personas.engineering, "2026-06-02", rate=0.2)
    snap(program, personas.engineering, "2026-06-25", rate=0.5)
    snap(program, platform, "2026-06-02", rate=0.0)
    snap(program, personas.sales, "2026-06-02", rate=0.0)
    StudyGroupFactory(program=program, organization=personas.engineering, name="Platform readers")
    ProgressUpdate.objects.create(
        program=program,
        organization=personas.engineering,
        author=personas.champion,
        title="Engineering weekly",
        body="Two more sessions <b>this week</b>.",
    )
    ProgressUpdate.objects.create(
        program=program, author=personas.admin, title="Halfway there", body="Great work.", for_all_hands=True
    )
    LearnerStory.objects.create(
        program=program,
        employee=pat,
        title="Fewer pages at night",
        body="Alerts I understand.",
        consent_to_share=True,
        moderation="approved",
    )
    LearnerStory.objects.create(
        program=program, employee=nina, title="Waiting tale", body="Not approved yet.", consent_to_share=True
    )
    LearnerStory.objects.create(program=program, employee=nina, title="Private tale", body="Not shared.")
    LearnerStory.objects.create(
        program=program,
        employee=personas.employee,
        title="Withdrawn tale",
        body="Taken back.",
        consent_to_share=True,
        withdrawn_at=timezone.now(),
    )
    return Acme(platform=platform, marketing=marketing, pat=pat, nina=nina)


# --- Access ---------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["/reports/", "/reports/all-hands/", "/reports/all-hands/deck/", "org"])
def test_anonymous_visitors_are_sent_to_sign_in(personas, url_name):
    url = f"/reports/org/{personas.engineering.pk}/" if url_name == "org" else url_name
    response = personas.client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("who", ["admin", "sponsor", "champion", "employee", "outsider"])
def test_every_signed_in_person_sees_the_pages(personas, acme, who):
    client = personas.client_for(getattr(personas, who))
    for url in [
        "/reports/",
        f"/reports/org/{personas.engineering.pk}/",
        "/reports/all-hands/",
        "/reports/all-hands/deck/",
    ]:
        response = client.get(url, {"as_of": AS_OF, "date": AS_OF})
        assert response.status_code == 200, url


def test_navigation_links_progress_and_all_hands(personas):
    body = personas.client_for(personas.employee).get("/").content.decode()
    assert '<a href="/reports/">Progress</a>' in body
    assert '<a href="/reports/all-hands/">All Hands</a>' in body


# --- Company dashboard ----------------------------------------------------------------


def test_company_dashboard_numbers(personas, acme):
    body = personas.client_for(personas.employee).get("/reports/", {"as_of": AS_OF}).content.decode()
    headline = section(body, "headline-title")
    assert headline.startswith("Company: 3 of 7 people have met the goal 43% target 90%")
    assert "Pace today 45% behind" in headline
    assert "To be on pace 1 more person" in headline
    assert "To reach the target 4 more people" in headline
    assert "Days left 182" in headline
    assert "Projection at the end 59%" in headline  # snapshots 06-25 40%, 07-01 40.6% carried to 12-31
    assert "Curated share 67% (2 of 3 completions)" in headline
    assert 'aria-label="Company: 43% of a 90% target"' in body
    assert table_rows(body, "leaderboard") == [
        "1 Engineering 3 of 5 60% +10.0 pts Chris Champion",
        f"2 Sales 0 of 1 0% {DASH} {DASH}",
        f"3 Marketing 0 of 0 {DASH} {DASH} {DASH}",
    ]
    assert f'href="/reports/org/{personas.engineering.pk}/?program={personas.program.pk}&amp;as_of={AS_OF}"' in body
    assert section(body, "executives-title") == (
        "Executive commitment 1 of 1 executive sponsor met the goal themselves. Sam Sponsor · Acme/Engineering met"
    )
    trend = section(body, "trend-title")
    assert "Actual Pace Projection" in trend
    assert '<polyline class="series projection"' in body


def test_company_dashboard_for_a_team_less_company_shows_dashes(personas):
    """Nobody eligible on the day (everyone hired later): rates are dashes, not 0%."""
    Employee.objects.update(hired_on=dt.date(2026, 9, 1))
    body = personas.client_for(personas.admin).get("/reports/", {"as_of": AS_OF}).content.decode()
    headline = section(body, "headline-title")
    assert headline.startswith(f"Company: 0 of 0 people have met the goal {DASH} target 90%")
    assert "no one eligible" in headline
    assert "To reach the target no one more" not in headline
    assert table_rows(body, "leaderboard") == [
        f"1 Engineering 0 of 0 {DASH} {DASH} Chris Champion",
        f"2 Sales 0 of 0 {DASH} {DASH} {DASH}",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"as_of": "2026-13-01"}, "“2026-13-01” is not a date: use as_of=YYYY-MM-DD. The default is shown instead."),
        ({"program": "abc"}, "There is no program “abc”. The default is shown instead."),
    ],
)
def test_bad_parameters_get_a_message_and_the_default(personas, acme, query, message):
    response = personas.client_for(personas.employee).get("/reports/", query)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert message in text
    assert "Company: 3 of 7 people have met the goal" in text  # everyone is still eligible today


def test_another_program_by_id(personas, acme):
    from tests.factories import ProgramFactory

    other = ProgramFactory(name="Learning Program 2025", starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 12, 31))
    body = personas.client_for(personas.employee).get("/reports/", {"program": other.pk}).content.decode()
    assert "<h1>Progress: Learning Program 2025</h1>" in body
    assert section(body, "headline-title").startswith("Company: 0 of 7 people have met the goal 0% target 90%")
    assert "Days left 0" in section(body, "headline-title")


# --- Organization dashboard -----------------------------------------------------------


def test_organization_dashboard_numbers_and_content(personas, acme):
    body = (
        personas.client_for(personas.outsider)
        .get(f"/reports/org/{personas.engineering.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    headline = section(body, "headline-title")
    assert headline.startswith("Engineering: 3 of 5 people have met the goal 60% target 90%")
    assert "Pace today 45% on track" in headline
    assert "To be on pace no one more" in headline
    assert "To reach the target 2 more people" in headline
    assert "Curated share 67% (2 of 3 completions)" in headline
    assert f"Projection at the end {DASH}" in headline  # one Engineering snapshot in the last 28 days
    assert "Sponsor: Sam Sponsor · Champion: Chris Champion" in visible_text(body)
    assert section(body, "teams-title") == f"Teams Team Progress Met Rate Since last week Platform 1 / 1 100% {DASH}"
    assert "Engineering foundations · 1 course" in section(body, "collections-title")
    assert "Curated completions: 2 of 3 (share 67%)." in section(body, "collections-title")
    assert "Platform readers · 0 members" in section(body, "groups-title")
    updates = section(body, "updates-title")
    assert "Engineering weekly" in updates
    assert "Two more sessions <b>this week</b>." in updates  # escaped, shown as typed
    assert "Halfway there" not in updates


def test_organization_without_eligible_people_shows_dashes(personas, acme):
    body = (
        personas.client_for(personas.employee)
        .get(f"/reports/org/{acme.marketing.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    headline = section(body, "headline-title")
    assert headline.startswith(f"Marketing: 0 of 0 people have met the goal {DASH} target 90%")
    assert f"Curated share {DASH} (0 of 0 completions)" in headline


def test_unknown_organization_is_404(personas):
    assert personas.client_for(personas.admin).get("/reports/org/999999/").status_code == 404


@pytest.mark.parametrize("who", ["admin", "sponsor", "champion"])
def test_champions_sponsor_and_admins_see_who_has_not_met(personas, acme, who):
    body = (
        personas.client_for(getattr(personas, who))
        .get(f"/reports/org/{personas.engineering.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    assert "Not yet met the goal (2)" in section(body, "not-met-title")
    assert table_rows(body, "not-met") == [
        f"Chris Champion Engineering {DASH} 0 never",
        "Nina Notyet Engineering Designer 0 15 Jun 2026",
    ]


def test_sponsor_of_a_parent_sees_a_team(personas, acme):
    body = (
        personas.client_for(personas.sponsor)
        .get(f"/reports/org/{acme.platform.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    assert "Not yet met the goal (0)" in section(body, "not-met-title")
    assert "Everyone eligible in Platform has met the goal." in body


@pytest.mark.parametrize("who", ["employee", "outsider"])
def test_others_see_aggregates_only(personas, acme, who):
    body = (
        personas.client_for(getattr(personas, who))
        .get(f"/reports/org/{personas.engineering.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    assert "Not yet met the goal" not in body
    assert "Nina Notyet" not in body
    assert "nina@acme.example" not in body
    assert "export/people.csv" not in body


def test_champion_of_engineering_does_not_see_sales_people(personas, acme):
    body = (
        personas.client_for(personas.champion)
        .get(f"/reports/org/{personas.sales.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    assert "Not yet met the goal" not in body
    assert "Charlie Sales" not in body


# --- All-Hands report -----------------------------------------------------------------


def test_all_hands_report(personas, acme):
    body = personas.client_for(personas.employee).get("/reports/all-hands/", {"date": AS_OF}).content.decode()
    hero = section(body, "hero-title")
    assert hero.startswith("2 July 2026 · 182 days left 43% of our 90% goal")
    assert "3 of 7 people have completed a course. Pace today 45%: behind · 1 more person to be on pace." in hero
    assert "Projection at the end: 59%. Curated share 67% (2 of 3 completions)." in hero
    assert '<svg class="chart"' in body
    assert table_rows(body, "leaderboard")[0] == "1 Engineering 3 of 5 60% +10.0 pts Chris Champion"
    assert section(body, "movers-title") == (
        "Biggest movers, last 30 days "
        "Platform Acme/Engineering/Platform +100.0 pts now 100% "
        "Engineering Acme/Engineering +40.0 pts now 60%"
    )
    assert "1 of 1 executive sponsor met the goal themselves." in section(body, "executives-title")
    stories = section(body, "stories-title")
    assert stories == "Learner stories Fewer pages at night Alerts I understand. Patricia, Platform"
    assert "Quinn" not in body
    highlights = section(body, "highlights-title")
    assert "Halfway there" in highlights
    assert "Engineering weekly" not in highlights
    assert '<script src="/static/js/print.js" defer></script>' in body
    assert (
        f'<a class="button secondary" href="/reports/all-hands/deck/?program={personas.program.pk}&amp;date={AS_OF}">'
        in body
    )
    assert "onclick" not in body
    assert '<button type="button" class="button" data-print hidden>Print / save as PDF</button>' in body


def test_all_hands_bad_date_gets_a_message(personas, acme):
    text = visible_text(
        personas.client_for(personas.employee).get("/reports/all-hands/", {"date": "next week"}).content.decode()
    )
    assert "“next week” is not a date: use date=YYYY-MM-DD. The default is shown instead." in text


def test_people_needed_rounds_up_and_never_goes_below_zero():
    assert people_needed_for(eligible=10, met=0, rate=0.9) == 9
    assert people_needed_for(eligible=7, met=3, rate=0.45) == 1
    assert people_needed_for(eligible=7, met=5, rate=0.45) == 0
    assert people_needed_for(eligible=0, met=0, rate=0.9) == 0


# --- Query counts ---------------------------------------------------------------------


def grow(personas, size: int) -> None:
    """`size` extra organizations, each with a team, `size` people per team (half with a
    completion, some with activity), a champion, a study group, an update, a story and
    snapshots; so size 10 has ten times the data of size 1."""
    program = personas.program
    course = CourseFactory()
    CollectionItemFactory(
        collection=CollectionFactory(program=program, organization=personas.engineering), course=course
    )
    for i in range(size):
        top = org(f"Acme/Org {i}")
        team = org(f"Acme/Org {i}/Team")
        in_engineering = org(f"Acme/Engineering/Team {i}")
        for j in range(size):
            for home in (team, in_engineering):
                person = EmployeeFactory(organization=home)
                if j % 2:
                    EnrollmentFactory(employee=person, course=course, is_completed=True, completed_at=at("2026-05-01"))
                else:
                    EnrollmentFactory(employee=person, course=course, last_activity_at=at("2026-06-01"))
        ChampionFactory(program=program, organization=top, employee=EmployeeFactory(organization=top))
        ChampionFactory(program=program, organization=personas.engineering, employee=EmployeeFactory(organization=team))
        StudyGroupFactory(program=program, organization=personas.engineering, name=f"Group {i}")
        ProgressUpdate.objects.create(
            program=program, organization=personas.engineering, title=f"U{i}", body="b", for_all_hands=True
        )
        LearnerStory.objects.create(
            program=program,
            employee=EmployeeFactory(organization=team),
            title=f"S{i}",
            body="b",
            consent_to_share=True,
            moderation="approved",
        )
        for day in ("2026-06-02", "2026-06-25", "2026-07-01"):
            snap(program, top, day, rate=0.1 * (i % 10))
    for day in ("2026-06-02", "2026-06-25", "2026-07-01"):
        snap(program, None, day, rate=0.3)


# Every page: session, user, the program choice (the programs, the current one among them,
# also the navigation's) and the navigation (permissions in one query, the sponsor's and
# champion's organizations). Then its own reads: program_progress (4), snapshots
# (trend, earlier rates), champions; the organization page adds the organization,
# collections, study groups, updates, sponsors, its projection and the people check
# (champions also get the first of the not-yet list; its count is the headline's eligible
# minus met); the All-Hands report adds highlights, rates 30 days before and stories. The
# deck reads the trends and the projections of all its organizations at once, the rates
# at its "since" day, champions, sponsors and stories.
QUERIES = {"company": 13, "org-employee": 21, "org-champion": 22, "all-hands": 16, "deck": 16}


@pytest.mark.parametrize("size", [1, 10])
@pytest.mark.parametrize("page", sorted(QUERIES))
def test_query_count_does_not_grow_with_the_company(personas, django_assert_num_queries, size, page):
    grow(personas, size)
    who = personas.champion if page == "org-champion" else personas.employee
    client = personas.client_for(who)
    url = {
        "company": "/reports/",
        "org-employee": f"/reports/org/{personas.engineering.pk}/",
        "org-champion": f"/reports/org/{personas.engineering.pk}/",
        "all-hands": "/reports/all-hands/",
        "deck": "/reports/all-hands/deck/",
    }[page]
    with django_assert_num_queries(QUERIES[page]):
        response = client.get(url, {"as_of": AS_OF, "date": AS_OF})
    assert response.status_code == 200
    if page == "org-champion":
        # size x size people in each of `size` Engineering teams, half not met, plus Sam, Chris and Bob
        assert f"Not yet met the goal ({size * ((size + 1) // 2) + 3})" in response.content.decode()


# --- All-Hands deck -------------------------------------------------------------------


def slide(markup: str, slide_id: str) -> str:
    """The visible text of the deck's slide `slide_id`."""
    match = re.search(rf'<(section|div) class="deck-slide" id="{slide_id}".*?</div></\1>', markup, flags=re.S)
    assert match, f"no slide {slide_id}"
    return visible_text(match.group(0))


def test_organization_dashboard_projects_its_own_trend(personas, acme):
    """The projection of the company's dashboard, drawn from the organization's snapshots:
    Engineering 50% on 06-25 and 50.1% on 07-01, 0.1 point in 6 days carried to 12-31:
    50.05% + 0.1/6 x (182 + 4) = 53.15%."""
    snap(personas.program, personas.engineering, "2026-07-01", rate=0.501)
    body = (
        personas.client_for(personas.employee)
        .get(f"/reports/org/{personas.engineering.pk}/", {"as_of": AS_OF})
        .content.decode()
    )
    assert "Projection at the end 53%" in section(body, "headline-title")
    assert section(body, "trend-title").endswith("Actual Pace Projection")
    assert '<polyline class="series projection"' in body


def test_all_hands_deck_slides(personas, acme):
    """As of 2026-07-02, changes since 30 days before (2026-06-02 snapshots: company 20%,
    Engineering 20%, Sales 0%); Engineering's projection as on its dashboard (53%)."""
    snap(personas.program, personas.engineering, "2026-07-01", rate=0.501)
    body = personas.client_for(personas.employee).get("/reports/all-hands/deck/", {"date": AS_OF}).content.decode()
    slides = re.findall(r'class="deck-slide" id="([^"]+)"', body)
    assert slides == [
        "slide-company",
        "slide-leaderboard",
        "slide-org-1",
        "slide-org-2",
        "slide-org-3",
        "slide-executives",
        "slide-curated",
        "slide-stories",
    ]
    axes = "0% 25% 50% 75% 100% Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec target 90%"
    assert slide(body, "slide-company") == (
        "All Hands · Learning Program 2026 · 2 July 2026 · 182 days left Company progress "
        "43% of our 90% goal 3 of 7 people have met the goal Pace today 45%: behind · 1 more person to be on pace "
        f"Projection at the end: 59% Since 2 June: +22.9 pts {axes} Actual Pace Projection"
    )
    assert slide(body, "slide-leaderboard").startswith("Leaderboard Organizations ranked by completion rate")
    assert table_rows(body, "leaderboard") == [
        "1 Engineering 3 of 5 60% +40.0 pts Chris Champion",
        f"2 Sales 0 of 1 0% +0.0 pts {DASH}",
        f"3 Marketing 0 of 0 {DASH} {DASH} {DASH}",
    ]
    assert '<th scope="col" class="num">Since 2 June</th>' in body
    assert slide(body, "slide-org-1") == (
        "Organization 1 of 3 Engineering 60% of our 90% goal 3 of 5 people have met the goal "
        "Pace today 45%: on track Projection at the end: 53% Since 2 June: +40.0 pts "
        f"Sponsor: Sam Sponsor Champion: Chris Champion {axes} Actual Pace Projection"
    )
    assert slide(body, "slide-org-2") == (
        f"Organization 2 of 3 Marketing {DASH} of our 90% goal 0 of 0 people have met the goal "
        f"Pace today 45%: no one eligible Projection at the end: {DASH} Since 2 June: {DASH} {axes} Actual Pace"
    )
    assert slide(body, "slide-org-3") == (
        "Organization 3 of 3 Sales 0% of our 90% goal 0 of 1 person has met the goal "
        f"Pace today 45%: behind · 1 more person to be on pace Projection at the end: {DASH} "
        f"Since 2 June: +0.0 pts {axes} Actual Pace"
    )
    assert slide(body, "slide-executives") == (
        "Executive commitment 1 of 1 executive sponsor met the goal themselves. Sam Sponsor · Acme/Engineering met"
    )
    assert 'aria-label="Executive sponsors who met the goal: 100%"' in body
    assert slide(body, "slide-curated") == (
        "Curated share 67% of completions are courses from our curated collections (2 of 3) "
        f"Engineering 67% (2 of 3) Marketing {DASH} (0 of 0) Sales {DASH} (0 of 0)"
    )
    # The consented story only (not the private one, not the withdrawn one), first name only.
    assert slide(body, "slide-stories") == "In their words Fewer pages at night Alerts I understand. Patricia, Platform"
    assert "Quinn" not in body
    assert '<link rel="stylesheet" href="/static/css/deck.css">' in body
    assert '<script src="/static/js/deck.js" defer></script>' in body
    assert '<button type="button" class="button" data-deck-present hidden>Present</button>' in body
    assert "style=" not in body
    assert "onclick" not in body


def test_all_hands_deck_shows_two_stories_newest_first(personas, acme):
    for title in ["Second newest", "Newest"]:
        LearnerStory.objects.create(
            program=personas.program,
            employee=acme.pat,
            title=title,
            body="<i>So</i> good.",
            consent_to_share=True,
            moderation="approved",
        )
    body = personas.client_for(personas.employee).get("/reports/all-hands/deck/", {"date": AS_OF}).content.decode()
    assert slide(body, "slide-stories") == (
        "In their words Newest <i>So</i> good. Patricia, Platform Second newest <i>So</i> good. Patricia, Platform"
    )
    assert "&lt;i&gt;So&lt;/i&gt; good." in body


def test_all_hands_deck_change_since_the_day_asked(personas, acme):
    body = (
        personas.client_for(personas.employee)
        .get("/reports/all-hands/deck/", {"date": AS_OF, "since": "2026-06-25"})
        .content.decode()
    )
    assert table_rows(body, "leaderboard")[0] == "1 Engineering 3 of 5 60% +10.0 pts Chris Champion"
    assert "Since 25 June: +2.9 pts" in slide(body, "slide-company")
    assert 'name="since" value="2026-06-25"' in body


def test_all_hands_deck_bad_since_gets_a_message(personas, acme):
    response = personas.client_for(personas.employee).get("/reports/all-hands/deck/", {"date": AS_OF, "since": "soon"})
    text = visible_text(response.content.decode())
    assert "“soon” is not a date: use since=YYYY-MM-DD. The default is shown instead." in text
    assert "Since 2 June: +22.9 pts" in text


def test_all_hands_deck_without_a_program(personas):
    personas.program.delete()
    body = personas.client_for(personas.employee).get("/reports/all-hands/deck/").content.decode()
    assert "No learning program has been set up yet." in body
    assert "deck-slide" not in body
