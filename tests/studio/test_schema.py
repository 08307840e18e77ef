"""The OpenAPI schema is valid, and the API keeps to it under generated input (schemathesis, as
each role, an outsider and anonymous): no 5xx, no status or body outside the schema (Z6)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

# tus PATCH bodies are raw bytes, like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


def test_schema_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/songs/{id}/move/" in text
    assert "#/components/schemas/Error" in text


def test_swagger_ui_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_swagger_ui_comes_from_our_static_files_not_a_cdn(client):
    """/api/docs/ was blank offline: it loaded Swagger UI from a CDN at @latest."""
    import re

    from django.contrib.staticfiles import finders

    html = client.get("/api/docs/").content.decode()
    for host in ("jsdelivr", "unpkg", "cdnjs", "@latest"):
        assert host not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    statics = [u for u in urls if u.startswith("/static/vendor/swagger-ui-dist/")]
    assert len(statics) >= 3, urls
    for url in statics:
        assert finders.find(url.removeprefix("/static/")), url
    assert "<script>" not in html  # the start-up script is a file (a CSP can forbid inline)
    scripts = [u for u in urls if "script" in u and not u.startswith("/static/")]
    assert scripts, urls
    assert client.get(scripts[0]).status_code == 200


# Who drives the API: the four roles, a signed-in outsider and anonymous (None).
PRINCIPALS = ["producer", "engineer", "artist", "viewer", "outsider", None]


@contextmanager
def _api_schema_as(scenario: Any, song: Any, who: str | None) -> Iterator[Any]:
    """The live schema, loaded through the WSGI application, sending `who`'s token."""
    from django.core.wsgi import get_wsgi_application

    from studio.services.tasks import task_create

    task_create(actor=scenario.users["producer"], song=song, title="Fuzzed task")
    # As Django's test client does: keep the test transaction's connection across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        if who is not None:
            token, _ = Token.objects.get_or_create(user=scenario.users[who])
            schema.config.headers = {"Authorization": f"Token {token.key}"}
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _drive(schema: Any, max_examples: int) -> tuple[int, list[str]]:
    """Every operation, `max_examples` generated cases each, checked for no 5xx and for status,
    content type and body within the schema (the pytest plugin of schemathesis 4.6 does not
    load under pytest 9, so the operations are driven by hypothesis directly)."""
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=checks)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    return operations, failures


def test_api_keeps_to_its_schema(scenario, song):
    """Z6 as a producer, who reaches every operation: 6 generated cases each."""
    with _api_schema_as(scenario, song, "producer") as schema:
        operations, failures = _drive(schema, max_examples=6)
    assert operations > 20
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("who", [p for p in PRINCIPALS if p != "producer"])
def test_api_keeps_to_its_schema_as_every_other_principal(scenario, song, who):
    """Z6 as each other role, an outsider and anonymous: their refusals (401, 403, 404) are
    documented statuses with the documented error body too. One case per operation here."""
    with _api_schema_as(scenario, song, who) as schema:
        operations, failures = _drive(schema, max_examples=1)
    assert operations > 20
    assert failures == [], "\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("who", PRINCIPALS)
def test_api_keeps_to_its_schema_full_size(scenario, song, who):
    """Z6 at full size: 50 generated cases per operation, as each principal."""
    with _api_schema_as(scenario, song, who) as schema:
        operations, failures = _drive(schema, max_examples=50)
    assert operations > 20
    assert failures == [], "\n".join(failures)


# --- list filters: one declaration, applied and documented ------------------------------------
def _list_operations() -> list[tuple[str, type, dict]]:
    """(path, viewset class, GET operation) of every list endpoint in the schema."""
    from django.urls import resolve
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        if "get" not in item or "{" in path:
            continue
        func = resolve(path).func
        cls, actions = getattr(func, "cls", None), getattr(func, "actions", None) or {}
        if cls is not None and actions.get("get") == "list":
            found.append((path, cls, item["get"]))
    return found


def _declared(cls: type) -> set[str]:
    return set(getattr(cls, "filters", {})) | set(getattr(cls, "choice_filters", {}))


def _documented(cls: type, operation: dict) -> set[str]:
    paging = set()
    if cls.pagination_class is not None:
        pager = cls.pagination_class
        paging = {pager.limit_query_param, pager.offset_query_param}
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"} - paging


def test_every_list_documents_exactly_the_filters_it_declares():
    """The schema's query parameters of each list are the viewset's declared filters, no more
    and no fewer (today's regression: /api/assets/ documented no `project`). Lists with their own
    `list` (not the generic one) document their parameters by hand: presence, and the review
    links and leak traces of one project (`project` required)."""
    from rest_framework.mixins import ListModelMixin

    operations = _list_operations()
    assert len(operations) >= 12
    generic = [(p, c, o) for p, c, o in operations if c.list is ListModelMixin.list]
    mismatched = {
        path: {"documented": sorted(_documented(cls, op)), "declared": sorted(_declared(cls))}
        for path, cls, op in generic
        if _documented(cls, op) != _declared(cls)
    }
    assert mismatched == {}
    custom = {p: (c, o) for p, c, o in operations if c.list is not ListModelMixin.list}
    assert set(custom) == {
        "/api/presence/",
        "/api/review-links/",
        "/api/leak-traces/",
        "/api/bookings/",  # its declared filters and the time window (`from`, `to`)
    }
    assert {"from", "to", "session", "resource"} <= _documented(*custom["/api/bookings/"])
    for path in ("/api/review-links/", "/api/leak-traces/"):
        assert "project" in _documented(*custom[path])
    assets = next((c, o) for path, c, o in operations if path == "/api/assets/")
    assert "project" in _documented(*assets)


def test_custom_lists_answer_the_shape_their_schema_declares(scenario, song):
    """The lists that do not use DRF's own list (so DRF does not paginate them by itself) answer
    what the schema says: the review links and leak traces in pages like every list, presence
    as one array (its schema says so). Z6 found the first two answering a bare array, but only
    when its generated project id happened to be one the principal may list."""
    from rest_framework.mixins import ListModelMixin

    client = scenario.client("producer")
    custom = [(p, o) for p, c, o in _list_operations() if c.list is not ListModelMixin.list]
    assert {"/api/presence/", "/api/review-links/", "/api/leak-traces/"} <= {p for p, _ in custom}
    for path, operation in custom:
        declared = operation["responses"]["200"]["content"]["application/json"]["schema"]
        response = client.get(f"{path}?project={scenario.project.pk}")
        assert response.status_code == 200, (path, response.content[:300])
        body = response.json()
        if "$ref" in declared and declared["$ref"].split("/")[-1].startswith("Paginated"):
            assert isinstance(body, dict) and {"count", "next", "previous", "results"} <= set(
                body
            ), (path, body)
        else:
            assert declared.get("type") == "array" and isinstance(body, list), (path, body)


def test_every_documented_filter_is_applied(scenario, song):
    """Each documented filter does something: a value that is not an id (or not a choice) is a
    400 naming the parameter, an id nothing has gives an empty list, and a valid choice answers
    200 (a filter named `format` once collided with DRF's renderer override: 404)."""
    from rest_framework.mixins import ListModelMixin

    client = scenario.client("producer")
    refused, ignored = [], []
    for path, cls, operation in _list_operations():
        if cls.list is not ListModelMixin.list:
            continue
        for name in sorted(_documented(cls, operation)):
            response = client.get(f"{path}?{name}=not-a-value")
            if response.status_code != 400 or name not in response.json().get("fields", {}):
                refused.append(f"{path}?{name}=not-a-value: {response.status_code}")
            choice = getattr(cls, "choice_filters", {}).get(name)
            # an id nothing has; a real choice
            value = "0" if choice is None else next(iter(choice[1]))
            response = client.get(f"{path}?{name}={value}")
            if response.status_code != 200 or (choice is None and response.json()["results"]):
                ignored.append(f"{path}?{name}={value}: {response.status_code}")
    assert refused == []
    assert ignored == []
