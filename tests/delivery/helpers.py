"""Builders for the delivery tests: songs with approved masters, real PNG covers."""

from __future__ import annotations

import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from tests.audio.audiofiles import write_wav


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    """A real PNG of one colour (8-bit RGB), small because it compresses to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def mastered_song(
    s: Any, title: str, *, seconds: float = 5.0, seed: int = 1, approved: bool = True
) -> Any:
    """A song of the scenario's project with Master 1 (approved unless told), whose audio is a
    WAV of `seconds`; returns the song (its master is `song.masters.get()`)."""
    from audio.models import Master
    from audio.services.assets import asset_ingest_file
    from audio.services.mixes import mix_create
    from studio.services.songs import song_create

    song = song_create(actor=s.users["producer"], project=s.project, title=title)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "m.wav", seconds=seconds, seed=seed)
        asset = asset_ingest_file(
            actor=s.users["producer"], project=s.project, path=path, original_name=f"{title}.wav"
        )
    mix = mix_create(actor=s.users["producer"], song=song, asset=asset)
    Master.objects.create(
        project=s.project, song=song, mix=mix, number=1, asset=asset, is_approved=approved
    )
    return song
