"""The accurate true-peak meter against a 64x scipy oversampling reference.

The reference is scipy's ``resample_poly`` at 64x with a 10,241-tap Kaiser low-pass (160 taps
per input sample), far longer than the meter's own filter, so the two share no code or design.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import butter, firwin, resample_poly, sosfilt

from audio.engine.analysis import analyze
from audio.engine.loudness import measure
from audio.engine.mastering.truepeak import AccurateTruePeak, accurate_true_peak
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100
_REF = firwin(64 * 160 + 1, 1.0 / 64, window=("kaiser", 12.0))


def reference_dbtp(x: npt.NDArray[np.float32]) -> float:
    y = resample_poly(x.astype(np.float64), 64, 1, axis=1, window=_REF)
    return float(20 * np.log10(np.abs(y).max()))


def bursts(freq: float, amplitude: float = 0.7) -> npt.NDArray[np.float32]:
    """Five 2000-sample tone bursts (short linear ramps) at different phases: the peaks fall
    between samples wherever the phase puts them."""
    x = np.zeros((2, RATE // 2), dtype=np.float32)
    n = np.arange(2000)
    env = np.minimum(1.0, np.minimum(n, 1999 - n) / 200.0)
    for k in range(5):
        start = 1000 + k * 4007
        tone = amplitude * np.sin(2 * np.pi * freq * n / RATE + np.pi / 4 + 0.37 * k) * env
        x[:, start : start + 2000] = tone
        x[1, start : start + 2000] *= 0.5
    return x


def band_limited_noise(seed: int) -> npt.NDArray[np.float32]:
    """White noise low-passed at 20 kHz, as programme is."""
    sos = butter(12, 20000, fs=RATE, output="sos")
    white = np.random.default_rng(seed).standard_normal((2, RATE // 2))
    return (sosfilt(sos, white) * 0.2).astype(np.float32)


@pytest.mark.parametrize(
    "freq", [RATE / 4, RATE / 4 * 1.001, RATE / 6, 997.0, 15000.0, 19000.0, 20000.0]
)
def test_sine_bursts_match_64x(freq: float) -> None:
    assert abs(accurate_true_peak(bursts(freq)) - reference_dbtp(bursts(freq))) <= 0.05


@pytest.mark.parametrize("seed", range(2))
def test_noise_and_programme_match_64x(seed: int) -> None:
    for x in (
        band_limited_noise(seed),
        programme(RATE, 1.5, seed=seed),
        np.clip(programme(RATE, 1.5, seed=seed) * 4, -1, 1),
    ):
        assert abs(accurate_true_peak(x) - reference_dbtp(x)) <= 0.05


def test_full_band_white_noise_is_close_too() -> None:
    """Content between 0.48 fs and Nyquist is outside the long filter's flat band."""
    x = (np.random.default_rng(9).standard_normal((2, RATE // 2)) * 0.2).astype(np.float32)
    assert abs(accurate_true_peak(x) - reference_dbtp(x)) <= 0.15


def test_the_4x_meter_can_be_off_where_this_one_is_not() -> None:
    """fs/4 at 45 degrees: BS.1770-4's 4x filter reads it wrong by more than 0.1 dB."""
    x = bursts(RATE / 4 * 1.001)
    ref = reference_dbtp(x)
    standard = measure(x, RATE).true_peak_dbtp
    assert standard is not None and abs(standard - ref) > 0.1
    assert abs(accurate_true_peak(x) - ref) <= 0.05


@pytest.mark.parametrize("block", [65536, 1000, 63, 7])
def test_any_block_size_gives_the_same_reading(block: int) -> None:
    x = programme(RATE, 1.0, seed=5)[:, :20000]
    meter = AccurateTruePeak(2)
    for start in range(0, x.shape[1], block):
        meter.feed(x[:, start : start + block])
    assert meter.dbtp() == pytest.approx(accurate_true_peak(x), abs=1e-4)


def test_a_peak_in_the_last_samples_is_found() -> None:
    x = np.zeros((1, 500), dtype=np.float32)
    x[0, -1] = 0.5
    x[0, -2] = 0.5
    got = accurate_true_peak(x)
    assert got == pytest.approx(reference_dbtp(x), abs=0.05)
    assert got > 20 * np.log10(0.5) + 0.5  # two equal samples: the peak is between them


def test_silence_reads_none() -> None:
    assert accurate_true_peak(np.zeros((2, 1000), dtype=np.float32)) is None


def test_analyze_reports_both_figures() -> None:
    x = bursts(RATE / 4 * 1.001)
    report = analyze(x, RATE).to_dict()
    assert report["true_peak_accurate_dbtp"] == pytest.approx(reference_dbtp(x), abs=0.05)
    assert report["true_peak_dbtp"] == pytest.approx(measure(x, RATE).true_peak_dbtp)
