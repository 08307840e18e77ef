"""Deploy checks Django does not have: what our stack needs in production (Z7 in
docs/reliability.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

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
