"""Production settings pass Django's deploy checks and Studio's own (Z7 in docs/reliability.md)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.db import connection

from studio.checks import (
    postgres_problems,
    redis_problems,
    studio_deploy_checks,
    websocket_origin_problems,
)
from tests.audio.conftest import service_env
from tests.audio.test_jobs_faults import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://studio:secret@db.internal:5432/studio",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "SECRET_KEY": "x7Hq0-2vL9mR4tY8uI1oP3aS5dF6gH7jK8lZ9xC0vB1nM2qW3eR4tY5uI6oP7aS8d",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "studio.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://studio.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "BEHIND_TLS_PROXY": "true",
}


def run_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    test_only = {"DJANGO_ALLOW_ASYNC_UNSAFE", "STUDIO_FAST_PASSWORD_HASHER"}
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in test_only}
    env.update(extra)
    env["STUDIO_VAR_DIR"] = str(ROOT / "var" / "test-deploy")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_defaults_are_flagged_for_production():
    """The embedded defaults are for a laptop: check --deploy says so instead of passing."""
    result = run_check({"SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"], "DEBUG": "false"})
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "studio.W001" in out  # in-memory channel layer
    assert "studio.W005" in out  # embedded broker
    assert "studio.W006" in out  # not PostgreSQL


# --- Z7: each of Studio's own deploy checks flags its bad setting ----------------------------


def _ids(problems: list) -> list[str]:
    return sorted({p.id for p in problems})


@pytest.fixture
def redis_layer(settings):
    """The production shape of the Celery and channel layer settings (the suite runs with Redis)."""
    assert settings.CELERY_BROKER_URL.startswith("redis")
    assert studio_deploy_checks(None) == []
    return settings


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("CELERY_TASK_ACKS_LATE", False, "studio.W002"),
        ("CELERY_TASK_REJECT_ON_WORKER_LOST", False, "studio.W002"),
        ("CELERY_WORKER_PREFETCH_MULTIPLIER", 4, "studio.W003"),
        ("CELERY_BROKER_TRANSPORT_OPTIONS", {"visibility_timeout": 60}, "studio.W004"),
        ("CELERY_BROKER_TRANSPORT_OPTIONS", {}, "studio.W004"),
        ("JOB_TIME_LIMITS", {"analyze": float("inf")}, "studio.W004 studio.W011"),
        ("JOB_TIME_LIMITS", {"analyze": 0.0}, "studio.W011"),
        ("JOB_TIME_LIMITS", {"analyze": 4000.0}, "studio.W004"),  # past the visibility timeout
        ("UPLOAD_MAX_BYTES", None, "studio.W012"),
        ("UPLOAD_MAX_CONCURRENT_PER_USER", 0, "studio.W012"),
        ("PROJECT_STORAGE_QUOTA_BYTES", float("nan"), "studio.W012"),
        ("DATA_UPLOAD_MAX_MEMORY_SIZE", None, "studio.W012"),
        ("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, "studio.W012"),  # below one chunk
        ("DATA_UPLOAD_MAX_NUMBER_FILES", None, "studio.W012"),
    ],
)
def test_each_unsafe_setting_is_flagged(redis_layer, name, value, code):
    setattr(redis_layer, name, value)
    assert _ids(studio_deploy_checks(None)) == code.split()


@pytest.mark.parametrize("drop", ["max_connections", "capacity"])
def test_a_channel_layer_without_its_bounds_is_flagged(redis_layer, drop):
    layers = copy.deepcopy(redis_layer.CHANNEL_LAYERS)
    config = layers["default"]["CONFIG"]
    if drop == "capacity":
        del config["capacity"]
    else:
        config["hosts"] = [{"address": redis_layer.REDIS_URL}]
    redis_layer.CHANNEL_LAYERS = layers
    assert _ids(studio_deploy_checks(None)) == ["studio.W007"]


def test_a_websocket_application_without_an_origin_check_is_flagged():
    """Studio's own application passes; one whose websocket side skips the Origin check (or
    leaves it to Channels' AllowedHostsOriginValidator, which passes too) is told apart."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from sessions.routing import websocket_urlpatterns
    from studio.asgi import application

    assert websocket_origin_problems(application) == []
    bare = ProtocolTypeRouter({"websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns))})
    assert _ids(websocket_origin_problems(bare)) == ["studio.W010"]
    guarded = ProtocolTypeRouter(
        {"websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))}
    )
    assert websocket_origin_problems(guarded) == []


# --- Z8: the live services' durability ------------------------------------------------------


@pytest.mark.django_db
def test_postgres_that_could_lose_commits_is_flagged():
    """The suite's PostgreSQL keeps fsync, full-page writes and synchronous commit on; the same
    connection with synchronous_commit off (a session setting, so nothing else changes) is
    flagged with the setting and its value."""
    assert postgres_problems(connection) == []
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        problems = postgres_problems(connection)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    assert [p.id for p in problems] == ["studio.W008"]
    assert "synchronous_commit = off" in problems[0].msg


def test_redis_without_aof_or_with_eviction_is_flagged(tmp_path):
    durable = PrivateRedis(tmp_path / "durable", aof=True)
    try:
        assert redis_problems(durable.url) == []
        durable.client().config_set("maxmemory-policy", "allkeys-lru")
        flagged = redis_problems(durable.url)
        assert [p.id for p in flagged] == ["studio.W009"] and "allkeys-lru" in flagged[0].msg
        durable.client().config_set("appendonly", "no")
        assert len(redis_problems(durable.url)) == 2
    finally:
        durable.shutdown_nosave()
    assert redis_problems(durable.url) == []  # unreachable: nothing to read, nothing claimed


@pytest.mark.django_db
def test_check_deploy_with_the_database_runs_the_durability_checks():
    """`check --deploy --database default` reaches the live services: against the suite's Redis
    (which runs without AOF here) it names W009; the suite's PostgreSQL passes."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--database", "default"],
        cwd=ROOT,
        env=service_env(),  # the suite's test database and Redis
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert "studio.W008" not in out
    appendonly = redis.Redis.from_url(os.environ["REDIS_URL"]).config_get("appendonly")
    assert ("studio.W009" in out) == (appendonly.get("appendonly") != "yes")
