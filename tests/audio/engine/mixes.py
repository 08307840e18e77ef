"""Helpers for the render tests: generated sources on disk, a render into arrays, and the
spec's formulas written out again in numpy (float64) as the independent expectation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.render import MixSpec, render

Array = npt.NDArray[Any]


def noise(
    rate: int, seconds: float, channels: int = 1, seed: int = 0, level: float = 0.25
) -> Array:
    """Band-limited-enough deterministic noise, (channels, frames) float32."""
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal((channels, round(rate * seconds)))).astype(np.float32)


def tone(rate: int, seconds: float, freq: float, level: float = 0.3, channels: int = 1) -> Array:
    t = np.arange(round(rate * seconds)) / rate
    mono = level * np.sin(2 * np.pi * freq * t)
    return np.repeat(mono[None, :], channels, axis=0).astype(np.float32)


def write_source(folder: Path, name: str, samples: Array, rate: int) -> Path:
    """A float WAV holding exactly ``samples`` (channels, frames)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.ascontiguousarray(samples.T), rate, subtype="FLOAT")
    return path


def spec_of(rate: int, tracks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"version": 1, "sample_rate": rate, "tracks": tracks, **extra}


def mix(
    folder: Path,
    spec: dict[str, Any],
    sources: dict[str, tuple[Array, int]],
    out: str = "out.wav",
    **options: Any,
) -> tuple[Array, dict[str, Any]]:
    """Write the sources, render the spec, read the result back: ((2, frames) float, report)."""
    paths = {name: write_source(folder, name, x, r) for name, (x, r) in sources.items()}
    report = render(MixSpec.from_dict(spec), paths, folder / out, **options)
    data, rate = sf.read(folder / out, dtype="float64", always_2d=True)
    assert rate == spec["sample_rate"]
    return data.T, report


def theta(pan: Array | float) -> Array:
    return (np.asarray(pan, dtype=np.float64) + 1) * math.pi / 4


def mono_law(pan: Array | float) -> tuple[Array, Array]:
    t = theta(pan)
    return np.cos(t), np.sin(t)


def stereo_law(pan: Array | float) -> tuple[Array, Array]:
    t = theta(pan)
    return np.minimum(1, math.sqrt(2) * np.cos(t)), np.minimum(1, math.sqrt(2) * np.sin(t))


def db(value: Array | float) -> Array:
    return np.power(10.0, np.asarray(value, dtype=np.float64) / 20)


def fade_in(shape: str, length: int, n: int) -> Array:
    """Gain at samples 0..n-1 of a fade-in of ``length`` (1 after it)."""
    x = np.minimum(np.arange(n) / length, 1.0)
    return {
        "linear": x,
        "equal_power": np.sin(np.pi / 2 * x),
        "s_curve": (1 - np.cos(np.pi * x)) / 2,
        "exponential": x**2,
    }[shape]


def placed(total: int, start: int, signal: Array) -> Array:
    """``signal`` (channels, n) put at ``start`` on a (channels, total) timeline."""
    out = np.zeros((signal.shape[0], total))
    end = min(total, start + signal.shape[1])
    out[:, start:end] = signal[:, : end - start]
    return out


def mono_track(x: Array, pan: float = 0.0, gain_db: float = 0.0) -> Array:
    """A mono track's stereo output: fader then the mono pan law."""
    left, right = mono_law(pan)
    g = float(db(gain_db))
    return np.stack([x[0] * g * left, x[0] * g * right])
