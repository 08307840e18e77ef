"""List filters, declared once per viewset and read twice: by the list's queryset and by the
OpenAPI schema. A viewset declares

- `filters`: {query parameter: ORM lookup} for ids (`?project=3`), and
- `choice_filters`: {query parameter: (ORM lookup, allowed values)} (`?state=queued`);

DeclaredFilters applies exactly those to the list and documents exactly those parameters, so the
schema cannot promise a filter the list ignores, nor the list apply one the schema omits.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from studio.parsing import whole_number


def declared_filters(view: Any) -> dict[str, dict[str, Any]]:
    """{parameter: {"lookup", "choices" (None for an id)}} of a viewset (class or instance)."""
    out: dict[str, dict[str, Any]] = {}
    for name, lookup in getattr(view, "filters", {}).items():
        out[name] = {"lookup": lookup, "choices": None}
    for name, (lookup, choices) in getattr(view, "choice_filters", {}).items():
        out[name] = {"lookup": lookup, "choices": list(choices)}
    return out


class DeclaredFilters(BaseFilterBackend):
    """Applies a viewset's declared filters to its list (a bad value is a 400 naming it). Only
    to the list: DRF also passes a detail's queryset through here (get_object), and an object is
    found by its id alone."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        if getattr(view, "action", None) != "list":
            return queryset
        params = request.query_params
        for name, spec in declared_filters(view).items():
            raw = params.get(name) or ""
            if not raw:
                continue
            choices = spec["choices"]
            if choices is None:
                value = whole_number(raw)
                if value is None:
                    raise ValidationError({name: [f"'{raw[:40]}' is not an id"]})
                queryset = queryset.filter(**{spec["lookup"]: value})
            elif raw in choices:
                queryset = queryset.filter(**{spec["lookup"]: raw})
            else:
                raise ValidationError({name: [f"choose one of {', '.join(choices)}"]})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """The same declaration, as OpenAPI query parameters (drf-spectacular reads these for
        list operations)."""
        parameters = []
        for name, spec in declared_filters(view).items():
            if spec["choices"] is None:
                schema: dict[str, Any] = {"type": "integer"}
                description = f"only those of this {name} (its id)"
            else:
                schema = {"type": "string", "enum": spec["choices"]}
                description = f"only those with this {name}"
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": description,
                    "schema": schema,
                }
            )
        return parameters
