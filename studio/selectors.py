"""Reads for a user, scoped to memberships. Another project's object is NotFound (404, no
existence leak); a member without the capability is Forbidden (403)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from studio.errors import Conflict, Forbidden, NotFound
from studio.gates import SongFacts
from studio.models import Clearance, CreditRole, Membership, Project, Song, TaskStatus
from studio.roles import ARCHIVE_ALLOWS, Capability, role_can, roles_with


def member_role(*, user: Any, project_id: int) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(project_id=project_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


ARCHIVED_PROJECT = "This project is archived: unarchive it to change it"
ARCHIVED_SONG = "This song is archived: unarchive it to change it"
# How long a deleted project or song can be restored; then the purge removes it for good.
RESTORE_DAYS = 30


def require_capability(
    *, user: Any, project_id: int, capability: str, song_id: int | None = None
) -> str:
    """Return the member's role, or raise NotFound (not a member, or the project is deleted),
    Forbidden (wrong role) or Conflict (a write in an archived project, or in the archived song
    `song_id`: only reading, members and the lifecycle itself go on there).

    One query for the project (the membership row and the project's state together), one more
    when a song is named."""
    row = None
    if getattr(user, "is_authenticated", False):
        row = (
            Membership.objects.filter(project_id=project_id, user=user)
            .values_list("role", "project__archived_at", "project__deleted_at")
            .first()
        )
    if row is None or (row[2] is not None and capability != Capability.LIFECYCLE):
        raise NotFound("project not found")
    role, archived_at, _deleted_at = row
    if not role_can(role, capability):
        raise Forbidden(f"a {role} may not {Capability(capability).label}")
    if capability not in ARCHIVE_ALLOWS:
        if archived_at is not None:
            raise Conflict(ARCHIVED_PROJECT, code="archived")
        if song_id is not None:
            state = Song.objects.filter(pk=song_id).values_list("archived_at", "deleted_at").first()
            if state is None or state[1] is not None:
                raise NotFound("song not found")
            if state[0] is not None:
                raise Conflict(ARCHIVED_SONG, code="archived")
    return role


def project_get_for_member(
    *, user: Any, project_id: int, capability: str = Capability.VIEW
) -> Project:
    try:
        project = Project.objects.for_member(user).get(pk=project_id)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise NotFound("project not found") from None
    require_capability(user=user, project_id=project.pk, capability=capability)
    return project


def song_get_for_member(*, user: Any, song_id: int, capability: str = Capability.VIEW) -> Song:
    try:
        song = Song.objects.visible_to(user).select_related("project").get(pk=song_id)
    except (Song.DoesNotExist, ValueError, TypeError):
        raise NotFound("song not found") from None
    require_capability(user=user, project_id=song.project_id, capability=capability)
    if capability not in ARCHIVE_ALLOWS and song.archived_at is not None:
        raise Conflict(ARCHIVED_SONG, code="archived")
    return song


def project_get_deleted_for_member(*, user: Any, project_id: int) -> Project:
    """A deleted (not yet purged) project of the user's, for its notice and its restore."""
    try:
        return Project.objects.deleted_for_member(user).get(pk=project_id)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise NotFound("project not found") from None


def song_get_deleted_for_member(*, user: Any, song_id: int) -> Song:
    """A deleted (not yet purged) song of one of the user's live projects."""
    try:
        return Song.objects.deleted_for_member(user).select_related("project").get(pk=song_id)
    except (Song.DoesNotExist, ValueError, TypeError):
        raise NotFound("song not found") from None


def restore_deadline(deleted_at: datetime.datetime) -> datetime.datetime:
    return deleted_at + datetime.timedelta(days=RESTORE_DAYS)


def days_left(deleted_at: datetime.datetime, now: datetime.datetime | None = None) -> int:
    """Whole days (rounded up) until a deleted object can no longer be restored; 0 when past."""
    remaining = restore_deadline(deleted_at) - (now or timezone.now())
    if remaining.total_seconds() <= 0:
        return 0
    return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)


def project_lists_for_member(*, user: Any) -> dict[str, list[Project]]:
    """The project list page: active and archived projects of the user, and the deleted ones
    the user may restore (producers), each with `days_left`."""
    projects = list(
        Project.objects.for_member(user).annotate(songs_n=_live_songs()).order_by("name", "id")
    )
    deleted = list(
        Project.objects.filter(
            memberships__user=user,
            memberships__role__in=roles_with(Capability.LIFECYCLE),
            deleted_at__isnull=False,
        )
        .select_related("deleted_by")
        .order_by("-deleted_at", "id")
    )
    for p in deleted:
        p.days_left = days_left(p.deleted_at)
    return {
        "active": [p for p in projects if p.archived_at is None],
        "archived": [p for p in projects if p.archived_at is not None],
        "deleted": deleted,
    }


def _live_songs() -> Count:
    return Count("songs", filter=Q(songs__deleted_at__isnull=True), distinct=True)


def song_lists_for_project(*, project: Project) -> dict[str, list[Song]]:
    """A project's songs by state for a member who may read it: active (the pipeline),
    archived, and deleted (not yet purged, with `days_left`: only producers are shown these)."""
    rows = list(Song.objects.filter(project=project).select_related("deleted_by").order_by("title"))
    deleted = sorted(
        (s for s in rows if s.deleted_at is not None), key=lambda s: s.deleted_at, reverse=True
    )
    for s in deleted:
        s.days_left = days_left(s.deleted_at)
    return {
        "active": [s for s in rows if s.deleted_at is None and s.archived_at is None],
        "archived": [s for s in rows if s.deleted_at is None and s.archived_at is not None],
        "deleted": deleted,
    }


def song_facts(song: Song) -> SongFacts:
    """Gather what the stage gates need, in a handful of queries."""
    totals = {
        row["right"]: Decimal(row["total"]).quantize(Decimal("0.01"))
        for row in song.splits.values("right").annotate(total=Sum("share"))
    }
    credit_counts = song.credits.aggregate(
        composers=Count("id", filter=Q(role=CreditRole.COMPOSER)),
        performers=Count("id", filter=Q(role=CreditRole.PERFORMER)),
    )
    return SongFacts(
        stage=song.stage,
        has_approved_mix=song.mixes.filter(is_approved=True).exists(),
        has_approved_master=song.masters.filter(is_approved=True).exists(),
        split_totals=totals,
        pending_or_denied_samples=song.sample_uses.filter(
            clearance__in=[Clearance.PENDING, Clearance.DENIED]
        ).count(),
        composer_credits=credit_counts["composers"],
        performer_credits=credit_counts["performers"],
        open_tasks=dict(
            song.tasks.exclude(status=TaskStatus.DONE)
            .values("stage")
            .annotate(n=Count("id"))
            .values_list("stage", "n")
        ),
        # Reverse relations of the audio app's Stem and Take (no import: audio sits above).
        stems_and_takes=song.stems.count() + song.takes.count(),
        parts_without_keeper=song.takes.values("part")
        .annotate(keepers=Count("id", filter=Q(is_keeper=True)))
        .filter(keepers=0)
        .count(),
        project_checks=frozenset(song.project.gate_checks or ()),
        # The song sheet's sections (songsheet sits above: read through the reverse relation).
        sections=song.sections.count(),
    )
