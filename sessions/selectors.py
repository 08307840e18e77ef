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


def event_frames_after(*, project_id: int, after: int, limit: int = 500) -> list[dict[str, Any]]:
    """The websocket form of events_after: a list of frames, in seq order."""
    return [e.to_frame() for e in events_after(project_id=project_id, after=after, limit=limit)]


def is_member(*, user_id: int, project_id: int) -> bool:
    from studio.models import Membership

    return Membership.objects.filter(project_id=project_id, user_id=user_id).exists()


def log_position(*, project_id: int, user_id: int) -> tuple[str, int, int, bool] | None:
    """(epoch, last_seq, first kept seq, is the user a member) of a project's log, read in one
    query so the membership and the position belong together; None if there is no project."""
    from django.db.models import Exists, OuterRef

    from studio.models import Membership, Project

    row = (
        Project.objects.filter(pk=project_id)
        .annotate(
            member=Exists(Membership.objects.filter(project_id=OuterRef("pk"), user_id=user_id))
        )
        .values_list("event_epoch", "last_event_seq", "member")
        .first()
    )
    if row is None:
        return None
    first = (
        Event.objects.filter(project_id=project_id)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    return row[0], row[1], first if first is not None else row[1] + 1, row[2]


def live_poll(
    *, project_ids: list[int], user_ids: list[int]
) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """One tick of the consumers' safety net, for every open socket of a process at once:
    each project's last seq, and which (project, user) memberships still exist."""
    from studio.models import Membership, Project

    last = dict(Project.objects.filter(pk__in=project_ids).values_list("id", "last_event_seq"))
    members = set(
        Membership.objects.filter(project_id__in=project_ids, user_id__in=user_ids).values_list(
            "project_id", "user_id"
        )
    )
    return last, members
