"""Plain-dict forms of audio objects, as carried in event payloads (part of the protocol)."""

from __future__ import annotations

from typing import Any

from audio.models import Asset, Job, Master, Mix, ReferenceTrack, Stem, Take


def asset_payload(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.pk,
        "project": asset.project_id,
        "kind": asset.kind,
        "media_type": asset.media_type,
        "sha256": asset.sha256,
        "size_bytes": asset.size_bytes,
        "original_name": asset.original_name,
        "format": asset.format,
        "codec": asset.codec,
        "sample_rate": asset.sample_rate,
        "channels": asset.channels,
        "bit_depth": asset.bit_depth,
        "frames": asset.frames,
        "duration_s": asset.duration_s,
        "has_analysis": asset.analysis is not None,
    }


def stem_payload(stem: Stem) -> dict[str, Any]:
    return {
        "id": stem.pk,
        "project": stem.project_id,
        "song": stem.song_id,
        "asset": stem.asset_id,
        "instrument": stem.instrument,
        "notes": stem.notes,
    }


def take_payload(take: Take) -> dict[str, Any]:
    return {
        "id": take.pk,
        "project": take.project_id,
        "song": take.song_id,
        "asset": take.asset_id,
        "part": take.part,
        "number": take.number,
        "is_keeper": take.is_keeper,
        "notes": take.notes,
    }


def mix_payload(mix: Mix) -> dict[str, Any]:
    return {
        "id": mix.pk,
        "project": mix.project_id,
        "song": mix.song_id,
        "number": mix.number,
        "note": mix.note,
        "source": mix.source,
        "asset": mix.asset_id,
        "is_approved": mix.is_approved,
        "state": mix.state,
        "parent": mix.parent_id,
        "spec_revision": mix.spec_revision,
        "engine_version": mix.engine_version,
        "samples_sha256": mix.samples_sha256,
    }


def reference_payload(ref: ReferenceTrack) -> dict[str, Any]:
    return {
        "id": ref.pk,
        "project": ref.project_id,
        "song": ref.song_id,
        "asset": ref.asset_id,
        "title": ref.title,
    }


def master_payload(master: Master) -> dict[str, Any]:
    return {
        "id": master.pk,
        "project": master.project_id,
        "song": master.song_id,
        "mix": master.mix_id,
        "number": master.number,
        "asset": master.asset_id,
        "prelimiter_asset": master.prelimiter_asset_id,
        "is_approved": master.is_approved,
    }


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project_id,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "attempts": job.attempts,
        "asset": job.asset_id,
        "mix": job.mix_id,
        "error": job.error,
        "error_code": job.error_code,
    }
