"""Generated music-like programmes for the watermark tests: tonal, percussive and quiet passages.

``music(rate, seconds, seed)`` cycles through sections of 5-9 s: tonal (a melody and chords of
harmonic tones with partials up to 8 kHz and vibrato), percussive (kick, snare, hats), full
(both), and quiet (a soft pad some 35 dB down), with a near-silent gap now and then. Each voice
has its own pan, so left and right differ. Deterministic for a seed; float32 (channels, frames).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt

Float32Array = npt.NDArray[np.float32]
KINDS = ("tonal", "percussive", "full", "quiet")


def _tone(rate: int, n: int, freq: float, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    t = np.arange(n) / rate
    vib = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
    phase = 2 * np.pi * np.cumsum(freq * vib) / rate
    out = np.zeros(n)
    for h in range(1, 40):
        if freq * h > min(8000.0, rate / 2 - 500):
            break
        out += np.sin(h * phase + rng.uniform(0, 2 * np.pi)) / h**1.2
    return out


def _envelope(
    rate: int, n: int, every: int, decay: float, offset: int = 0
) -> npt.NDArray[np.float64]:
    env = np.zeros(n)
    hit = np.exp(-np.arange(every) / rate * decay)
    for start in range(offset, n, every):
        env[start : start + every] = hit[: n - start]
    return env


def _section(kind: str, rate: int, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    out = np.zeros((2, n))
    beat = int(rate * rng.uniform(0.42, 0.6))

    def pan(sig: npt.NDArray[np.float64], p: float) -> None:
        theta = (p + 1) * np.pi / 4
        out[0] += np.cos(theta) * sig
        out[1] += np.sin(theta) * sig

    if kind in ("tonal", "full", "quiet"):
        root = rng.choice([110.0, 123.5, 130.8, 146.8, 164.8, 174.6, 196.0])
        for ratio, p in ((1.0, -0.3), (1.25, 0.2), (1.5, 0.5)):
            pad = _tone(rate, n, root * ratio, rng) * (0.6 + 0.4 * np.sin(np.arange(n) / rate))
            pan(0.25 * pad, p)
        if kind != "quiet":
            notes = rng.choice([2, 2.25, 2.5, 3, 3.375, 4], -(-n // beat))
            freq = np.repeat(root * notes, beat)[:n]
            melody = np.zeros(n)
            for start in range(0, n, beat):
                seg = slice(start, min(n, start + beat))
                m = seg.stop - seg.start
                melody[seg] = _tone(rate, m, float(freq[start]), rng) * np.exp(
                    -np.arange(m) / rate * 3
                )
            pan(0.5 * melody, rng.uniform(-0.5, 0.5))
    if kind in ("percussive", "full"):
        tk = np.arange(beat) / rate
        kick = np.sin(2 * np.pi * (45 + 90 * np.exp(-tk * 35)) * tk) * np.exp(-tk * 10)
        pan(0.9 * np.tile(kick, -(-n // beat))[:n], 0.0)
        noise = rng.standard_normal(n)
        snare_band = butter(
            2, [800, min(9000, rate / 2 - 500)], btype="bandpass", fs=rate, output="sos"
        )
        snare = sosfilt(snare_band, noise) * _envelope(rate, n, 2 * beat, 25, beat)
        pan(1.2 * snare, 0.1)
        hat_band = butter(
            4, [5000, min(15000, rate / 2 - 1000)], btype="bandpass", fs=rate, output="sos"
        )
        hats = sosfilt(hat_band, rng.standard_normal(n)) * _envelope(rate, n, beat // 2, 70)
        pan(0.8 * hats, -0.4)
    if kind == "quiet":
        out *= 10 ** (-35 / 20)
    return out


def music(rate: int, seconds: float, seed: int = 0, level: float = 0.7) -> Float32Array:
    """A music-like stereo programme at ``rate``, its sample peak at ``level``."""
    rng = np.random.default_rng(seed)
    total = round(seconds * rate)
    parts = []
    done = 0
    k = int(rng.integers(0, len(KINDS)))
    while done < total:
        n = min(total - done, int(rate * rng.uniform(5, 9)))
        parts.append(_section(KINDS[k % len(KINDS)], rate, n, rng))
        k += 1
        done += n
        if done < total and rng.random() < 0.3:
            gap = min(total - done, int(rate * 0.5))
            parts.append(1e-4 * rng.standard_normal((2, gap)))
            done += gap
    out = np.concatenate(parts, axis=1)
    out *= level / np.abs(out).max()
    return out.astype(np.float32)


def test_music_has_tonal_percussive_and_quiet_passages() -> None:
    """A minute of the programme has loud sections and sections over 25 dB quieter."""
    rate = 16000
    x = music(rate, 60, seed=1).astype(np.float64)
    win = rate // 2
    levels = 10 * np.log10(
        np.square(x[:, : len(x[0]) // win * win]).reshape(2, -1, win).mean(axis=(0, 2)) + 1e-20
    )
    assert levels.max() - np.percentile(levels, 10) > 25
    assert x.shape == (2, 60 * rate)
    assert not np.allclose(x[0], x[1])


def test_music_is_deterministic() -> None:
    """The same seed gives the same samples; another seed other samples."""
    a = music(16000, 10, seed=3)
    assert np.array_equal(a, music(16000, 10, seed=3))
    assert not np.array_equal(a, music(16000, 10, seed=4))
