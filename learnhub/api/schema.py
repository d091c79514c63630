"""OpenAPI post-processing: every operation documents the shared error body."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "line": {"type": "integer"},
                },
                "required": ["message"],
            },
        },
    },
    "required": ["detail", "errors"],
}
ERROR_DESCRIPTIONS = {
    "400": "Bad input: `errors` says what and where.",
    "401": "No credentials, or a token that is not valid or was revoked.",
    "403": "Signed in, but this role or token scope may not do it.",
    "404": "No such object, or not one this person may see.",
    "429": "Too many requests for this token (API_TOKEN_THROTTLE_RATE).",
}


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_DESCRIPTIONS.items():
                responses.setdefault(
                    code, {"content": {"application/json": {"schema": ref}}, "description": description}
                )
    return result
