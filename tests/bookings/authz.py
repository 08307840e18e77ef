"""Builders of bookings objects for the authorization matrix (tests/studio/test_authz_matrix.py)."""

from __future__ import annotations

import datetime
from typing import Any


def _resource(s: Any) -> Any:
    from bookings.models import Resource
    from bookings.services import resource_create

    n = Resource.objects.filter(project=s.project).count()
    return resource_create(
        actor=s.users["producer"],
        project=s.project,
        data={"name": f"Matrix room {n}", "kind": "room"},
    )


def _session(s: Any) -> Any:
    from django.utils import timezone

    from sessions.services import session_schedule
    from studio.services.songs import song_create

    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    song = song_create(actor=s.users["producer"], project=s.project, title="Matrix booking song")
    return session_schedule(
        actor=s.users["producer"],
        song=song,
        kind="recording",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )


def _booking(s: Any) -> Any:
    from bookings.services import booking_create

    return booking_create(actor=s.users["producer"], resource=_resource(s), session=_session(s))


def _bookable_session(s: Any) -> Any:
    """A session and a free room of its project (`room`, its pk) for the page's book form."""
    session = _session(s)
    session.room = _resource(s).pk
    return session
