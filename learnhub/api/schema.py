"""OpenAPI post-processing: every operation documents the shared error body
(learnhub.api.errors) for every refusal it can answer."""

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
    "400": "Bad input: `errors` says what and where (a field, a query parameter or a bulk row's `line`).",
    "401": "No credentials, or a token that is not valid or was revoked.",
    "403": "Signed in, but this role or token scope may not do it.",
    "404": "No such object, or not one this person may see; an id in a query parameter that matches nothing "
    "is a 404 too, and `errors` names the parameter.",
    "429": "Too many requests for this token (API_TOKEN_THROTTLE_RATE).",
}
BODY_ERROR_DESCRIPTIONS = {
    "413": "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE, 10 MB).",
    "415": "The request body is not JSON: send `Content-Type: application/json`.",
}


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            descriptions = {**ERROR_DESCRIPTIONS, **(BODY_ERROR_DESCRIPTIONS if "requestBody" in operation else {})}
            for code, description in descriptions.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if int(code) >= 400:  # a view's own refusals (409, ...) have the same body
                    response.setdefault("content", {"application/json": {"schema": ref}})
    return result
