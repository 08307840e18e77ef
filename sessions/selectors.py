"""Reads of the live layer."""

from __future__ import annotations

from typing import Any

from sessions.models import Event


def events_after(*, project_id: int, after: int, limit: int = 500) -> Any:
    """Events with seq > after, in order, at most `limit`."""
    return (
        Event.objects.filter(project_id=project_id, seq__gt=after)
        .select_related("actor")
        .order_by("seq")[:limit]
    )
