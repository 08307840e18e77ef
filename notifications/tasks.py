"""The digest's periodic task (CELERY_BEAT_SCHEDULE), rules in notifications.digest."""

from __future__ import annotations

from celery import shared_task

from notifications.digest import send_digests as send_digests_service

SEND_DIGESTS_TASK = "notifications.send_digests"


@shared_task(name=SEND_DIGESTS_TASK, soft_time_limit=240, time_limit=300)
def send_digests() -> int:
    return send_digests_service()
