"""Deploy checks Django does not have: what our stack needs in production (Z7 and Z8 in
docs/reliability.md)."""

from __future__ import annotations

from math import inf
from typing import Any

import redis
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.db import connections
from django.utils.module_loading import import_string

from audio.jobs.registry import kind_names, kind_spec, longest_hard_limit_s
from sessions.origin import SameOriginValidator


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
    if hosts and not _positive(layer_config.get("capacity")):
        problems.append(
            Warning(
                "set the channel layer's capacity (messages held per channel)",
                hint="CHANNEL_LAYERS['default']['CONFIG']['capacity']",
                id="studio.W007",
            )
        )
    problems += websocket_origin_problems(import_string(settings.ASGI_APPLICATION))
    problems += job_time_limit_problems()
    problems += upload_cap_problems()
    return problems


def _positive(value: Any) -> bool:
    """A finite number above zero (None, 0, a negative figure, NaN or infinity are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < inf


def websocket_origin_problems(application: Any) -> list[Warning]:
    """The websocket side of the ASGI application must check the handshake's Origin first
    (cross-site websocket hijacking): our SameOriginValidator or Channels' OriginValidator."""
    websocket = getattr(application, "application_mapping", {}).get("websocket")
    if websocket is None or isinstance(websocket, SameOriginValidator | OriginValidator):
        return []
    return [
        Warning(
            "the websocket application does not check the Origin of the handshake",
            hint="wrap it in sessions.origin.SameOriginValidator (studio/asgi.py)",
            id="studio.W010",
        )
    ]


def job_time_limit_problems() -> list[Warning]:
    """Every job kind has a finite soft limit and a later hard one (JOB_TIME_LIMITS may
    override the soft one): a job without them holds a worker forever."""
    problems = []
    for name in kind_names():
        spec = kind_spec(name)
        if not _positive(spec.soft_limit_s) or not spec.hard_limit_s > spec.soft_limit_s:
            problems.append(
                Warning(
                    f"job kind {name} runs with a soft time limit of {spec.soft_limit_s} s and "
                    f"a hard one of {spec.hard_limit_s} s",
                    hint="give it a finite positive limit in JOB_TIME_LIMITS",
                    id="studio.W011",
                )
            )
    return problems


UPLOAD_CAPS = (
    "UPLOAD_MAX_BYTES",
    "UPLOAD_MAX_CHUNK_BYTES",
    "UPLOAD_MAX_CONCURRENT_PER_USER",
    "UPLOAD_EXPIRY_SECONDS",
    "PROJECT_STORAGE_QUOTA_BYTES",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "DATA_UPLOAD_MAX_NUMBER_FILES",
)


def upload_cap_problems() -> list[Warning]:
    """Each upload cap is set to a finite positive figure (None lifts Django's own caps), and a
    request body may hold a whole chunk, or every chunk is refused."""
    problems = [
        Warning(
            f"{name} = {getattr(settings, name, None)!r}: uploads are not capped",
            hint=f"set {name} to a positive number",
            id="studio.W012",
        )
        for name in UPLOAD_CAPS
        if not _positive(getattr(settings, name, None))
    ]
    body, chunk = settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.UPLOAD_MAX_CHUNK_BYTES
    if not problems and body < chunk:
        problems.append(
            Warning(
                f"DATA_UPLOAD_MAX_MEMORY_SIZE ({body}) is below UPLOAD_MAX_CHUNK_BYTES ({chunk})",
                hint="let a request body hold one chunk",
                id="studio.W012",
            )
        )
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
