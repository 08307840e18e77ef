"""Reads of the event log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from eventlog.models import Event


def events_after(*, project_id: int, after: int, limit: int = 500) -> QuerySet[Event]:
    """Events with seq > after, in order, at most `limit`."""
    return (
        Event.objects.filter(project_id=project_id, seq__gt=after)
        .select_related("actor")
        .order_by("seq")[:limit]
    )


def event_frames_after(*, project_id: int, after: int, limit: int = 500) -> list[dict[str, Any]]:
    """The websocket form of events_after: a list of frames, in seq order."""
    return [e.to_frame() for e in events_after(project_id=project_id, after=after, limit=limit)]


def first_kept_seq(*, project_id: int) -> int | None:
    """The oldest seq still in the log (None for an empty log)."""
    return (
        Event.objects.filter(project_id=project_id)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
