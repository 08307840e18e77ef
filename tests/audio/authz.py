"""Builders of audio objects for the authorization matrix (tests/studio/test_authz_matrix.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.audio.audiofiles import write_wav


def _asset(s: Any) -> Any:
    from audio.models import Asset
    from audio.peaks import peaks_store
    from audio.services.assets import asset_ingest_file

    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "m.wav", seconds=0.2, seed=77)
        asset = asset_ingest_file(
            actor=s.users["producer"], project=s.project, path=path, original_name="m.wav"
        )
    stored = peaks_store(project_id=asset.project_id, sha256=asset.sha256, peaks={"levels": []})
    Asset.objects.filter(pk=asset.pk).update(analysis={"ok": True}, **stored)
    asset.refresh_from_db()
    return asset


def _song(s: Any) -> Any:
    from studio.models import Song
    from studio.services.songs import song_create

    song = Song.objects.filter(project=s.project, title="Matrix audio song").first()
    return song or song_create(
        actor=s.users["producer"], project=s.project, title="Matrix audio song"
    )


def _stem(s: Any) -> Any:
    from audio.services.assets import stem_attach

    return stem_attach(actor=s.users["producer"], song=_song(s), asset=_asset(s), instrument="x")


def _take(s: Any) -> Any:
    from audio.services.assets import take_attach

    return take_attach(actor=s.users["producer"], song=_song(s), asset=_asset(s), part="vox")


def _mix(s: Any) -> Any:
    from audio.services.mixes import mix_create

    return mix_create(actor=s.users["producer"], song=_song(s), asset=_asset(s))


def _job(s: Any) -> Any:
    from audio.services.jobs import job_create

    return job_create(actor=s.users["producer"], project=s.project, kind="noop")


def _draft(s: Any) -> Any:
    """A draft of a new song with one stem (a song has one draft at a time, and a draft being
    rendered cannot change, so each principal gets its own)."""
    from audio.services.assets import stem_attach
    from audio.services.renders import draft_create
    from studio.models import Song
    from studio.services.songs import song_create

    n = Song.objects.filter(project=s.project).count()
    song = song_create(actor=s.users["producer"], project=s.project, title=f"Matrix draft {n}")
    stem_attach(actor=s.users["producer"], song=song, asset=_asset(s), instrument="x")
    return draft_create(actor=s.users["producer"], song=song, from_keepers=True)


def _fresh_asset(s: Any) -> Any:
    """An audio asset no other row uses yet (a new seed each time)."""
    from audio.models import Asset
    from audio.services.assets import asset_ingest_file

    seed = 1000 + Asset.objects.filter(project=s.project).count()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "ref.wav", seconds=0.2, seed=seed)
        return asset_ingest_file(
            actor=s.users["producer"], project=s.project, path=path, original_name="ref.wav"
        )


def _reference(s: Any) -> Any:
    """A reference track of the matrix song (the one of `_asset`, made again once deleted)."""
    from audio.models import ReferenceTrack
    from audio.services.masters import reference_add

    song, asset = _song(s), _asset(s)
    found = ReferenceTrack.objects.filter(song=song, asset=asset).first()
    return found or reference_add(actor=s.users["producer"], song=song, asset=asset, title="R")


def _master(s: Any) -> Any:
    """A master row of the matrix mix (its job's work is not what the matrix checks)."""
    from django.db.models import Max

    from audio.models import Master

    mix = _mix(s)
    top = Master.objects.filter(song=mix.song).aggregate(m=Max("number"))["m"] or 0
    return Master.objects.create(
        project=s.project, song=mix.song, mix=mix, number=top + 1, asset=mix.asset
    )
