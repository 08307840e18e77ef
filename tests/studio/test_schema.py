"""The OpenAPI schema is valid, and the API keeps to it under generated input (schemathesis,
authenticated as a producer): no 5xx, no status or body outside the schema."""

from __future__ import annotations

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


@pytest.fixture
def api_schema(scenario, song):
    from django.core.wsgi import get_wsgi_application

    from studio.services.tasks import task_create

    task_create(actor=scenario.users["producer"], song=song, title="Fuzzed task")
    token, _ = Token.objects.get_or_create(user=scenario.users["producer"])
    # As Django's test client does: keep the test transaction's connection across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    schema.config.headers = {"Authorization": f"Token {token.key}"}
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_keeps_to_its_schema(api_schema):
    """Every operation, a handful of generated cases each (the pytest plugin of schemathesis 4.6
    does not load under pytest 9, so the operations are driven by hypothesis directly)."""
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
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            case.call_and_validate(checks=checks)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations > 20
    assert failures == [], "\n".join(failures)
