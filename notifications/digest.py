"""The e-mail digest: per person, the unread notifications no digest has carried yet, of the
kinds whose e-mail they keep on, in one message through Django's e-mail framework (the console
backend unless EMAIL_BACKEND says otherwise), with times in the person's own zone.

Sent by the Celery beat task `notifications.send_digests` and by `manage.py send_digests`. A
person's rows are locked (SKIP LOCKED) and marked with the Digest in the transaction that sends
it: two runs at once never mail the same notification, and a send that fails marks nothing, so
the next run tries again. Nothing is sent to a person with nothing new.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction

from notifications.models import Digest, Kind, Notification, Preference
from studio.models import Profile

logger = logging.getLogger(__name__)

MAX_PER_DIGEST = 200  # the rest wait for the next digest


def local_time(when: datetime.datetime, zone: str) -> str:
    """'2 Dec 2026, 14:05 CET' in the reader's zone (UTC when the zone is unknown)."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = when.astimezone(tz)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def _mailed_kinds(user_id: int) -> list[str]:
    off = set(
        Preference.objects.filter(user_id=user_id, email=False).values_list("kind", flat=True)
    )
    return [k for k in Kind.values if k not in off]


def pending(user_id: int) -> Any:
    """What the next digest of this person would carry."""
    return (
        Notification.objects.for_user_id(user_id, inbox_only=False)
        .filter(read_at__isnull=True, digest__isnull=True, kind__in=_mailed_kinds(user_id))
        .order_by("created_at", "id")
    )


def _body(user: Any, rows: list[Notification], zone: str) -> str:
    base = str(getattr(settings, "STUDIO_BASE_URL", "")).rstrip("/")
    by_project: dict[str, list[Notification]] = defaultdict(list)
    for row in rows:
        by_project[row.project.name].append(row)
    name = user.get_short_name() or user.username
    lines = [f"Hello {name},", "", f"What happened in Studio since your last digest ({zone}):"]
    for project, items in by_project.items():
        lines += ["", project]
        for row in items:
            lines.append(f"- {local_time(row.created_at, zone)}: {row.sentence}")
            lines.append(f"  {base}{row.link}")
    lines += [
        "",
        f"Your inbox: {base}/inbox/",
        "Choose which kinds are mailed to you on the inbox page.",
    ]
    return "\n".join(lines) + "\n"


def send_digest(user_id: int) -> Digest | None:
    """One person's digest, or None when there is nothing to send."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return None
    with transaction.atomic():
        # The conditions stay on the locked rows themselves, so a row another run marked while
        # this one waited is re-checked by PostgreSQL and dropped, not mailed again.
        ids = list(
            Notification.objects.filter(
                pk__in=pending(user_id).values("pk"), digest__isnull=True, read_at__isnull=True
            )
            .select_for_update(skip_locked=True)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[:MAX_PER_DIGEST]
        )
        if not ids:
            return None
        rows = list(
            Notification.objects.filter(pk__in=ids)
            .select_related("project")
            .order_by("created_at", "id")
        )
        zone = Profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
        zone = zone or "UTC"
        digest = Digest.objects.create(recipient=user, count=len(rows))
        Notification.objects.filter(pk__in=ids).update(digest=digest)
        count = len(rows)
        subject = f"Studio: {count} new notification{'s' if count != 1 else ''}"
        EmailMessage(
            subject=subject,
            body=_body(user, rows, zone),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        ).send()
    return digest


def send_digests() -> int:
    """Every person's digest; returns how many were sent. One person's failure (their mail
    server refused) is logged and leaves their notifications for the next run."""
    recipients = (
        Notification.objects.filter(read_at__isnull=True, digest__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in sorted(set(recipients)):
        try:
            if send_digest(user_id) is not None:
                sent += 1
        except Exception:
            logger.warning("the digest of user %s was not sent", user_id, exc_info=True)
    return sent
