"""Shared helpers of the deliver tests: short generated masters, a cover, a release folder."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.io import write_wav
from tests.audio.engine.signals import programme


def png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + bytes(3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_float(path: Path, x: npt.NDArray[np.float32], rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.ascontiguousarray(x.T), rate, subtype="FLOAT")


def base_release(tracks: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "title": "Night Drive EP",
        "artist": "Ava",
        "upc": "036000291452",
        "label": "Demo Records",
        "p_line": "2026 Demo Records",
        "c_line": "2026 Demo Records",
        "artwork": "cover.png",
        "formats": ["wav", "cue", "ddp", "flac", "mp3", "qc"],
        "mp3_bitrate": 320,
        "tracks": tracks,
    }
    data.update(changes)
    return data


def album_folder(folder: Path) -> Path:
    """Three masters (48 kHz 24-bit, 44.1 kHz mono 16-bit, 96 kHz float) and a release."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "masters").mkdir()
    write_wav(folder / "masters/01.wav", programme(48000, 5.0, seed=1, level=0.7), 48000, 24)
    write_wav(folder / "masters/02.wav", programme(44100, 6.3, seed=2)[:1], 44100, 16)
    write_float(folder / "masters/03.wav", programme(96000, 4.5, seed=3, level=0.8), 96000)
    (folder / "cover.png").write_bytes(png(32, 32))
    release = base_release(
        [
            {
                "source": "masters/01.wav",
                "title": "Intro",
                "isrc": "USRC17607839",
                "fade_in_s": 0.5,
                "fade_out_s": 1.0,
            },
            {
                "source": "masters/02.wav",
                "title": "Drive/Home",
                "artist": "Ava feat. Bo",
                "isrc": "us-rc1-76-07840",
                "pregap_s": 1.0,
                "trim_start_s": 0.2,
                "trim_end_s": 0.1,
            },
            {"source": "masters/03.wav", "title": "Outro", "isrc": "USRC17607841"},
        ]
    )
    path = folder / "release.json"
    path.write_text(json.dumps(release))
    return path
