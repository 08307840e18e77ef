"""Reads for a user, scoped to memberships. Another project's object is NotFound (404, no
existence leak); a member without the capability is Forbidden (403)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from studio.errors import Forbidden, NotFound
from studio.gates import SongFacts
from studio.models import Clearance, CreditRole, Membership, Project, Song, TaskStatus
from studio.roles import Capability, role_can


def member_role(*, user: Any, project_id: int) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(project_id=project_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


def require_capability(*, user: Any, project_id: int, capability: str) -> str:
    """Return the member's role, or raise NotFound (not a member) / Forbidden (wrong role)."""
    role = member_role(user=user, project_id=project_id)
    if role is None:
        raise NotFound("project not found")
    if not role_can(role, capability):
        raise Forbidden(f"a {role} may not {Capability(capability).label}")
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
    return song


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
    )
