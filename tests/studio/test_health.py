"""Liveness, readiness, metrics and the request id (studio/health.py, studio/requestids.py),
against the real database, Redis and a real Celery worker."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from audio.models import Job
from audio.services.jobs import job_create
from studio import health
from studio.requestids import JsonFormatter, RequestIdFilter, bound_request_id
from tests.audio.conftest import tus_create, tus_patch, wait_for
from tests.launch import free_port

HEX32 = re.compile(r"[0-9a-f]{32}")
TOKEN = "metrics-token-for-the-tests"


@pytest.fixture(autouse=True)
def fresh_readiness(monkeypatch):
    monkeypatch.setattr(health, "_last_ready", None)


def _metrics(client) -> dict[str, list]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def test_liveness_touches_nothing_and_answers_with_a_request_id(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "alive"}
    assert HEX32.fullmatch(response["X-Request-Id"])
    assert client.post("/healthz").status_code == 405


def test_a_well_formed_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="nginx-0f3a9c2e1b")
    assert kept["X-Request-Id"] == "nginx-0f3a9c2e1b"
    for hostile in ["short", "x" * 65, "evil id", "a\u00e9bcdefghi", "abc;def<ghi>"]:
        answered = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)["X-Request-Id"]
        assert HEX32.fullmatch(answered), hostile


@pytest.mark.django_db(transaction=True)
def test_ready_when_every_dependency_answers(client, celery_worker_proc):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "channel_layer", "storage", "workers"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["workers"]["detail"].startswith("ok (")


@pytest.mark.django_db
def test_not_ready_names_the_dependency_that_is_down(client):
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [closed]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["channel_layer"]["ok"] is False
    assert "Connection" in body["checks"]["channel_layer"]["detail"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client):
    assert client.get("/metrics").status_code == 404
    with override_settings(STUDIO_METRICS_TOKEN=TOKEN):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401


@pytest.mark.django_db
def test_metrics_count_requests_by_route_pattern_never_by_path(client, scenario):
    client.force_login(scenario.users["viewer"])
    client.get(f"/p/{scenario.project.pk}/")
    client.get("/healthz")
    with override_settings(STUDIO_METRICS_TOKEN=TOKEN):
        samples = _metrics(client)["studio_http_requests"]
    routes = {s.labels["route"] for s in samples if s.name == "studio_http_requests_total"}
    assert "/healthz" in routes and "/p/<int:project_id>/" in routes
    assert not any(str(scenario.project.pk) in route for route in routes)


@pytest.mark.django_db(transaction=True)
def test_a_request_id_follows_the_request_into_its_job_and_the_job_metrics(
    client, scenario, celery_worker_proc
):
    with bound_request_id("req-follows-0001"):
        job = job_create(actor=scenario.users["engineer"], project=scenario.project, kind="sleep")
    assert job.request_id == "req-follows-0001"
    wait_for(lambda: Job.objects.get(pk=job.pk).state == "done", 60)
    worker_log = celery_worker_proc.log_path
    line = wait_for(
        lambda: next(
            (ln for ln in worker_log.read_text().splitlines() if f"sleep job {job.pk} " in ln),
            None,
        ),
        20,
    )
    assert "[req-follows-0001]" in line
    # A queued row nobody sent (so no worker takes it): the depth is read from the table.
    waiting = Job.objects.create(project=scenario.project, kind="sleep", state="queued")
    with override_settings(STUDIO_METRICS_TOKEN=TOKEN):
        families = _metrics(client)
    done = [
        s
        for s in families["studio_job_duration_seconds"]
        if s.name == "studio_job_duration_seconds_count" and s.labels["kind"] == "sleep"
    ]
    assert done and done[0].labels["state"] == "done" and done[0].value >= 1
    depth = {
        (s.labels["kind"], s.labels["state"]): s.value for s in families["studio_job_queue_depth"]
    }
    assert depth[("sleep", "queued")] == 1
    Job.objects.filter(pk=waiting.pk).update(state="cancelled")


def test_json_log_lines_carry_the_request_id_and_the_traceback():
    record = logging.LogRecord("studio.x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    with bound_request_id("req-json-000001"):
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-json-000001"
    assert line["message"] == "failed here" and line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc"] and "\n" not in JsonFormatter().format(record)


@pytest.mark.django_db
def test_metrics_count_the_upload_bytes_stored(client, scenario):
    def stored() -> float:
        with override_settings(STUDIO_METRICS_TOKEN=TOKEN):
            samples = _metrics(client).get("studio_upload_bytes", [])
        return sum(s.value for s in samples if s.name == "studio_upload_bytes_total")

    before = stored()
    engineer = scenario.client("engineer")
    url = tus_create(engineer, 1000, filename="a.wav", project=scenario.project.pk)["Location"]
    assert tus_patch(engineer, url, 0, b"\0" * 400, checksum="auto").status_code == 204
    assert tus_patch(engineer, url, 0, b"\0" * 400).status_code == 409  # refused: not counted
    assert stored() - before == 400
