"""Waveform peaks as stored files, keyed by the audio's SHA-256, not as database rows.

The engine's peaks (every zoom level of min/max pairs: megabytes for an hour) are written by the
analysis job to `peaks/<project>/<audio sha256>-<peaks sha256 prefix>.json` through
`audio.storage` (local: fsync and atomic rename; remote: one PUT) before the row naming them
commits, and never change afterwards (a re-analysis that gives other bytes gets another name).
The asset row keeps only the name, the file's SHA-256 (so backups check it like any stored file)
and a small index: the JSON text before the levels and each level's length and byte span.

So the peaks endpoint answers a player's width from one ranged read of the stored bytes, sent as
they are: nothing is parsed or serialised per request, and the answer can be cached for good.
The file is plain JSON, `{<meta>,"levels":[<level>,<level>,...]}` with the coarsest level first,
so reading it whole gives back the engine's dict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from audio import storage

PEAKS_PREFIX = "peaks"
TAIL = b"]}"


class HasPeaks(Protocol):
    """What reading an asset's peaks needs (an Asset, or a migration's historical one)."""

    peaks_name: str
    peaks_index: Any


def encode(peaks: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and its index: {"head": JSON text before the first level, "levels":
    [[length, start, end], ...] in the file's order (coarsest first)}."""
    meta = {k: v for k, v in peaks.items() if k != "levels"}
    meta_json = storage.json_bytes(meta)
    head = meta_json[:-1] + (b"," if meta else b"") + b'"levels":['
    parts = [head]
    spans: list[list[int]] = []
    at = len(head)
    for number, level in enumerate(peaks.get("levels") or []):
        if number:
            parts.append(b",")
            at += 1
        body = storage.json_bytes(level)
        spans.append([int(level.get("length", 0)), at, at + len(body)])
        parts.append(body)
        at += len(body)
    parts.append(TAIL)
    return b"".join(parts), {"head": head.decode(), "levels": spans}


def peaks_name(*, project_id: int, sha256: str, content: bytes) -> str:
    return (
        f"{PEAKS_PREFIX}/{int(project_id)}/{sha256}-{hashlib.sha256(content).hexdigest()[:16]}.json"
    )


def peaks_store(*, project_id: int, sha256: str, peaks: dict[str, Any]) -> dict[str, Any]:
    """Write the peaks file durably; returns the asset fields that name it (peaks_name,
    peaks_sha256, peaks_index), to be saved by the caller once the file is stored."""
    content, index = encode(peaks)
    name = peaks_name(project_id=project_id, sha256=sha256, content=content)
    storage.put_bytes(name, content)
    return {
        "peaks_name": name,
        "peaks_sha256": hashlib.sha256(content).hexdigest(),
        "peaks_index": index,
    }


def level_for_width(index: dict[str, Any], width: int) -> list[int] | None:
    """The level a player `width` CSS pixels wide needs (about 2 points per pixel: the coarsest
    level with at least `width` min/max pairs; the finest when none has), as [length, start,
    end]; None when there are no levels."""
    spans = index.get("levels") or []
    best = next((span for span in spans if span[0] >= width), None)
    return best if best is not None or not spans else spans[-1]


def peaks_body(asset: HasPeaks, width: int | None) -> bytes:
    """The peaks JSON as stored: whole (width None) or with only the level for `width`."""
    if width is None:
        return storage.read_bytes(asset.peaks_name)
    index = asset.peaks_index or {}
    span = level_for_width(index, width)
    level = b"" if span is None else storage.read_span(asset.peaks_name, span[1], span[2] - span[1])
    return str(index.get("head", '{"levels":[')).encode() + level + TAIL


def peaks_read(asset: HasPeaks) -> dict[str, Any] | None:
    """The whole peaks dict (None before the analysis), e.g. to move it back into a row."""
    if not asset.peaks_name:
        return None
    value: dict[str, Any] = json.loads(storage.read_bytes(asset.peaks_name))
    return value


def peaks_level(asset: HasPeaks, width: int) -> dict[str, Any] | None:
    """One level ({"length", "samples_per_peak", "data"}) for a page drawing the waveform
    itself; width 0 gives the coarsest. None before the analysis or without levels."""
    if not asset.peaks_name or not asset.peaks_index:
        return None
    span = level_for_width(asset.peaks_index, width)
    if span is None:
        return None
    level: dict[str, Any] = json.loads(
        storage.read_span(asset.peaks_name, span[1], span[2] - span[1])
    )
    return level
