"""Each chain stage against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import resample_poly, sosfilt, sosfreqz

from audio.engine.mastering.stages import (
    Chain,
    Compressor,
    CompressorState,
    EqBand,
    Saturator,
    compressor_curve,
    eq_response_db,
    eq_sos,
    mid_side_width,
)
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100


def test_eq_bands_hit_their_gains_and_match_scipy_and_a_measured_sine() -> None:
    bands = (
        EqBand("peak", 1000.0, 6.0, 1.0),
        EqBand("lowshelf", 100.0, -4.0),
        EqBand("highshelf", 10000.0, 3.0),
    )
    sos = eq_sos(bands, RATE)
    freqs = np.array([20.0, 100.0, 1000.0, 10000.0, 20000.0])
    _, h = sosfreqz(sos, worN=freqs, fs=RATE)
    ours = eq_response_db(bands, RATE, freqs)
    assert np.allclose(ours, 20 * np.log10(np.abs(h)), atol=1e-9)
    assert ours[2] == pytest.approx(6.0, abs=0.05)  # the peak band at its centre
    assert ours[0] == pytest.approx(-4.0, abs=0.1)  # well below the low shelf
    assert ours[4] == pytest.approx(3.0, abs=0.2)  # well above the high shelf
    # A sine through the running chain comes out at the curve's level (streamed in blocks).
    t = np.arange(RATE) / RATE
    x = np.stack([np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32) * 0.1
    run = Chain(eq=bands).start(RATE, 2)
    y = np.concatenate([run.process(x[:, i : i + 5000]) for i in range(0, RATE, 5000)], axis=1)
    gain = 20 * np.log10(np.abs(y[0, RATE // 2 :]).max() / 0.1)
    assert gain == pytest.approx(ours[2], abs=0.05)
    assert np.allclose(y, sosfilt(sos, x.astype(np.float64), axis=1), atol=1e-6)


def test_eq_curve_is_reported_at_third_octaves() -> None:
    curve = Chain(eq=(EqBand("peak", 1000.0, 6.0, 1.0),)).eq_curve(RATE)
    at_1k = {round(f): g for f, g in curve}[1000]
    assert at_1k == pytest.approx(6.0, abs=0.05)
    assert all(g == 0.0 for _, g in Chain().eq_curve(RATE))


def _compress_by_loop(x: np.ndarray, c: Compressor, rate: int) -> np.ndarray:
    """The compressor's definition sample by sample, written plainly."""
    release = c.release_db_per_s / rate
    alpha = 1 - math.exp(-1.0 / (c.attack_ms * 1e-3 * rate))
    held = smooth = 0.0
    out = np.empty_like(x, dtype=np.float64)
    for n in range(x.shape[1]):
        level = 20 * math.log10(max(float(np.abs(x[:, n]).max()), 1e-12))
        over = level - c.threshold_db
        slope, half = 1 - 1 / c.ratio, c.knee_db / 2
        if over > half:
            target = over * slope
        elif over > -half:
            target = slope * (over + half) ** 2 / (2 * c.knee_db)
        else:
            target = 0.0
        held = max(target, held - release)
        smooth += alpha * (held - smooth)
        out[:, n] = x[:, n] * 10 ** ((c.makeup_db - smooth) / 20)
    return out


def test_compressor_matches_a_sample_by_sample_loop() -> None:
    c = Compressor(
        threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_db_per_s=50.0, makeup_db=2.0
    )
    x = programme(RATE, 0.3, seed=2)
    state = CompressorState(c, RATE)
    got = np.concatenate(
        [state.process(x[:, i : i + 1234]) for i in range(0, x.shape[1], 1234)], axis=1
    )
    assert np.allclose(got, _compress_by_loop(x, c, RATE), atol=1e-5)


def test_compressor_static_curve() -> None:
    c = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=0.0)
    assert compressor_curve(np.array([-30.0, -20.0, -8.0]), c) == pytest.approx([0.0, 0.0, 9.0])


def test_saturation_matches_resample_poly_tanh_resample_poly() -> None:
    """Away from the ends, the streamed 4x soft clip equals a one-shot oversampled tanh."""
    x = programme(RATE, 0.5, seed=6) * 2.5
    sat = Saturator(6.0, 2)
    parts = [sat.process(x[:, i : i + 3000]) for i in range(0, x.shape[1], 3000)]
    got = np.concatenate([*parts, sat.finish()], axis=1)
    assert got.shape == x.shape
    drive = 10 ** (6 / 20)
    up = resample_poly(x.astype(np.float64), 4, 1, axis=1, window=("kaiser", 10.0))
    expected = resample_poly(np.tanh(up * drive) / drive, 1, 4, axis=1, window=("kaiser", 10.0))
    inner = slice(500, -500)
    err = got[:, inner] - expected[:, inner]
    assert 20 * np.log10(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(expected[:, inner] ** 2))) < -40
    assert np.abs(got).max() < 1.2 / drive  # tanh's ceiling, plus the filters' overshoot


def test_saturation_passes_small_signals_at_unity_with_no_delay() -> None:
    t = np.arange(RATE // 4) / RATE
    x = (np.stack([np.sin(2 * np.pi * 440 * t)] * 2) * 0.001).astype(np.float32)
    sat = Saturator(6.0, 2)
    got = np.concatenate([sat.process(x), sat.finish()], axis=1)
    assert np.abs(got[:, 200:-200] - x[:, 200:-200]).max() < 2e-5


def test_width_against_left_right_arithmetic() -> None:
    x = programme(RATE, 0.2, seed=1)
    y = mid_side_width(x, 1.5)
    left, right = x.astype(np.float64)
    assert np.allclose(y[0], left * 1.25 - right * 0.25, atol=1e-6)
    assert np.allclose(y[1], right * 1.25 - left * 0.25, atol=1e-6)
    mono = mid_side_width(x, 0.0)
    assert np.allclose(mono[0], mono[1])
    assert mid_side_width(x[:1], 0.0) is not None
