"""The dict forms of the song sheet's rows carried in event payloads (part of the protocol;
their schemas are in songsheet/schemas.py)."""

from __future__ import annotations

from typing import Any

from songsheet.models import Influence, PaletteItem, Section, SongSheet


def sheet_payload(sheet: SongSheet) -> dict[str, Any]:
    return {
        "song": sheet.song_id,
        "genre": sheet.genre,
        "vibe": sheet.vibe,
        "time_signature": sheet.time_signature,
        "first_downbeat_s": sheet.first_downbeat_s,
    }


def section_payload(section: Section) -> dict[str, Any]:
    return {
        "id": section.pk,
        "song": section.song_id,
        "position": section.position,
        "name": section.name,
        "bars": section.bars,
        "estimate_minutes": section.estimate_minutes,
    }


def palette_payload(item: PaletteItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "song": item.song_id,
        "name": item.name,
        "status": item.status,
        "session": item.session_id,
    }


def influence_payload(influence: Influence) -> dict[str, Any]:
    return {
        "id": influence.pk,
        "song": influence.song_id,
        "work": influence.work,
        "artist": influence.artist,
        "taken": list(influence.taken),
        "sample_use": influence.sample_use_id,
    }
