"""``watermark embed`` and ``watermark detect`` on files: decode, mark or look, write, report.

``embed_file`` reads the whole input into memory (the strength is set per window from the
programme and the mark of the whole file), writes OUT as WAV at the input's rate, channels and
length (32-bit float for a float input, else 24-bit) under a temporary name renamed at the end,
and measures the difference actually written. ``detect_file`` streams the input, keeping only
its mid at 16 kHz.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from audio.engine.errors import AudioError
from audio.engine.io import BLOCK_FRAMES, PathLike, probe, read_all, read_blocks
from audio.engine.render.wav import WavWriter
from audio.engine.types import ProgressFn
from audio.engine.watermark import code, mark

MAX_KEY_CHARS = 1024
MAX_IDS = 10000


class WatermarkInvalid(AudioError):
    code = "audio.watermark_invalid"


def _named(path: PathLike, exc: AudioError) -> AudioError:
    """The same error, its sentence naming the file (the engine's readers may not)."""
    name = str(path)
    if name in exc.message:
        return exc
    return type(exc)(f"{name}: {exc.message}", code=exc.code)


def check_key(key: str) -> None:
    if not key:
        raise WatermarkInvalid("--key: '' is empty; the key is the secret the mark is drawn from")
    if len(key) > MAX_KEY_CHARS:
        raise WatermarkInvalid(f"--key: {len(key)} characters, over the {MAX_KEY_CHARS} limit")


def check_id(recipient: int, flag: str = "--id") -> None:
    if not 0 <= recipient <= code.MAX_ID:
        raise WatermarkInvalid(f"{flag}: {recipient} is outside 0..{code.MAX_ID} (32 bits)")


def _snr_db(signal: float, noise: float) -> float | None:
    if noise <= 0.0:
        return None
    if signal <= 0.0:
        return 0.0
    return round(10 * math.log10(signal / noise), 2)


def embed_file(
    src: PathLike,
    out: Path,
    key: str,
    recipient: int,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Mark ``src`` into ``out`` (WAV); report ``{"id", "strength", "snr_db"}``."""
    check_key(key)
    check_id(recipient)
    if out.suffix.lower() not in (".wav", ".wave"):
        raise WatermarkInvalid(f"OUT: {out}: the marked copy is written as WAV (name it .wav)")
    try:
        info = probe(src)
        audio = read_all(src)
    except AudioError as exc:
        raise _named(src, exc) from None
    if on_progress:
        on_progress(0.3)
    marked = mark.embed(audio.samples, audio.sample_rate, key, recipient)
    if on_progress:
        on_progress(0.7)
    bits = "32f" if info.codec in ("FLOAT", "DOUBLE") else "24"
    signal = 0.0
    noise = 0.0
    with WavWriter(out, audio.sample_rate, audio.channels, bits, seed=0) as writer:
        for start in range(0, audio.frames, BLOCK_FRAMES):
            block = marked.samples[:, start : start + BLOCK_FRAMES]
            stored = writer.write(np.ascontiguousarray(block), start)
            orig = audio.samples[:, start : start + BLOCK_FRAMES].astype(np.float64)
            signal += float(np.square(orig).sum())
            noise += float(np.square(stored.astype(np.float64) - orig).sum())
        writer.close()
    if on_progress:
        on_progress(1.0)
    return {
        "id": recipient,
        "strength": round(marked.strength, 5),
        "snr_db": _snr_db(signal, noise),
    }


def read_mid(src: PathLike, on_progress: ProgressFn | None = None) -> np.ndarray[Any, Any]:
    """The file's mid (mean of its channels) at the analysis rate, decoded block by block."""
    info = probe(src)
    stream = None
    if info.sample_rate != mark.ANALYSIS_RATE:
        stream = soxr.ResampleStream(info.sample_rate, mark.ANALYSIS_RATE, 1, quality="HQ")
    parts = []
    done = 0
    for block in read_blocks(src, info=info):
        mid = block.mean(axis=0, dtype=np.float32)
        parts.append(stream.resample_chunk(mid) if stream else mid)
        done += block.shape[1]
        if on_progress and info.frames:
            on_progress(min(0.8, 0.8 * done / info.frames))
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    return np.concatenate(parts).astype(np.float32)


def detect_file(
    src: PathLike,
    key: str,
    ids: list[int] | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Look for the key's mark; report ``{"found", "id", "confidence"}``."""
    check_key(key)
    if ids is not None:
        if not ids:
            raise WatermarkInvalid("--ids: the list is empty")
        if len(ids) > MAX_IDS:
            raise WatermarkInvalid(f"--ids: {len(ids)} ids, over the {MAX_IDS} limit")
        for recipient in ids:
            check_id(recipient, "--ids")
        ids = sorted(set(ids))
    try:
        mid = read_mid(src, on_progress)
    except AudioError as exc:
        raise _named(src, exc) from None
    result = mark.detect(mid, key, ids)
    if on_progress:
        on_progress(1.0)
    return {"found": result.found, "id": result.id, "confidence": result.confidence}
