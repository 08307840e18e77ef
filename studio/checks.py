"""Deploy checks Django does not have: what our stack needs in production (Z7 and Z8 in
docs/reliability.md)."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import connections

from audio.jobs.registry import longest_hard_limit_s


@register(deploy=True)
def studio_deploy_checks(app_configs: Any, **kwargs: Any) -> list[Warning]:
    problems: list[Warning] = []
    layer = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    if "InMemory" in layer:
        problems.append(
            Warning(
                "the in-memory channel layer does not cross processes",
                hint="set REDIS_URL",
                id="studio.W001",
            )
        )
    if not settings.CELERY_TASK_ACKS_LATE or not settings.CELERY_TASK_REJECT_ON_WORKER_LOST:
        problems.append(Warning("Celery must ack late and reject on worker loss", id="studio.W002"))
    if settings.CELERY_WORKER_PREFETCH_MULTIPLIER != 1:
        problems.append(Warning("Celery prefetch must be 1", id="studio.W003"))
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if settings.CELERY_BROKER_URL.startswith("redis") and (
        visibility is None or visibility <= longest_hard_limit_s()
    ):
        problems.append(
            Warning(
                "the broker visibility timeout must exceed the longest job time limit",
                id="studio.W004",
            )
        )
    if not settings.CELERY_BROKER_URL.startswith(("redis", "rediss")):
        problems.append(
            Warning(
                "the embedded broker loses in-flight jobs on a worker crash",
                hint="set REDIS_URL",
                id="studio.W005",
            )
        )
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        problems.append(
            Warning("production runs on PostgreSQL", hint="set DATABASE_URL", id="studio.W006")
        )
    layer_config: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    hosts = layer_config.get("hosts", [])
    if hosts and not all(isinstance(h, dict) and h.get("max_connections") for h in hosts):
        problems.append(Warning("set max_connections on the channel layer hosts", id="studio.W007"))
    return problems


# The durability a production database and Redis must keep (Z8). PostgreSQL: a commit is on
# disk when it is acknowledged. Redis: queued jobs and channel messages survive a restart (AOF)
# and are never evicted to make room (noeviction), or jobs would vanish under memory pressure.
POSTGRES_SETTINGS = {"fsync": {"on"}, "full_page_writes": {"on"}}
SAFE_SYNCHRONOUS_COMMIT = {"on", "remote_apply", "remote_write", "local"}


def postgres_problems(connection: Any) -> list[Warning]:
    """What `connection` (a PostgreSQL one) runs with that could lose acknowledged commits."""
    problems = []
    with connection.cursor() as cursor:
        for name, safe in (
            *POSTGRES_SETTINGS.items(),
            ("synchronous_commit", SAFE_SYNCHRONOUS_COMMIT),
        ):
            cursor.execute(f"SHOW {name}")  # a fixed setting name, never input
            value = str(cursor.fetchone()[0])
            if value not in safe:
                problems.append(
                    Warning(
                        f"PostgreSQL runs with {name} = {value}: a commit can be lost",
                        hint=f"set {name} = on in postgresql.conf",
                        id="studio.W008",
                    )
                )
    return problems


def redis_problems(url: str) -> list[Warning]:
    """What the Redis at `url` runs with that could lose or evict queued jobs and messages;
    nothing when it does not let us read its configuration (managed services often do not)."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        config = {**client.config_get("appendonly"), **client.config_get("maxmemory-policy")}
    except redis.RedisError:
        return []
    problems = []
    if config.get("appendonly") != "yes":
        problems.append(
            Warning(
                "Redis runs without its append-only file: a restart loses queued jobs",
                hint="start redis-server with --appendonly yes",
                id="studio.W009",
            )
        )
    if config.get("maxmemory-policy") != "noeviction":
        problems.append(
            Warning(
                f"Redis evicts keys ({config.get('maxmemory-policy')}): queued jobs can vanish",
                hint="start redis-server with --maxmemory-policy noeviction",
                id="studio.W009",
            )
        )
    return problems


@register(Tags.database, deploy=True)
def studio_durability_checks(
    app_configs: Any, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    """Run by `manage.py check --deploy --database default`: it talks to the live services."""
    problems: list[Warning] = []
    for alias in databases or []:
        if connections[alias].vendor == "postgresql":
            problems += postgres_problems(connections[alias])
    if settings.REDIS_URL:
        problems += redis_problems(settings.REDIS_URL)
    return problems
