"""People who leave lose access at once: a departure date that has come (from a roster
import, `--mark-missing-departed`, the API's roster push or the Django admin) and an
admin's deactivation end the person's open sessions and make their API tokens stop
working; a date still to come is ended by the daily task on its day. Their appointments
stay, shown to L&D admins as vacant, and grant nothing. Each refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from champions.appointments import appointment_create
from champions.models import ExecutiveSponsor, LearningChampion, ProgressUpdate
from champions.selectors import organizations_without_appointments
from learnhub.api.services import api_token_create
from learnhub.roles import has_access, is_champion_of, is_sponsor_of, ld_admin_grant
from programs import tasks
from programs.access import departures_apply
from programs.models import ApiToken, Employee, EmployeeSession
from programs.roster import roster_import
from tests.conftest import PASSWORD, Personas
from tests.factories import EmployeeFactory
from tests.test_admin_privileges import change_form

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hooks end access, as in production

HEADER = "email,full_name,organization,departed_on\n"


def today() -> dt.date:
    return timezone.localdate()


def roster(*rows: tuple[Employee, dt.date | None]) -> io.BytesIO:
    lines = [f"{p.email},{p.full_name},{p.organization.path},{day.isoformat() if day else ''}\n" for p, day in rows]
    return io.BytesIO((HEADER + "".join(lines)).encode())


def sessions_of(person: Employee) -> int:
    return EmployeeSession.objects.filter(employee=person).count()


def live_tokens_of(person: Employee) -> int:
    return ApiToken.objects.filter(created_by=person, revoked_at__isnull=True).count()


def post_update(client: Client, p: Personas):
    return client.post(
        reverse("champions:update_new"), {"organization": p.engineering.pk, "title": "Still here", "body": "!"}
    )


def refused_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def api(token: str, method: str, path: str, body: dict | None = None):
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


# --- The session ------------------------------------------------------------------------


def test_a_departure_already_past_ends_the_open_session_at_once(personas):
    p = personas
    browser = p.client_for(p.champion)
    assert browser.get("/").status_code == 200
    assert sessions_of(p.champion) == 1
    updates = ProgressUpdate.objects.count()

    result = roster_import(file=roster((p.champion, today() - dt.timedelta(days=1))))

    assert (result.applied, result.updated) == (True, 1)
    assert sessions_of(p.champion) == 0
    assert refused_to_sign_in(post_update(browser, p))
    assert refused_to_sign_in(browser.get("/reports/export/people.csv", {"org": p.engineering.pk}))
    assert refused_to_sign_in(browser.get("/"))
    assert ProgressUpdate.objects.count() == updates


def test_a_departure_today_counts_as_gone_today(personas):
    p = personas
    browser = p.client_for(p.employee)

    roster_import(file=roster((p.employee, today())))

    assert sessions_of(p.employee) == 0
    assert refused_to_sign_in(browser.get("/"))


def test_a_later_departure_keeps_access_until_its_day_and_the_daily_task_ends_it(personas):
    p = personas
    leaving_on = today() + dt.timedelta(days=30)
    browser = p.client_for(p.champion)
    _, raw = api_token_create(created_by=p.admin, name="BI", scope="read")
    admin_browser = p.client_for(p.admin)

    roster_import(file=roster((p.champion, leaving_on), (p.admin, leaving_on)))

    assert browser.get("/").status_code == 200
    assert post_update(browser, p).status_code == 302 and ProgressUpdate.objects.filter(title="Still here").exists()
    assert api(raw, "get", "/api/v1/employees/").status_code == 200
    ended_early = departures_apply(day=leaving_on - dt.timedelta(days=1))
    assert (ended_early.sessions, ended_early.tokens) == (0, 0)
    assert (sessions_of(p.champion), live_tokens_of(p.admin)) == (1, 1)

    # The day comes: every request of the open sessions is refused from then on ...
    Employee.objects.filter(pk__in=[p.champion.pk, p.admin.pk]).update(departed_on=today())
    assert refused_to_sign_in(browser.get("/"))
    assert api(raw, "get", "/api/v1/employees/").status_code == 401
    # ... and the daily task deletes the sessions and revokes the tokens, once.
    ended = departures_apply()
    assert (ended.sessions, ended.tokens) == (2, 1)
    assert (sessions_of(p.champion), sessions_of(p.admin), live_tokens_of(p.admin)) == (0, 0, 0)
    assert ApiToken.objects.get().revoked_reason == f"Its creator left on {today():%Y-%m-%d}."
    again = departures_apply()
    assert (again.sessions, again.tokens) == (0, 0)
    assert refused_to_sign_in(admin_browser.get(reverse("programs:roster")))


def test_the_daily_task_is_scheduled_just_after_midnight_and_runs(personas):
    p = personas
    p.client_for(p.employee)
    Employee.objects.filter(pk=p.employee.pk).update(departed_on=today())

    assert settings.CELERY_BEAT_SCHEDULE["programs-departures"]["task"] == "programs.tasks.departures_apply"
    schedule = settings.CELERY_BEAT_SCHEDULE["programs-departures"]["schedule"]
    assert (schedule.hour, schedule.minute) == ({0}, {1})
    assert tasks.departures_apply.delay().get() == {"sessions": 1, "tokens": 0}


def test_mark_missing_departed_ends_the_sessions_of_everyone_missing(personas):
    p = personas
    browsers = {who: p.client_for(getattr(p, who)) for who in ("employee", "outsider", "admin")}

    result = roster_import(
        file=roster((p.admin, None), (p.sponsor, None), (p.champion, None)), mark_missing_departed=True
    )

    assert result.departed == 2
    assert (sessions_of(p.employee), sessions_of(p.outsider), sessions_of(p.admin)) == (0, 0, 1)
    assert refused_to_sign_in(browsers["employee"].get("/"))
    assert refused_to_sign_in(browsers["outsider"].get("/"))
    assert browsers["admin"].get("/").status_code == 200


def test_a_departed_person_cannot_sign_in_anywhere(personas):
    p = personas
    Employee.objects.filter(pk=p.admin.pk).update(departed_on=today())

    admin_login = Client().post(
        reverse("admin:login"), {"username": p.admin.email, "password": PASSWORD, "next": "/admin/"}
    )
    app_login = Client().post(reverse("account_login"), {"login": p.admin.email, "password": PASSWORD})

    assert admin_login.status_code == 200 and "_auth_user_id" not in admin_login.wsgi_request.session
    assert "_auth_user_id" not in app_login.wsgi_request.session
    assert sessions_of(p.admin) == 0


# --- API tokens ---------------------------------------------------------------------------


def test_a_departed_ld_admins_token_stops_reading_and_writing(personas):
    p = personas
    _, raw = api_token_create(created_by=p.admin, name="HR push", scope="read-write")
    assert api(raw, "get", "/api/v1/employees/").status_code == 200
    people = Employee.objects.count()

    roster_import(file=roster((p.admin, today() - dt.timedelta(days=3))))

    read = api(raw, "get", "/api/v1/employees/")
    write = api(
        raw,
        "post",
        "/api/v1/employees/bulk/",
        {"rows": [{"email": "new@acme.example", "full_name": "New", "organization": "Acme/Engineering"}]},
    )
    assert (read.status_code, write.status_code) == (401, 401)
    assert Employee.objects.count() == people
    token = ApiToken.objects.get()
    assert token.revoked_at is not None
    assert token.revoked_reason == "Its creator left the company (departure recorded on the roster)."


def test_the_api_roster_push_ends_access_like_the_file(personas):
    p = personas
    _, admin_token = api_token_create(created_by=p.admin, name="HR push", scope="read-write")
    browser = p.client_for(p.employee)
    row = {
        "email": p.employee.email,
        "full_name": p.employee.full_name,
        "organization": "Acme/Engineering",
        "departed_on": (today() - dt.timedelta(days=1)).isoformat(),
    }

    response = api(admin_token, "post", "/api/v1/employees/bulk/", {"rows": [row]})

    assert response.status_code == 200
    assert sessions_of(p.employee) == 0
    assert refused_to_sign_in(browser.get("/"))


# --- Deactivation and departure in the Django admin ---------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_active": None}, "Its creator's account was deactivated."),
        ({"departed_on": "2026-01-31"}, "Its creator left on 2026-01-31."),
    ],
    ids=["deactivated", "departure recorded"],
)
def test_an_admin_who_deactivates_someone_or_records_a_past_departure_ends_their_access(personas, change, reason):
    p = personas
    colleague = EmployeeFactory(email="lee@acme.example", full_name="Lee", organization=p.engineering)
    _, raw = api_token_create(created_by=p.admin, name="mine", scope="read")
    ld_admin_grant(employee=colleague)
    _, colleague_token = api_token_create(created_by=colleague, name="theirs", scope="read")
    colleague_browser = p.client_for(colleague)

    response = p.client_for(p.admin).post(
        reverse("admin:programs_employee_change", args=[colleague.pk]), change_form(colleague, **change)
    )

    assert response.status_code == 302
    assert sessions_of(colleague) == 0
    assert refused_to_sign_in(colleague_browser.get("/"))
    assert api(colleague_token, "get", "/api/v1/employees/").status_code == 401
    assert ApiToken.objects.get(name="theirs").revoked_reason == reason
    assert api(raw, "get", "/api/v1/employees/").status_code == 200  # the acting admin keeps theirs


# --- Appointments become vacant -------------------------------------------------------------


def test_a_departed_sponsors_appointment_is_vacant_and_grants_nothing(personas):
    p = personas
    left_on = today() - dt.timedelta(days=2)
    roster_import(file=roster((p.sponsor, left_on)))

    assert ExecutiveSponsor.objects.filter(employee=p.sponsor).exists()  # kept, for the record
    assert is_sponsor_of(p.sponsor, p.program, p.engineering) is False
    gaps = {g.organization.path: g for g in organizations_without_appointments(program=p.program)}
    assert (gaps["Acme/Engineering"].has_sponsor, gaps["Acme/Engineering"].has_champion) == (False, True)
    assert gaps["Acme/Engineering"].vacated == (f"Executive sponsor Sam Sponsor left on {left_on:%Y-%m-%d}",)
    page = p.client_for(p.admin).get(reverse("manage:appointments", args=[p.program.pk])).content.decode()
    assert f"Vacant: left on {left_on:%-d %b %Y}" in page
    assert f"Executive sponsor Sam Sponsor left on {left_on:%Y-%m-%d}" in page


def test_someone_leaving_next_month_can_be_appointed_and_someone_gone_cannot(personas):
    p = personas
    leaving = EmployeeFactory(
        email="leaving@acme.example", organization=p.sales, departed_on=today() + dt.timedelta(days=30)
    )
    gone = EmployeeFactory(email="gone@acme.example", organization=p.sales, departed_on=today())

    appointment = appointment_create(program=p.program, organization=p.sales, role="sponsor", email=leaving.email)

    assert appointment.employee == leaving and is_sponsor_of(leaving, p.program, p.sales)
    with pytest.raises(Exception, match=f"left on {today():%Y-%m-%d}"):
        appointment_create(program=p.program, organization=p.sales, role="champion", email=gone.email)
    assert not LearningChampion.objects.filter(employee=gone).exists()


def test_has_access_is_the_one_rule(personas):
    p = personas
    day = dt.date(2026, 6, 30)
    p.employee.departed_on = day
    assert has_access(p.employee, day=day - dt.timedelta(days=1)) is True
    assert has_access(p.employee, day=day) is False
    p.employee.departed_on, p.employee.is_active = None, False
    assert has_access(p.employee, day=day) is False
    assert is_champion_of(p.champion, p.program, p.engineering) is True
