"""The xAPI error answer, shared by the xAPI views and Django's error views for /xapi/
(learnhub/api/errors.py): JSON `{"error": "<what went wrong>", ...}`, never an HTML page,
with the X-Experience-API-Version header every xAPI answer carries."""

from __future__ import annotations

from django.http import JsonResponse

from programs.xapi.statements import XAPI_VERSION


def xapi_error(status: int, message: str, **more: object) -> JsonResponse:
    """An xAPI error answer: `{"error": message, **more}` with the xAPI version header."""
    response = JsonResponse({"error": message, **more}, status=status)
    response["X-Experience-API-Version"] = XAPI_VERSION
    return response
