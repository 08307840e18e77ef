"""Mix versions of a song: numbered 1, 2, 3 ... per song. Uploaded now; rendered ones later
reuse the same model (source "render")."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from audio.models import Asset, Mix, MixSource
from audio.payloads import mix_payload
from audio.services.assets import require_audio
from eventlog.services import event_record, project_lock
from studio.errors import Invalid
from studio.models import Song
from studio.roles import Capability
from studio.selectors import require_capability


def mix_create(*, actor: Any, song: Song, asset: Asset, note: str = "") -> Mix:
    """A new mix version from an uploaded asset; its number is the song's next one (taken under
    the project lock, so two uploads never get the same number)."""
    require_capability(
        user=actor, project_id=song.project_id, capability=Capability.MIX_EDIT, song_id=song.pk
    )
    if asset.project_id != song.project_id:
        raise Invalid(
            "the asset belongs to another project",
            code="cross_project",
            fields={"asset": ["not found in this song's project"]},
        )
    require_audio(asset)
    with transaction.atomic():
        project_lock(song.project_id)
        top = Mix.objects.filter(song=song).aggregate(m=Max("number"))["m"]
        mix = Mix.objects.create(
            project_id=song.project_id,
            song=song,
            number=(top or 0) + 1,
            note=(note or "")[:1000],
            source=MixSource.UPLOAD,
            asset=asset,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        event_record(
            project=song.project_id,
            type="mix.created",
            payload={"mix": mix_payload(mix)},
            actor=actor,
        )
    return mix
