"""Throttling of API tokens (settings.API_TOKEN_THROTTLE_RATE, e.g. 1000/hour per token).
Session requests come from the app's own pages and are not throttled here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from programs.models import ApiToken


class ApiTokenRateThrottle(SimpleRateThrottle):
    scope = "api_token"

    def get_rate(self) -> str:
        return settings.API_TOKEN_THROTTLE_RATE

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.prefix}
