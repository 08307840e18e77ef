"""OpenAPI post-processing: every operation documents the error shape its 4xx answers use."""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "stable machine-readable code"},
        "detail": {"type": "string", "description": "a sentence a person understands"},
        "fields": {
            "type": "object",
            "additionalProperties": True,
            "description": "per-field messages, when the input was at fault",
        },
    },
    "required": ["code", "detail", "fields"],
}
ERRORS = {
    "400": "The input is invalid; `fields` says where.",
    "401": "Not signed in.",
    "403": "Your role in this project may not do this.",
    "404": "Not found, or not in one of your projects.",
    "405": "Method not allowed.",
    "409": "Refused by a rule (for example a stage gate); `fields.reasons` lists why.",
    "413": "Too large.",
    "415": "Unsupported content type.",
    "429": "Too many requests.",
}


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result
