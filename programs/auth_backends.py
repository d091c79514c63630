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
from django.contrib.auth.models import Permission
from django.db.models import Q

from learnhub.roles import has_access
from programs.models import Employee


def _may_authenticate(user: Any) -> bool:
    return isinstance(user, Employee) and has_access(user)


class RosterModelBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return _may_authenticate(user)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """ModelBackend's permissions, the person's own and their groups' (every one for a
        superuser), read in one query instead of two; cached on the person for the
        request like ModelBackend's (the navigation asks on every page)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            held = Permission.objects.all()
            if not user_obj.is_superuser:
                held = held.filter(Q(user=user_obj) | Q(group__user=user_obj))
            names = held.order_by().values_list("content_type__app_label", "codename").distinct()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in names}
        return set(user_obj._perm_cache)


class RosterAuthenticationBackend(AuthenticationBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return _may_authenticate(user)
