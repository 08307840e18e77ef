"""The dict forms of releases, tracks, ISRCs and deliveries carried in event payloads (part of
the protocol; their schemas are in delivery/schemas.py)."""

from __future__ import annotations

from typing import Any

from delivery.models import Delivery, Isrc, Release, ReleaseTrack


def release_payload(release: Release) -> dict[str, Any]:
    return {
        "id": release.pk,
        "project": release.project_id,
        "title": release.title,
        "artist": release.artist,
        "upc": release.upc,
        "artwork": release.artwork_id,
    }


def track_payload(track: ReleaseTrack) -> dict[str, Any]:
    return {
        "id": track.pk,
        "release": track.release_id,
        "position": track.position,
        "song": track.song_id,
        "master": track.master_id,
        "title": track.title,
    }


def isrc_payload(isrc: Isrc, *, song: int) -> dict[str, Any]:
    return {"id": isrc.pk, "master": isrc.master_id, "song": song, "code": isrc.code}


def delivery_payload(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "release": delivery.release_id,
        "title": delivery.release.title,
        "number": delivery.number,
        "job": delivery.job_id,
        "qc_status": delivery.qc_status,
        "bundle": delivery.bundle_id,
    }
