"""Z3, mass assignment: a write that also sends fields the client may not set (read-only ones
such as `id`, `project`, `created_by`, `state`, `seq`, or fields no write takes, such as `owner`
and `approved_by`) has them ignored or refused with a 400, never applied.

Driven from the OpenAPI schema: for every JSON write operation, each field of its response
that its request body does not take is sent with a value it cannot have by itself (a foreign
project's id, a foreign user's id, another choice of an enum, the other boolean, a made-up
number or text), on top of the valid body the authorization matrix uses. The same write without
those fields, on a twin object, is the baseline: a field is applied when the answer shows the
sent value and the baseline does not. A field added to a serializer is covered without editing
this file; a write operation the matrix has no valid body for fails here, so nothing new ships
untested."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from django.db import transaction
from django.urls import resolve, reverse

from tests.conftest import Scenario
from tests.studio.test_authz_matrix import (
    POLICY,
    REGISTRY,
    ROUTES,
    SIGNED_IN,
    Route,
    roles,
)

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch"}
# Names no write may set, sent to every write even when its answer does not show them (a view
# that passed request.data on to a model would take them).
ALWAYS_SENT = (
    "id",
    "project",
    "created_by",
    "owner",
    "approved_by",
    "state",
    "seq",
    "created_at",
    "updated_at",
    "deleted_at",
    "is_staff",
    "is_superuser",
)
USER_FIELDS = {
    "created_by",
    "owner",
    "approved_by",
    "user",
    "author",
    "actor",
    "uploaded_by",
    "reviewer",
    "resolved_by",
}
# Who sends each write: the first role POLICY lets do it.
ORDER = ["producer", "engineer", "artist", "viewer"]


@cache
def _operations() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(viewset class name, action, method) -> its OpenAPI operation, $refs resolved."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def deref(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return deref(components[node["$ref"].rsplit("/", 1)[1]])
            return {k: deref(v) for k, v in node.items()}
        if isinstance(node, list):
            return [deref(v) for v in node]
        return node

    found = {}
    for path, item in schema["paths"].items():
        match = _resolve(path)
        cls, actions = getattr(match.func, "cls", None), getattr(match.func, "actions", {})
        for method, operation in item.items():
            if cls is not None and method in actions:
                found[(cls.__name__, actions[method], method)] = deref(operation)
    return found


def _resolve(path: str) -> Any:
    """The URL match of a schema path, its parameters filled with a number or a UUID."""
    from django.urls import Resolver404

    for value in ("1", "00000000-0000-4000-8000-000000000001"):
        try:
            return resolve(re.sub(r"\{[^}]+\}", value, path))
        except Resolver404:
            continue
    raise AssertionError(f"the schema's path {path} resolves to no view")


def _properties(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The properties of an object schema (allOf merged), {} for anything else."""
    if not schema:
        return {}
    merged = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        merged.update(_properties(part))
    return merged


def _request_fields(operation: dict[str, Any]) -> set[str]:
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema")
    return {name for name, prop in _properties(body).items() if not prop.get("readOnly", False)}


def _response_fields(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            return _properties(schema)
    return {}


def _json_writes() -> list[Route]:
    return [
        r
        for r in ROUTES
        if r.method in WRITES and r.view.__name__ in REGISTRY
        if r.action not in REGISTRY[r.view.__name__].raw
        if (r.view.__name__, r.action, r.method) in _operations()
        if "application/json"
        in _operations()[(r.view.__name__, r.action, r.method)]
        .get("requestBody", {})
        .get("content", {})
    ]


def _actor(route: Route) -> str:
    allowed = POLICY[route.key]
    if allowed == SIGNED_IN:
        return "producer"
    return next(role for role in ORDER if role in roles(allowed))


def _forged(
    name: str, prop: dict[str, Any], baseline: dict[str, Any], other: Scenario
) -> tuple[bool, Any]:
    """(True, a value `name` cannot take by itself) or (False, None) for nested values."""
    current = baseline.get(name)
    if name == "project":
        return True, other.project.pk
    if name in USER_FIELDS:
        return True, other.users["producer"].pk
    if "enum" in prop:
        choices = [c for c in prop["enum"] if c not in (current, None, "")]
        return (True, choices[0]) if choices else (False, None)
    kind = prop.get("type")
    if kind == "boolean":
        return True, not bool(current)
    if kind == "integer" or name == "id":
        return True, 987_654_321
    if kind == "number":
        return True, 9_876.5
    if kind == "string":
        return True, "2001-02-03T04:05:06Z" if prop.get("format") == "date-time" else "forged"
    return False, None


def _send(
    route: Route, scenario: Scenario, who: str, extra: dict[str, Any] | None = None
) -> tuple[int, Any]:
    spec = REGISTRY[route.view.__name__]
    actor = scenario.users[who]
    obj = spec.makers.get(route.action, spec.make)(scenario, actor)
    kwargs = {spec.kwarg: obj.pk} if route.detail else {}
    url = reverse(route.name, kwargs=kwargs) + spec.queries.get(route.action, lambda s, o: "")(
        scenario, obj
    )
    body = spec.bodies.get(route.action, lambda s, o: {})(scenario, obj)
    if extra:
        body = {**extra, **body} if isinstance(body, dict) else body
    headers = spec.headers.get(route.action, lambda s, o: {})(scenario, obj)
    response = getattr(scenario.client(who), route.method)(url, body, format="json", **headers)
    kind = response.get("Content-Type", "")
    data = response.json() if kind.startswith("application/json") else None
    return response.status_code, data


JSON_WRITES = _json_writes()


def test_every_json_write_of_the_schema_is_driven_here():
    """Every write operation of the schema with a JSON body is one of the routes below (the
    matrix's REGISTRY gives each a valid body), so a new write is covered or fails here."""
    driven = {(r.view.__name__, r.action, r.method) for r in JSON_WRITES}
    json_writes = {
        key
        for key, operation in _operations().items()
        if key[2] in WRITES
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    assert sorted(json_writes - driven) == []
    assert len(driven) > 30


def _created_model(route: Route) -> Any:
    """The model a create writes (its serializer's), to clear the baseline's row before the
    forged write, so a unique key (a member, a keeper) does not refuse it for the wrong reason."""
    serializer = getattr(route.view, "serializer_class", None)
    return getattr(getattr(serializer, "Meta", None), "model", None)


def _check(route: Route, scenario: Scenario, other: Scenario) -> str | None:
    """None when `route` ignores or refuses every forged field, else what went wrong."""
    operation = _operations()[(route.view.__name__, route.action, route.method)]
    who = _actor(route)
    status, baseline = _send(route, scenario, who)
    if not 200 <= status < 300:
        return f"{route.id} as {who}: the valid body got {status} {baseline}"
    baseline = baseline if isinstance(baseline, dict) else {}
    model = _created_model(route)
    if route.action == "create" and model is not None and "id" in baseline:
        model._base_manager.filter(pk=baseline["id"]).delete()
    shown = _response_fields(operation)
    forged: dict[str, Any] = {}
    for name in sorted((set(shown) | set(ALWAYS_SENT)) - _request_fields(operation)):
        usable, value = _forged(name, shown.get(name, {}), baseline, other)
        if usable and baseline.get(name) != value:
            forged[name] = value
    status, answer = _send(route, scenario, who, forged)
    where = f"{route.id} as {who} with {sorted(forged)}: {status} {answer}"
    if status >= 500 or not (200 <= status < 300 or status == 400):
        return where
    if status == 400 or not isinstance(answer, dict):
        return None  # refused as a whole (nothing stored), or an answer that is no object
    applied = sorted(
        name
        for name, value in forged.items()
        if name in answer and answer[name] == value and baseline.get(name) != value
    )
    return f"{where}: applied {applied}" if applied else None


def test_fields_a_write_does_not_take_are_never_applied(
    scenario: Scenario, other_scenario: Scenario, settings: Any
) -> None:
    """Every JSON write, each in a savepoint rolled back afterwards (one scenario serves all)."""
    settings.UPLOAD_MAX_CONCURRENT_PER_USER = 100
    problems = []
    for route in JSON_WRITES:
        with transaction.atomic():
            problem = _check(route, scenario, other_scenario)
            transaction.set_rollback(True)
        scenario.project.refresh_from_db()
        if problem:
            problems.append(problem)
    assert problems == [], "\n".join(problems)


def test_an_engineer_cannot_set_a_role_through_a_member_patch(scenario: Scenario) -> None:
    """The plan's own case: an engineer PATCHing a membership's `role` (their own or another's)
    is refused and nothing changes; the producer's PATCH changes the role but not the member's
    user or project."""
    from studio.models import Membership

    engineer = scenario.project.memberships.get(user=scenario.users["engineer"])
    viewer = scenario.project.memberships.get(user=scenario.users["viewer"])
    client = scenario.client("engineer")
    for membership in (engineer, viewer):
        url = reverse("api-membership-detail", kwargs={"pk": membership.pk})
        response = client.patch(url, {"role": "producer"}, format="json")
        assert response.status_code == 403, response.content
    assert Membership.objects.get(pk=engineer.pk).role == "engineer"
    assert Membership.objects.get(pk=viewer.pk).role == "viewer"
    url = reverse("api-membership-detail", kwargs={"pk": viewer.pk})
    response = scenario.client("producer").patch(
        url,
        {"role": "artist", "user": scenario.users["outsider"].pk, "project": 987_654_321},
        format="json",
    )
    assert response.status_code in (200, 400), response.content
    after = Membership.objects.get(pk=viewer.pk)
    assert (after.user_id, after.project_id) == (scenario.users["viewer"].pk, scenario.project.pk)
    assert after.role == ("artist" if response.status_code == 200 else "viewer")
