"""Synthetic test signals (no committed audio): EBU-style tones and generated programme."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, lfilter, sosfilt

Float32Array = npt.NDArray[np.float32]


def db(level: float) -> float:
    return float(10 ** (level / 20))


def sine(
    rate: int, seconds: float, level_dbfs: float, freq: float = 1000.0, channels: int = 2
) -> Float32Array:
    """A sine whose peak is ``level_dbfs`` on every channel (Tech 3341 states levels so)."""
    t = np.arange(round(seconds * rate)) / rate
    mono = db(level_dbfs) * np.sin(2 * np.pi * freq * t)
    return np.repeat(mono[np.newaxis, :], channels, axis=0).astype(np.float32)


def silence(rate: int, seconds: float, channels: int = 2) -> Float32Array:
    return np.zeros((channels, round(seconds * rate)), dtype=np.float32)


def sequence(rate: int, parts: list[tuple[float, float]], channels: int = 2) -> Float32Array:
    """Concatenate 1 kHz sine segments given as (seconds, level dBFS); None level = silence."""
    return np.concatenate(
        [
            sine(rate, s, lvl, channels=channels) if lvl is not None else silence(rate, s, channels)
            for s, lvl in parts
        ],
        axis=1,
    )


def faded(x: Float32Array, rate: int, seconds: float = 0.01) -> Float32Array:
    """Raised-cosine fade in/out, so a tone has no abrupt edge (an edge is a true-peak event)."""
    n = max(1, round(seconds * rate))
    ramp = np.sin(np.linspace(0, np.pi / 2, n)) ** 2
    out = x.copy()
    out[:, :n] *= ramp
    out[:, -n:] *= ramp[::-1]
    return out


def fs_sine(
    rate: int, divisor: int, degrees: float, amplitude: float, seconds: float = 3.0
) -> Float32Array:
    """Tech 3341 true-peak cases 15-19: a sine at fs/divisor with a phase offset, faded."""
    n = np.arange(round(seconds * rate))
    mono = amplitude * np.sin(2 * np.pi * n / divisor + np.deg2rad(degrees))
    return faded(np.stack([mono, mono]).astype(np.float32), rate)


def isp_pulses(rate: int, offset_quarters: int, seconds: float = 3.0) -> Float32Array:
    """Tech 3341 cases 20-23 as described: band-limited pulses whose reconstructed peak is
    exactly 0 dBFS, sitting ``offset_quarters``/4 of a sample after a sample instant."""
    half = 64
    k = np.arange(-half, half + 1) - offset_quarters / 4
    bandwidth = 0.4  # of fs, inside the interpolator's pass band
    pulse = np.sinc(2 * bandwidth * k) * (0.5 + 0.5 * np.cos(np.pi * k / (half + 1)))
    t = np.linspace(-1, 1, 20001) * 2 - offset_quarters / 4  # continuous peak of the pulse
    cont = np.sinc(2 * bandwidth * t) * (0.5 + 0.5 * np.cos(np.pi * t / (half + 1)))
    pulse = pulse / cont.max()
    mono = np.zeros(round(seconds * rate))
    for start in range(rate // 4, len(mono) - 2 * half - 1, rate // 2):
        mono[start : start + 2 * half + 1] += pulse
    return np.stack([mono, mono]).astype(np.float32)


def programme(rate: int, seconds: float, seed: int = 0, level: float = 0.5) -> Float32Array:
    """Music-like stereo material: pink bed, kicks, chords, section dynamics. Deterministic."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    white = rng.standard_normal((2, n))
    # Paul Kellet's economy pinking filter, as an IIR.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    bed = lfilter(b, a, white, axis=1)
    bed[1] = 0.6 * bed[1] + 0.4 * bed[0]
    period = rate // 2
    tk = np.arange(period) / rate
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 12)
    kicks = np.tile(kick, -(-n // period))[:n]
    section = round(8 * rate)
    sections = -(-n // section)
    gains_db = rng.uniform(-12, 0, sections)
    gain = np.repeat(db(1) * 10 ** (gains_db / 20), section)[:n]
    roots = rng.choice([110.0, 130.8, 146.8, 164.8, 196.0], sections)
    freq = np.repeat(roots, section)[:n]
    phase = 2 * np.pi * np.cumsum(freq) / rate
    chord = sum(np.sin(phase * ratio) / (i + 1) for i, ratio in enumerate((1, 1.25, 1.5, 2)))
    quarter = rate // 4
    hat_env = np.tile(np.exp(-np.arange(quarter) / rate * 60), -(-n // quarter))[:n]
    band = butter(4, [3000, 16000], btype="bandpass", fs=rate, output="sos")
    hats = 3 * sosfilt(band, white[0]) * hat_env  # bright: puts peaks between samples
    mid = 0.25 * chord + 0.9 * kicks
    out = np.stack([mid + 0.15 * bed[0] + 0.3 * hats, mid * 0.9 + 0.15 * bed[1] - 0.2 * hats])
    out *= gain
    out *= level / np.abs(out).max()
    return out.astype(np.float32)
