"""API permissions: the role checks of learnhub/roles.py, plus the token's scope."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import permissions
from rest_framework.permissions import IsAuthenticated

from learnhub.roles import is_ld_admin
from programs.models import ApiToken, ApiTokenScope


class TokenScope(permissions.BasePermission):
    """A read-scope token can read, never write (403); a SCIM token cannot use this API at
    all (403); a session is not limited here."""

    message = gettext_lazy("This API token is read-only: writes need a read-write token.")

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.scope == ApiTokenScope.SCIM:
            self.message = gettext_lazy("This token is for SCIM provisioning (/scim/v2/) only.")
            return False
        if isinstance(token, ApiToken) and request.method not in permissions.SAFE_METHODS:
            return token.can_write
        return True


class IsLDAdmin(permissions.BasePermission):
    """Person-level data and every write: L&D admins only (learnhub.roles.is_ld_admin)."""

    message = gettext_lazy("This is for L&D admins only.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_ld_admin(request.user)


class ReadOrLDAdmin(permissions.BasePermission):
    """Reads for everyone signed in (aggregates); writes for L&D admins."""

    message = gettext_lazy("Only L&D admins change this.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or is_ld_admin(request.user)


# Every view starts from these (a view's permission_classes replace the settings' default).
SIGNED_IN: list[type[permissions.BasePermission]] = [IsAuthenticated, TokenScope]
LD_ADMINS = [*SIGNED_IN, IsLDAdmin]
READ_OR_LD_ADMINS = [*SIGNED_IN, ReadOrLDAdmin]
