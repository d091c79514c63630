"""Authentication with django-allauth: sign-up claims the roster row, e-mail verification,
password and code sign-in, password reset, departed employees, logout by POST, pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from programs.adapters import (
    NOT_ON_ROSTER_MESSAGE,
    AccountAlreadyClaimedError,
    AccountNotClaimableError,
    RosterSignupForm,
    employee_account_claim,
)
from programs.models import Employee
from tests.conftest import PASSWORD
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Learning-Is-Fun-2026"
SIGNUP_URL = "/accounts/signup/"
LOGIN_URL = "/accounts/login/"
VERIFICATION_SENT_URL = "/accounts/confirm-email/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts in the cache (this run's own Redis db): start each test at zero."""
    cache.clear()


def roster(email: str, **fields) -> Employee:
    """A roster employee who has never signed in: the row exists, the password is unusable."""
    employee = EmployeeFactory(email=email, password=None, **fields)
    assert employee.has_usable_password() is False
    return employee


def signup(client: Client, email: str, password: str = NEW_PASSWORD):
    return client.post(SIGNUP_URL, {"email": email, "password1": password, "password2": password})


def signed_in_pk(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def link_in(body: str, path_start: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_start) + r"\S+)", body)
    assert match, body
    return match.group(1)


def test_roster_employee_claims_the_same_row_and_signs_in_after_confirming(client, mailoutbox):
    dana = roster("dana@acme.example", full_name="Dana Data")
    employees_before = Employee.objects.count()

    response = signup(client, "dana@acme.example")

    assert response.status_code == 302
    assert response.url == VERIFICATION_SENT_URL
    assert Employee.objects.count() == employees_before
    dana.refresh_from_db()
    assert dana.has_usable_password() is True
    assert dana.check_password(NEW_PASSWORD) is True
    assert dana.full_name == "Dana Data"
    assert list(EmailAddress.objects.filter(user=dana).values_list("email", "primary", "verified")) == [
        ("dana@acme.example", True, False)
    ]
    assert signed_in_pk(client) is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@acme.example"]
    assert mailoutbox[0].subject == "[LearnHub] Please Confirm Your Email Address"

    # Not verified yet: the password is right, but mandatory verification holds the door.
    response = Client().post(LOGIN_URL, {"login": "dana@acme.example", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == VERIFICATION_SENT_URL

    confirm_url = link_in(mailoutbox[0].body, "/accounts/confirm-email/")
    assert client.get(confirm_url).status_code == 200
    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(user=dana).verified is True

    browser = Client()
    response = browser.post(LOGIN_URL, {"login": "dana@acme.example", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"
    assert signed_in_pk(browser) == str(dana.pk)


def test_email_case_does_not_matter_for_claiming(client, mailoutbox):
    bob = roster("bob@acme.example")
    employees_before = Employee.objects.count()

    response = signup(client, "Bob@ACME.example")

    assert response.status_code == 302
    assert response.url == VERIFICATION_SENT_URL
    assert Employee.objects.count() == employees_before
    bob.refresh_from_db()
    assert bob.email == "bob@acme.example"
    assert bob.check_password(NEW_PASSWORD) is True
    assert list(EmailAddress.objects.filter(user=bob).values_list("email", flat=True)) == ["bob@acme.example"]
    assert mailoutbox[0].to == ["bob@acme.example"]


def test_someone_not_on_the_roster_is_refused_and_nothing_is_created(client, mailoutbox):
    roster("dana@acme.example")
    employees_before = Employee.objects.count()

    response = signup(client, "stranger@acme.example")

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [NOT_ON_ROSTER_MESSAGE]}
    assert Employee.objects.count() == employees_before
    assert not Employee.objects.filter(email__iexact="stranger@acme.example").exists()
    assert EmailAddress.objects.count() == 0
    assert mailoutbox == []


def test_wrong_domain_is_refused_even_for_a_roster_row(client, settings, mailoutbox):
    settings.SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    contractor = roster("casey@contractor.example")

    response = signup(client, "casey@contractor.example")

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Use your company e-mail address (@acme.example)."]}
    contractor.refresh_from_db()
    assert contractor.has_usable_password() is False
    assert EmailAddress.objects.count() == 0
    assert mailoutbox == []

    roster("dana@acme.example")
    assert signup(client, "dana@acme.example").url == VERIFICATION_SENT_URL


@pytest.mark.parametrize("departed_days_ago", [0, 30])
def test_departed_employee_is_refused_with_the_not_on_roster_message(client, mailoutbox, departed_days_ago):
    today = timezone.localdate()
    gone = roster("gone@acme.example", departed_on=today - dt.timedelta(days=departed_days_ago))

    response = signup(client, "gone@acme.example")

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [NOT_ON_ROSTER_MESSAGE]}
    gone.refresh_from_db()
    assert gone.has_usable_password() is False
    assert EmailAddress.objects.count() == 0
    assert mailoutbox == []


def test_departure_recorded_for_tomorrow_does_not_block_sign_up_today(client):
    leaving = roster("leaving@acme.example", departed_on=timezone.localdate() + dt.timedelta(days=1))

    assert signup(client, "leaving@acme.example").url == VERIFICATION_SENT_URL
    leaving.refresh_from_db()
    assert leaving.check_password(NEW_PASSWORD) is True


def test_already_claimed_account_is_refused_without_telling_the_page(personas, client, mailoutbox):
    """Enumeration-safe: the page looks like any sign-up, the owner's inbox gets the truth."""
    employees_before = Employee.objects.count()

    response = signup(client, "bob@acme.example", password="Someone-Else-2026")

    assert response.status_code == 302
    assert response.url == VERIFICATION_SENT_URL
    assert Employee.objects.count() == employees_before
    bob = Employee.objects.get(pk=personas.employee.pk)
    assert bob.check_password(PASSWORD) is True
    assert bob.check_password("Someone-Else-2026") is False
    assert EmailAddress.objects.filter(user=bob).count() == 0
    assert signed_in_pk(client) is None
    assert [(m.to, m.subject) for m in mailoutbox] == [(["bob@acme.example"], "[LearnHub] Account Already Exists")]


def test_already_claimed_account_gets_an_on_page_error_without_enumeration_prevention(
    personas, client, settings, mailoutbox
):
    settings.ACCOUNT_PREVENT_ENUMERATION = False

    response = signup(client, "BOB@acme.example", password="Someone-Else-2026")

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["A user is already registered with this email address."]}
    assert Employee.objects.get(pk=personas.employee.pk).check_password(PASSWORD) is True
    assert mailoutbox == []


def test_a_sign_up_that_loses_the_race_for_a_row_changes_nothing(rf, mailoutbox):
    """Two sign-ups for one address both pass validation; the row lock lets only the first set a password."""
    dana = roster("dana@acme.example")
    request = rf.post(SIGNUP_URL)
    SessionMiddleware(lambda r: None).process_request(request)
    request._messages = FallbackStorage(request)
    request.user = AnonymousUser()
    form = RosterSignupForm(data={"email": "dana@acme.example", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    with context.request_context(request):
        assert form.is_valid(), form.errors
        employee_account_claim(email="dana@acme.example", password="First-Claimer-2026", today=timezone.localdate())
        with pytest.raises(ImmediateHttpResponse) as stopped:
            form.try_save(request)

    assert stopped.value.response.status_code == 302
    assert stopped.value.response.url == VERIFICATION_SENT_URL
    dana.refresh_from_db()
    assert dana.check_password("First-Claimer-2026") is True
    assert EmailAddress.objects.count() == 0
    assert Employee.objects.filter(email__iexact="dana@acme.example").count() == 1
    assert [m.subject for m in mailoutbox] == ["[LearnHub] Account Already Exists"]


def test_claim_refuses_claimed_departed_and_unknown_rows(personas):
    today = timezone.localdate()
    roster("gone@acme.example", departed_on=today)

    with pytest.raises(AccountAlreadyClaimedError):
        employee_account_claim(email="bob@acme.example", password=NEW_PASSWORD, today=today)
    with pytest.raises(AccountNotClaimableError):
        employee_account_claim(email="gone@acme.example", password=NEW_PASSWORD, today=today)
    with pytest.raises(AccountNotClaimableError):
        employee_account_claim(email="nobody@acme.example", password=NEW_PASSWORD, today=today)

    assert Employee.objects.get(pk=personas.employee.pk).check_password(PASSWORD) is True
    assert Employee.objects.get(email="gone@acme.example").has_usable_password() is False
    assert not Employee.objects.filter(email="nobody@acme.example").exists()


def test_bad_password_keeps_the_email_and_claims_nothing(client):
    dana = roster("dana@acme.example")

    response = signup(client, "dana@acme.example", password="123")

    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert 'value="dana@acme.example"' in response.content.decode()
    dana.refresh_from_db()
    assert dana.has_usable_password() is False


def test_login_by_code_sends_a_code_to_a_claimed_employee_and_signs_in(personas, client, mailoutbox):
    # Claimed through sign-up but the confirmation link was never followed.
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=False)

    response = client.post(reverse("account_request_login_code"), {"email": "Bob@acme.example"})

    assert response.status_code == 302
    assert response.url == reverse("account_confirm_login_code")
    assert [(m.to, m.subject) for m in mailoutbox] == [(["bob@acme.example"], "[LearnHub] Sign-In Code")]
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mailoutbox[0].body, re.MULTILINE)
    assert code, mailoutbox[0].body

    response = client.post(reverse("account_confirm_login_code"), {"code": code.group(1)})

    assert response.status_code == 302
    assert signed_in_pk(client) == str(personas.employee.pk)
    # The code proved the address: it is now verified.
    assert list(EmailAddress.objects.filter(user=personas.employee).values_list("email", "verified")) == [
        ("bob@acme.example", True)
    ]


def test_login_by_code_sends_no_code_to_unclaimed_or_departed_employees(client, mailoutbox):
    roster("dana@acme.example")
    EmployeeFactory(email="gone@acme.example", departed_on=timezone.localdate())  # claimed, then left

    for email in ["dana@acme.example", "gone@acme.example"]:
        response = Client().post(reverse("account_request_login_code"), {"email": email})
        assert response.status_code == 302

    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["dana@acme.example"], "[LearnHub] Unknown Account"),
        (["gone@acme.example"], "[LearnHub] Unknown Account"),
    ]
    assert all(reverse("account_signup") in m.body for m in mailoutbox)


def test_departed_employee_cannot_sign_in_with_a_password(client):
    gone = EmployeeFactory(email="gone@acme.example", departed_on=timezone.localdate())
    EmailAddress.objects.create(user=gone, email=gone.email, primary=True, verified=True)

    response = client.post(LOGIN_URL, {"login": "gone@acme.example", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("account_inactive")
    assert signed_in_pk(client) is None
    assert "no longer active" in client.get(response.url).content.decode()


def test_verified_employee_signs_in_with_password_and_logs_out_by_post_only(personas, client):
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=True)

    response = client.post(LOGIN_URL, {"login": "BOB@acme.example", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_pk(client) == str(personas.employee.pk)

    response = client.get(reverse("account_logout"))
    assert response.status_code == 200
    assert signed_in_pk(client) == str(personas.employee.pk)

    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert signed_in_pk(client) is None


def test_wrong_password_is_refused(personas, client):
    response = client.post(LOGIN_URL, {"login": "bob@acme.example", "password": "not-the-password"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The email address and/or password you specified are not correct."
    ]
    assert signed_in_pk(client) is None


def test_password_reset_mails_a_claimed_employee_a_working_link(personas, client, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "bob@acme.example"})

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")
    assert [(m.to, m.subject) for m in mailoutbox] == [(["bob@acme.example"], "[LearnHub] Password Reset Email")]
    key_url = link_in(mailoutbox[0].body, "/accounts/password/reset/key/")

    form_url = client.get(key_url).url  # allauth moves the key out of the URL first
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_from_key_done")
    bob = Employee.objects.get(pk=personas.employee.pk)
    assert bob.check_password(NEW_PASSWORD) is True


def test_password_reset_sends_no_link_to_an_unclaimed_employee(client, mailoutbox):
    dana = roster("dana@acme.example")

    response = client.post(reverse("account_reset_password"), {"email": "dana@acme.example"})

    assert response.status_code == 302
    assert [(m.to, m.subject) for m in mailoutbox] == [(["dana@acme.example"], "[LearnHub] Unknown Account")]
    assert "/accounts/password/reset/key/" not in mailoutbox[0].body
    dana.refresh_from_db()
    assert dana.has_usable_password() is False


ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_request_login_code",
    "account_email_verification_sent",
    "account_inactive",
]
SIGNED_IN_PAGES = ["account_change_password", "account_email", "account_logout"]


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_entrance_pages_use_the_learnhub_layout(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<link rel="stylesheet" href="/static/css/learnhub.css">' in html
    assert html.count("<h1>") == 1
    assert "<script" not in html


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_account_pages_use_the_learnhub_layout(personas, name):
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=True)
    response = personas.client_for(personas.employee).get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<link rel="stylesheet" href="/static/css/learnhub.css">' in html
    assert '<nav class="account-links" aria-label="Your account">' in html
    assert html.count("<h1>") == 1
    assert "<script" not in html


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("account_login", ["id_login", "id_password"]),
        ("account_signup", ["id_email", "id_password1", "id_password2"]),
        ("account_reset_password", ["id_email"]),
        ("account_request_login_code", ["id_email"]),
    ],
)
def test_every_field_has_a_label_and_errors_sit_next_to_it(client, name, labels):
    html = client.get(reverse(name)).content.decode()
    for field_id in labels:
        assert f'<label for="{field_id}">' in html
    assert '<form class="stacked' in html

    html = client.post(reverse(name), {}).content.decode()
    first_field = labels[0]
    assert re.search(rf'id="{first_field}"[^>]*>\s*<ul class="errorlist"[^>]*>\s*<li>This field is required.', html), (
        html
    )


def test_unconfirmed_address_gets_a_new_confirmation_link_from_the_email_page(personas, mailoutbox):
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=False)
    client = personas.client_for(personas.employee)

    assert "Not confirmed yet" in client.get("/accounts/email/").content.decode()
    response = client.post("/accounts/email/", {"email": "bob@acme.example", "action_send": ""})

    assert response.status_code == 302
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["bob@acme.example"], "[LearnHub] Please Confirm Your Email Address")
    ]
    assert EmailAddress.objects.filter(user=personas.employee).count() == 1


# --- Failed sign-ins: throttled per address, without locking the owner out ----------------


def sign_in_from(address: str, email: str, password: str) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.post(LOGIN_URL, {"login": email, "password": password})
    return client


def test_five_wrong_passwords_do_not_lock_the_owner_out_from_another_address(personas):
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=True)
    for _ in range(5):
        assert signed_in_pk(sign_in_from("203.0.113.9", "bob@acme.example", "guess")) is None

    guesser = Client(REMOTE_ADDR="203.0.113.9")
    refused = guesser.post(LOGIN_URL, {"login": "bob@acme.example", "password": PASSWORD})
    owner = sign_in_from("198.51.100.4", "bob@acme.example", PASSWORD)

    assert "Too many failed login attempts" in refused.content.decode()
    assert signed_in_pk(guesser) is None  # the guessing address is throttled, even with the right password
    assert signed_in_pk(owner) == str(personas.employee.pk)  # the owner, elsewhere, gets in


def test_one_address_trying_many_accounts_is_throttled(personas):
    EmailAddress.objects.create(user=personas.employee, email="bob@acme.example", primary=True, verified=True)
    for n in range(10):
        sign_in_from("203.0.113.9", f"someone{n}@acme.example", "guess")

    guesser = sign_in_from("203.0.113.9", "bob@acme.example", PASSWORD)

    assert signed_in_pk(guesser) is None
    assert signed_in_pk(sign_in_from("198.51.100.4", "bob@acme.example", PASSWORD)) == str(personas.employee.pk)
