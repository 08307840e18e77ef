"""Small valid files of every supported format, written into a test's tmp_path."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.engine.io import write_flac, write_mp3, write_wav
from tests.audio.engine.signals import sine


def wav_bytes(
    channels: int = 2,
    rate: int = 44100,
    bits: int = 16,
    frames: int = 4410,
    tag: int = 1,
    extensible: bool = False,
) -> bytes:
    """A hand-built PCM WAV, so tests can then bend any header field."""
    block = channels * bits // 8
    data = bytes(frames * block)
    if extensible:
        fmt = (
            struct.pack(
                "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 3
            )
            + struct.pack("<H", tag)
            + (b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def make_seeds(folder: Path, seconds: float = 0.3) -> dict[str, Path]:
    """One short programme-like file per format."""
    rate = 44100
    x = sine(rate, seconds, -6.0, freq=440)
    x[1] *= 0.5
    paths = {
        "wav16": folder / "seed16.wav",
        "wav24": folder / "seed24.wav",
        "wavf": folder / "seedf.wav",
        "flac": folder / "seed.flac",
        "mp3": folder / "seed.mp3",
        "ogg": folder / "seed.ogg",
        "aiff": folder / "seed.aiff",
    }
    write_wav(paths["wav16"], x, rate, 16)
    write_wav(paths["wav24"], x, rate, 24)
    write_wav(paths["wavf"], x, rate, 32)
    write_flac(paths["flac"], x, rate)
    write_mp3(paths["mp3"], x, rate)
    sf.write(paths["ogg"], x.T, rate, format="OGG", subtype="VORBIS")
    sf.write(paths["aiff"], x.T, rate, format="AIFF", subtype="PCM_16")
    return paths


def flac_bomb(path: Path, hours: float = 3.0, rate: int = 8000, hide_length: bool = True) -> None:
    """A ~100 KB FLAC of silence that decodes to hours; optionally with STREAMINFO's length
    zeroed ("unknown"), so only counting decoded frames can stop it."""
    with sf.SoundFile(path, "w", rate, 1, "PCM_16", format="FLAC") as f:
        chunk = np.zeros(rate * 600, dtype=np.int16)
        for _ in range(round(hours * 6)):
            f.write(chunk)
    if hide_length:
        raw = bytearray(path.read_bytes())
        assert raw[:4] == b"fLaC"
        packed = int.from_bytes(raw[18:26], "big") & ~((1 << 36) - 1)
        raw[18:26] = packed.to_bytes(8, "big")
        raw[26:42] = bytes(16)  # MD5 of nothing known
        path.write_bytes(bytes(raw))
