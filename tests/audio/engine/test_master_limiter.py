"""The true-peak limiter's gain curve: the hold covers every peak, streaming equals one shot,
loudness rises monotonically with drive, and the gain moves smoothly."""

from __future__ import annotations

import numpy as np
import pytest

from audio.engine.analysis import analyze
from audio.engine.mastering.limiter import (
    HOLD_UNITS,
    UnitGains,
    peak_db,
    sample_gains,
    unit_gains,
    unit_peaks,
)
from audio.engine.mastering.truepeak import COARSE_HALF, accurate_true_peak
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

PEAKS = np.random.default_rng(0).uniform(-30.0, 0.0, 4000)


@pytest.mark.parametrize("block", [1, 7, 100, 3999, 4000])
def test_streaming_in_any_block_size_is_the_one_shot_curve(block: int) -> None:
    expected = unit_gains(PEAKS, 6.0, -1.0, 0.02)
    curve = UnitGains(6.0, -1.0, 0.02)
    parts = [curve.feed(PEAKS[i : i + block]) for i in range(0, len(PEAKS), block)]
    got = np.concatenate([*parts, curve.finish()])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-9


def test_every_unit_and_its_neighbours_are_under_the_threshold() -> None:
    """Gain at unit k is at most what units k-HOLD..k+HOLD need (the interpolation's reach)."""
    drive, threshold = 8.0, -1.0
    gains_db = 20 * np.log10(unit_gains(PEAKS, drive, threshold, 0.02))
    allowed = np.minimum(0.0, threshold - (PEAKS + drive))
    for shift in range(-HOLD_UNITS, HOLD_UNITS + 1):
        lo, hi = max(0, shift), len(PEAKS) + min(0, shift)
        assert np.all(gains_db[lo - shift : hi - shift] <= allowed[lo:hi] + 1e-9)


def test_loudness_rises_monotonically_with_drive() -> None:
    """Output level per unit (and so loudness) never falls when the drive rises."""
    previous = None
    for drive in np.linspace(0.0, 14.0, 29):
        level = PEAKS + drive + 20 * np.log10(unit_gains(PEAKS, drive, -1.0, 0.02))
        assert level.max() <= -1.0 + 1e-9
        if previous is not None:
            assert np.all(level >= previous - 1e-9)
        previous = level


def test_release_rate_and_smooth_attack() -> None:
    """One loud unit: the gain goes down over the attack before it, holds, then comes back
    at the release rate (dB per unit) and never jumps."""
    peaks = np.full(400, -40.0)
    peaks[200] = 5.0  # 6 dB over a -1 threshold
    gains_db = 20 * np.log10(unit_gains(peaks, 0.0, -1.0, 0.1))
    assert gains_db[200] == pytest.approx(-6.0, abs=1e-9)
    assert gains_db[:190].max() == pytest.approx(0.0, abs=1e-12)  # lookahead is short
    steps = np.diff(gains_db)
    assert np.abs(steps).max() < 3.5  # ramps over several units, no jump to -6
    recovered = np.flatnonzero(gains_db[201:] > -0.01)[0]
    assert 55 <= recovered <= 65  # 6 dB at 0.1 dB per unit


def test_sample_gains_interpolate_between_unit_centres() -> None:
    gains = np.array([1.0, 0.5, 0.5, 1.0])
    g = sample_gains(gains, 0, 4, 16, 1.0, 1.0)
    assert g[1] == pytest.approx(1.0)  # the centre of unit 0 (frame 1.5) is at its gain
    assert g[5] == pytest.approx(1.0 - 0.5 * 3.5 / 4)  # 3.5 of the 4 frames to unit 1
    assert g.min() == pytest.approx(0.5)
    assert np.all(g <= 1.0) and g.shape == (16,)
    assert np.all(np.abs(np.diff(g)) <= 0.5 / 4 + 1e-12)


def test_limiting_a_programme_lands_under_the_threshold_by_the_accurate_meter() -> None:
    """End to end at sample level: +10 dB of drive on a programme, the limiter's output is
    within 0.2 dB of its -1 dBTP threshold (4x detection; the master's trim does the rest)."""
    rate, unit = 44100, 16
    x = programme(rate, 3.0, seed=3)
    frames = x.shape[1] // unit * unit
    x = x[:, :frames]
    ext = np.pad(x, ((0, 0), (COARSE_HALF - 1, COARSE_HALF)))
    gains = unit_gains(peak_db(unit_peaks(ext, unit)), 10.0, -1.0, 60.0 * unit / rate)
    y = x * sample_gains(gains, 0, unit, frames, 1.0, 1.0) * 10 ** (10 / 20)
    tp = accurate_true_peak(y.astype(np.float32))
    assert tp is not None and -1.3 <= tp <= -0.8
    loud = analyze(y, rate, with_peaks=False).integrated_lufs
    quiet = analyze(x, rate, with_peaks=False).integrated_lufs
    assert loud is not None and quiet is not None and loud > quiet + 5
