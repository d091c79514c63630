"""Authentication backends (AUTHENTICATION_BACKENDS): Django's and allauth's, refusing an
employee who may no longer use LearnHub (`learnhub.roles.has_access`: inactive, or
departed on or before today in the company time zone).

Django asks `user_can_authenticate` at sign-in and again on every request of an open
session (`get_user`), so a departure takes effect on its day even for a browser that
stays signed in; `programs.access.employee_access_end` also deletes the sessions.
The Django admin's sign-in goes through `RosterModelBackend`, allauth's pages through
`RosterAuthenticationBackend` (which lets allauth show its "account inactive" page).
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import ModelBackend

from learnhub.roles import has_access
from programs.models import Employee


def _may_authenticate(user: Any) -> bool:
    return isinstance(user, Employee) and has_access(user)


class RosterModelBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return _may_authenticate(user)


class RosterAuthenticationBackend(AuthenticationBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return _may_authenticate(user)
