"""django-allauth hooks: who may sign up, and who may sign in.

The roster decides. Every person on it already exists as an `Employee` row with an
unusable password (they are in the denominator whether or not they ever sign in), so
signing up never creates an employee: it *claims* the roster row, i.e. sets a password
on it, and allauth's normal e-mail verification then proves the person owns the address.

Rules (the functions below state them; the adapter and the three small forms only call
them, as STYLE.md asks of allauth hooks):

- Sign-up: the e-mail's domain is one of SIGNUP_EMAIL_DOMAINS (empty setting: any
  domain), and the e-mail (case-insensitive) belongs to an active employee who has not
  departed (departed_on empty or after today, company time zone) and has not claimed
  the account yet. Not on the roster and departed get the same message, so the page
  does not tell a stranger who used to work here. An already claimed account takes
  allauth's enumeration-safe path: the page says "check your inbox" and the address
  receives an "you already have an account" e-mail; nothing changes.
- Sign-in (password, e-mailed code, after a password reset or e-mail confirmation):
  refused for a departed employee (`AccountAdapter.pre_login`, allauth's "inactive
  account" page). `is_active` stays an admin switch, not a date rule, so an employee
  whose departure is recorded in advance can sign in until that day.
- Sign-in codes and password-reset links are only e-mailed to employees who may sign
  in (active, claimed, not departed). Anyone else gets allauth's "no account with this
  address" e-mail, which points an unclaimed roster employee to the sign-up page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from allauth.account.forms import RequestLoginCodeForm, ResetPasswordForm, SignupForm
from allauth.account.internal.flows.signup import prevent_enumeration
from allauth.account.internal.stagekit import clear_login
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from programs.models import Employee

NOT_ON_ROSTER_MESSAGE = (
    "We can't open an account for this e-mail address: it is not on the company roster. "
    "Check the address, or ask your L&D team to add you."
)


class AccountNotClaimableError(Exception):
    """The roster row cannot be claimed (any more): unknown, inactive or departed."""


class AccountAlreadyClaimedError(AccountNotClaimableError):
    """The roster row already has a password."""


def signup_domain_allowed(*, email: str) -> bool:
    """True when `email`'s domain is one of SIGNUP_EMAIL_DOMAINS, or that setting is empty."""
    domains: list[str] = settings.SIGNUP_EMAIL_DOMAINS
    return not domains or email.rpartition("@")[2].lower() in domains


def employee_has_departed(*, employee: Employee, today: dt.date) -> bool:
    """Departed: a departure date on or before `today` (company time zone)."""
    return employee.departed_on is not None and employee.departed_on <= today


def employee_may_sign_in(*, employee: Employee, today: dt.date) -> bool:
    """Active, account claimed (a usable password) and not departed on or before `today`."""
    return (
        employee.is_active
        and employee.has_claimed_account
        and not employee_has_departed(employee=employee, today=today)
    )


def signup_roster_employee(*, email: str, today: dt.date) -> Employee:
    """The roster row a sign-up with `email` would claim: same e-mail ignoring case,
    active and not departed on or before `today`. Claimed or not: the caller decides.

    Raises ValidationError with one message for "not on the roster", "inactive" and
    "departed", so the sign-up page does not reveal which one it is."""
    employee = Employee.objects.filter(email__iexact=email.strip()).first()
    if employee is None or not employee.is_active or employee_has_departed(employee=employee, today=today):
        raise forms.ValidationError(NOT_ON_ROSTER_MESSAGE, code="not_on_roster")
    return employee


def employee_account_claim(*, email: str, password: str, today: dt.date) -> Employee:
    """Claim the roster row of `email`: set `password` on that same row (no new employee)
    and drop any e-mail address records left on the unclaimed row, so allauth sets up the
    address afresh and verifies it.

    Locks the row (SELECT ... FOR UPDATE) for the check and the write, so two sign-ups
    racing for one address claim it once. Raises AccountAlreadyClaimedError when it already
    has a password, AccountNotClaimableError when it is unknown, inactive or departed."""
    with transaction.atomic():
        employee = Employee.objects.select_for_update().filter(email__iexact=email.strip()).first()
        if employee is None or not employee.is_active or employee_has_departed(employee=employee, today=today):
            raise AccountNotClaimableError(email)
        if employee.has_claimed_account:
            raise AccountAlreadyClaimedError(email)
        employee.set_password(password)
        employee.save(update_fields=["password"])
        EmailAddress.objects.filter(user=employee).delete()
    return employee


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def clean_email(self, email: str) -> str:
        """Sign-up, password reset: only the company's domains (SIGNUP_EMAIL_DOMAINS)."""
        email = super().clean_email(email).strip().lower()
        if not signup_domain_allowed(email=email):
            domains = ", ".join(f"@{d}" for d in settings.SIGNUP_EMAIL_DOMAINS)
            raise forms.ValidationError(f"Use your company e-mail address ({domains}).", code="email_domain")
        return email

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: forms.BaseForm, commit: bool = True
    ) -> AbstractBaseUser:
        """Sign-up claims the roster row instead of saving the new, empty `user`."""
        email = form.cleaned_data["email"]
        try:
            return employee_account_claim(
                email=email, password=form.cleaned_data["password1"], today=timezone.localdate()
            )
        except AccountAlreadyClaimedError:
            # Claimed by a sign-up that won the race: the same answer as any claimed account.
            raise ImmediateHttpResponse(prevent_enumeration(request, email=email)) from None
        except AccountNotClaimableError:
            messages.error(request, NOT_ON_ROSTER_MESSAGE)
            raise ImmediateHttpResponse(redirect("account_signup")) from None

    def pre_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> HttpResponse | None:
        """Departed employees cannot sign in, by any method."""
        if isinstance(user, Employee) and employee_has_departed(employee=user, today=timezone.localdate()):
            clear_login(request)
            return self.respond_user_inactive(request, user)
        return super().pre_login(request, user, **kwargs)


class RosterSignupForm(SignupForm):
    """allauth's sign-up form, where an existing (unclaimed) roster row is the expected
    case instead of an "already registered" conflict."""

    def validate_unique_email(self, value: str) -> str:
        employee = signup_roster_employee(email=value, today=timezone.localdate())
        if employee.has_claimed_account:
            return super().validate_unique_email(value)
        self.account_already_exists = False
        return get_adapter().validate_unique_email(value)

    def try_save(self, request: HttpRequest) -> tuple[AbstractBaseUser | None, HttpResponse | None]:
        with transaction.atomic():  # the password and the e-mail address records, together
            return super().try_save(request)


class RosterRequestLoginCodeForm(RequestLoginCodeForm):
    """Codes go only to employees who may sign in (see `employee_may_sign_in`)."""

    def clean_email(self) -> str:
        email = super().clean_email()
        user = getattr(self, "_user", None)
        if isinstance(user, Employee) and not employee_may_sign_in(employee=user, today=timezone.localdate()):
            self._user = None
        return email


class RosterResetPasswordForm(ResetPasswordForm):
    """Reset links go only to employees who may sign in (see `employee_may_sign_in`)."""

    users: list[AbstractBaseUser]

    def clean_email(self) -> str:
        email = super().clean_email()
        today = timezone.localdate()
        self.users = [
            u for u in self.users if isinstance(u, Employee) and employee_may_sign_in(employee=u, today=today)
        ]
        return email
