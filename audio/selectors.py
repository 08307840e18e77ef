"""Reads for a user, scoped to memberships (another project's object is 404)."""

from __future__ import annotations

from typing import Any

from audio.models import Asset, Job, Mix
from studio.errors import NotFound
from studio.roles import Capability
from studio.selectors import require_capability


def asset_get_for_member(*, user: Any, asset_id: int, capability: str = Capability.VIEW) -> Asset:
    try:
        asset = Asset.objects.visible_to(user).get(pk=asset_id)
    except (Asset.DoesNotExist, ValueError, TypeError):
        raise NotFound("asset not found") from None
    require_capability(user=user, project_id=asset.project_id, capability=capability)
    return asset


def job_get_for_member(*, user: Any, job_id: int) -> Job:
    try:
        return Job.objects.visible_to(user).get(pk=job_id)
    except (Job.DoesNotExist, ValueError, TypeError):
        raise NotFound("job not found") from None


def mixes_of_song(*, user: Any, song_id: int) -> Any:
    return Mix.objects.visible_to(user).filter(song_id=song_id)
