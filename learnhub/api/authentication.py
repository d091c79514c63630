"""Who is calling: an API token (`Authorization: Bearer <token>`) or the browser session.

A token acts as the employee who created it: `request.user` is that employee (roles are
checked live, so a creator who loses the L&D admin role takes the token's admin access
with them) and `request.auth` is the ApiToken, whose scope TokenScope enforces.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from learnhub.api.services import api_token_find, api_token_touch
from programs.models import ApiToken, Employee

KEYWORD = "Bearer"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Employee, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(gettext_lazy("Send the header as `Authorization: Bearer <token>`."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(gettext_lazy("The token is not valid.")) from None
        token = api_token_find(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed(gettext_lazy("The token is not valid, or it was revoked."))
        api_token_touch(token=token)
        return token.created_by, token

    def authenticate_header(self, request: Any) -> str:
        return f'{KEYWORD} realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The app's own session; DRF enforces CSRF on unsafe methods for it."""


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "learnhub.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token from /api/tokens/."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "learnhub.api.authentication.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
