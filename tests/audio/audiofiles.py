"""Generated test audio (nothing committed): small deterministic WAVs and hostile variants."""

from __future__ import annotations

import io
import random
import struct
import wave
from pathlib import Path

import numpy as np


def wav_bytes(
    *, seconds: float = 1.0, rate: int = 44100, channels: int = 2, seed: int = 0, freq: float = 440
) -> bytes:
    """16-bit PCM: a sine plus a little seeded noise, so every seed gives different bytes."""
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    rng = np.random.default_rng(seed)
    mono = 0.3 * np.sin(2 * np.pi * (freq + seed) * t) + 0.01 * rng.standard_normal(frames)
    data = np.repeat(mono[:, None], channels, axis=1)
    ints = np.clip(np.rint(data * 32767), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(ints.tobytes())
    return buf.getvalue()


def write_wav(path: Path, **kwargs: object) -> Path:
    path.write_bytes(wav_bytes(**kwargs))  # type: ignore[arg-type]
    return path


def _riff(fmt: bytes, data: bytes, *, data_size: int | None = None, extra: bytes = b"") -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(
    tag: int = 1,
    channels: int = 2,
    rate: int = 44100,
    bits: int = 16,
    block_align: int | None = None,
) -> bytes:
    ba = channels * bits // 8 if block_align is None else block_align
    return struct.pack("<HHIIHH", tag, channels, rate, (rate * ba) & 0xFFFFFFFF, ba & 0xFFFF, bits)


def hostile_files(n: int, seed: int = 1234) -> list[tuple[str, bytes]]:
    """`n` generated hostile inputs: header mutations first, then seeded byte flips and splices
    of a few valid seeds. Every one of them must be refused or analysed, never crash."""
    pcm = b"\x00\x01" * 2000
    structured: list[tuple[str, bytes]] = [
        *((f"channels-{ch}.wav", _riff(_fmt(channels=ch), pcm)) for ch in (0, 255, 65535)),
        *((f"rate-{r}.wav", _riff(_fmt(rate=r), pcm)) for r in (0, 1, 7999, 192001, 4294967295)),
        *((f"bits-{b}.wav", _riff(_fmt(bits=b), pcm)) for b in (0, 1, 7, 12, 33, 255)),
    ]
    structured += [
        ("block-align-0.wav", _riff(_fmt(block_align=0), pcm)),
        ("data-0.wav", _riff(_fmt(), b"")),
        ("data-huge.wav", _riff(_fmt(), pcm, data_size=0xFFFFFFFF)),
        ("fmt-truncated.wav", b"RIFF\x20\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"),
        ("list-2gib.wav", _riff(_fmt(), pcm, extra=b"LIST" + struct.pack("<I", 2**31) + b"x" * 8)),
        ("tiny-chunks.wav", _riff(_fmt(), pcm, extra=b"junk\x00\x00\x00\x00" * 2000)),
        ("rf64-no-ds64.wav", b"RF64" + _riff(_fmt(), pcm, data_size=0xFFFFFFFF)[4:]),
        ("codec-adpcm.wav", _riff(_fmt(tag=2), pcm)),
        ("empty.wav", b""),
        ("text.wav", b"<html><script>alert(1)</script></html>"),
        (
            "aiff-nan.aiff",
            b"FORM\x00\x00\x00\x2eAIFFCOMM\x00\x00\x00\x12\x00\x02\x00\x00\x00\x10"
            b"\x00\x10\x7f\xff\xc0\x00\x00\x00\x00\x00\x00\x00SSND\x00\x00\x00\x08" + b"\x00" * 8,
        ),
        ("id3-too-big.mp3", b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 100),
        ("flac-bad.flac", b"fLaC\x80\x00\x00\x22" + b"\xff" * 34),
        ("ogg-garbage.ogg", b"OggS" + bytes(range(200))),
        ("../../etc/passwd.wav", b"RIFF"),
    ]
    rng = random.Random(seed)
    seeds = [
        wav_bytes(seconds=0.3, seed=s, rate=r, channels=c)
        for s, r, c in ((1, 44100, 2), (2, 48000, 1), (3, 22050, 2))
    ]
    out = structured[:n]
    i = 0
    while len(out) < n:
        base = bytearray(rng.choice(seeds))
        mode = i % 3
        if mode == 0:  # flip bytes in the header
            for _ in range(rng.randint(1, 6)):
                base[rng.randrange(0, 44)] = rng.randrange(256)
        elif mode == 1:  # truncate
            base = base[: rng.randrange(1, 60)]
        else:  # splice random bytes into the header
            at = rng.randrange(0, 40)
            base[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        out.append((f"fuzz-{i}.wav", bytes(base)))
        i += 1
    return out
