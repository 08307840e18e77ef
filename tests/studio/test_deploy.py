"""Production settings pass Django's deploy checks and Studio's own (Z7 in docs/reliability.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.db import connection

from studio.checks import postgres_problems, redis_problems
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
