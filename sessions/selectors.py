"""Reads of the live layer: where a project's log stands, and who may still follow it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from eventlog.selectors import first_kept_seq
from studio.models import Membership, Project


def log_position(*, project_id: int, user_id: int) -> tuple[str, int, int, bool] | None:
    """(epoch, last_seq, first kept seq, is the user a member) of a project's log, read in one
    query so the membership and the position belong together; None if there is no project."""
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
    first = first_kept_seq(project_id=project_id)
    return row[0], row[1], first if first is not None else row[1] + 1, row[2]


def live_poll(
    *, project_ids: list[int], user_ids: list[int]
) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """One tick of the consumers' safety net, for every open socket of a process at once:
    each project's last seq, and which (project, user) memberships still exist."""
    last = dict(Project.objects.filter(pk__in=project_ids).values_list("id", "last_event_seq"))
    members = set(
        Membership.objects.filter(project_id__in=project_ids, user_id__in=user_ids).values_list(
            "project_id", "user_id"
        )
    )
    return last, members
