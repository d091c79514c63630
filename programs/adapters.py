"""django-allauth hooks: who may sign up, and who may sign in.

The roster decides. Every person on it already exists as an `Employee` row with an
unusable password (they are in the denominator whether or not they ever sign in), so
signing up never creates an employee: it *claims* the roster row, i.e. sets a password
on it, and allauth's normal e-mail verification then proves the person owns the address.

Rules (the functions below state them; the adapter and the three small forms only call
them: no rule lives in a form or a hook):

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
- Failed sign-ins: allauth's limits (ACCOUNT_RATE_LIMITS "login_failed"), where the
  per-account limit counts per account *and client address* (`AccountAdapter`), so
  someone guessing a password from one address cannot lock the owner out: the owner's
  correct password from another address still signs in. The per-address limit slows a
  guesser whatever accounts they try.
- Sign-in codes and password-reset links are only e-mailed to employees who may sign
  in (active, claimed, not departed). Anyone else gets allauth's "no account with this
  address" e-mail, which points an unclaimed roster employee to the sign-up page.
- Company SSO (optional, OIDC_* settings; `SocialAccountAdapter`): the identity provider
  must vouch for the e-mail (`email_verified`), its domain must be allowed, and it must
  belong to an active roster employee who has not departed: the same message as sign-up
  otherwise. SSO never creates an employee; it links the identity to the roster row,
  records the address as verified and signs that employee in, claimed or not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from allauth.account.forms import RequestLoginCodeForm, ResetPasswordForm, SignupForm
from allauth.account.internal.flows.signup import prevent_enumeration
from allauth.account.internal.stagekit import clear_login
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal.datakit import parse_bool_safely
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.internal.flows.email_authentication import wipe_password
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from learnhub.roles import has_access, is_ld_admin
from programs.languages import person_language_activate
from programs.models import Employee

NOT_ON_ROSTER_MESSAGE = (
    "We can't open an account for this e-mail address: it is not on the company roster. "
    "Check the address, or ask your L&D team to add you."
)

SSO_EMAIL_NOT_VERIFIED_MESSAGE = (
    "Your company sign-in did not confirm your e-mail address, so LearnHub cannot tell who you are. "
    "Ask your IT team to verify the address at the company sign-in, or sign in with your password."
)
SSO_LINKED_ELSEWHERE_MESSAGE = (
    "This company sign-in is already linked to another LearnHub account. Ask your L&D team to check the roster."
)

SSO_OTHER_PERSON_MESSAGE = (
    "This company sign-in belongs to someone else on the roster, so it cannot be linked to your account."
)


class AccountNotClaimableError(Exception):
    """The roster row cannot be claimed (any more): unknown, inactive or departed."""


class AccountAlreadyClaimedError(AccountNotClaimableError):
    """The roster row already has a password."""


def signup_domain_allowed(*, email: str) -> bool:
    """True when `email`'s domain is one of SIGNUP_EMAIL_DOMAINS, or that setting is empty."""
    domains: list[str] = settings.SIGNUP_EMAIL_DOMAINS
    return not domains or email.rpartition("@")[2].lower() in domains


def email_domain_message() -> str:
    """What to tell someone whose address is outside SIGNUP_EMAIL_DOMAINS."""
    domains = ", ".join(f"@{d}" for d in settings.SIGNUP_EMAIL_DOMAINS)
    return f"Use your company e-mail address ({domains})."


def employee_may_sign_in(*, employee: Employee, today: dt.date) -> bool:
    """Has access (`learnhub.roles.has_access`: active, not departed on or before `today`)
    and has claimed the account (a usable password)."""
    return has_access(employee, day=today) and employee.has_claimed_account


def signup_roster_employee(*, email: str, today: dt.date) -> Employee:
    """The roster row a sign-up with `email` would claim: same e-mail ignoring case,
    active and not departed on or before `today`. Claimed or not: the caller decides.

    Raises ValidationError with one message for "not on the roster", "inactive" and
    "departed", so the sign-up page does not reveal which one it is."""
    employee = Employee.objects.filter(email__iexact=email.strip()).first()
    if employee is None or not has_access(employee, day=today):
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
        if employee is None or not has_access(employee, day=today):
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

    def login(self, request: HttpRequest, user: Any) -> None:
        """Sign in, then speak the person's saved language for the rest of the request: the
        page language was picked before anyone was signed in, and the "signed in" message is
        written next."""
        super().login(request, user)
        person_language_activate(request, user)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """L&D admins land on their to-do home (/manage/), everyone else on their own
        home; a `next` address asked for before signing in still wins (allauth)."""
        if is_ld_admin(request.user):
            return reverse("manage:home")
        return super().get_login_redirect_url(request)

    def clean_email(self, email: str) -> str:
        """Sign-up, password reset: only the company's domains (SIGNUP_EMAIL_DOMAINS)."""
        email = super().clean_email(email).strip().lower()
        if not signup_domain_allowed(email=email):
            raise forms.ValidationError(email_domain_message(), code="email_domain")
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

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth's key of the per-account failed sign-in limit, made per account and
        client address (see the module docstring)."""
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{self.get_client_ip(request)}"

    def pre_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> HttpResponse | None:
        """Departed employees cannot sign in, by any method."""
        if isinstance(user, Employee) and user.has_departed(timezone.localdate()):
            clear_login(request)
            return self.respond_user_inactive(request, user)
        return super().pre_login(request, user, **kwargs)


def sso_roster_employee(*, email: str, email_verified: bool, today: dt.date) -> Employee:
    """The roster employee a company SSO identity signs in as.

    The identity provider must vouch for `email` (its `email_verified` claim), the domain
    must be one of SIGNUP_EMAIL_DOMAINS (empty setting: any domain), and the address
    (case-insensitive) must belong to an active employee who has not departed on or before
    `today`. Whether the employee has set a password does not matter: SSO needs none.

    Raises ValidationError: an unverified (or missing) address, a domain outside the list,
    or NOT_ON_ROSTER_MESSAGE, the sign-up page's message, for unknown, inactive and departed."""
    email = email.strip()
    if not email or not email_verified:
        raise forms.ValidationError(SSO_EMAIL_NOT_VERIFIED_MESSAGE, code="email_unverified")
    if not signup_domain_allowed(email=email):
        raise forms.ValidationError(email_domain_message(), code="email_domain")
    return signup_roster_employee(email=email, today=today)


def employee_sso_link(*, request: HttpRequest, sociallogin: SocialLogin, employee: Employee) -> None:
    """Attach a company SSO sign-in to `employee`, the roster row it was matched to.

    In one transaction: a password set on the row while its address was never verified is
    wiped (allauth's rule: whoever typed this person's address at sign-up must not keep
    access now that the real owner is here); the roster address is recorded as verified and
    primary (the identity provider vouched for it); and the identity is connected to the
    row (a SocialAccount), unless it already is. Never creates an employee."""
    with transaction.atomic():
        wipe_password(request, employee, employee.email)
        address = EmailAddress.objects.filter(user=employee, email__iexact=employee.email).first()
        if address is None:
            EmailAddress.objects.filter(user=employee, primary=True).update(primary=False)
            EmailAddress.objects.create(user=employee, email=employee.email.lower(), verified=True, primary=True)
        elif not (address.verified and address.primary):
            EmailAddress.objects.filter(user=employee, primary=True).exclude(pk=address.pk).update(primary=False)
            address.verified = True
            address.primary = True
            address.save(update_fields=["verified", "primary"])
        if not sociallogin.is_existing:
            sociallogin.connect(request, employee)


def sso_claimed_email(*, sociallogin: SocialLogin) -> tuple[str, bool]:
    """The e-mail address the identity provider gave and whether it vouches for it, read from
    the claims themselves (the userinfo response, else the ID token), not from allauth's list
    of addresses, which leaves out any address our sign-up rules reject. No address:
    ("", False).

    The vouching is the `email_verified` claim (userinfo, else ID token). Microsoft Entra ID
    never sends it for work accounts; there the optional ID-token claim `xms_edov` (the
    address's domain is verified by the tenant) stands in for it when `email_verified` is
    absent."""
    data = sociallogin.account.extra_data or {}
    id_token = data["id_token"] if isinstance(data.get("id_token"), dict) else {}
    claims = data.get("userinfo") or id_token or data
    if not claims.get("email") and id_token:
        claims = id_token
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return "", False
    verified = claims.get("email_verified", id_token.get("email_verified", id_token.get("xms_edov")))
    return email.strip(), parse_bool_safely(verified)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Company SSO signs in roster employees only (see `sso_roster_employee`)."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """SSO never creates an employee: everyone it may sign in is already on the roster."""
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Every SSO sign-in, first or not: match the roster, refuse with a message, or link."""
        email, email_verified = sso_claimed_email(sociallogin=sociallogin)
        try:
            employee = sso_roster_employee(email=email, email_verified=email_verified, today=timezone.localdate())
        except forms.ValidationError as error:
            self._refuse(request, error.messages[0])
        if sociallogin.is_existing and sociallogin.user is not None and sociallogin.user.pk != employee.pk:
            self._refuse(request, SSO_LINKED_ELSEWHERE_MESSAGE)
        connecting = sociallogin.state.get("process") == AuthProcess.CONNECT
        if connecting and request.user.pk != employee.pk:
            # Someone signed in links a company identity: only their own, never another person's.
            self._refuse(request, SSO_OTHER_PERSON_MESSAGE)
        employee_sso_link(request=request, sociallogin=sociallogin, employee=employee)

    def _refuse(self, request: HttpRequest, message: str) -> NoReturn:
        messages.error(request, message)
        raise ImmediateHttpResponse(redirect("account_login"))


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
