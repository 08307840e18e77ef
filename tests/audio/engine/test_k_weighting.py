"""The numpy-only K-weighting filter against scipy's recursive one, and the meter's bounded state.

The engine avoids scipy.signal (~73 MiB of imports); these tests pin that its block form of the
two biquads is the recursive filter, not an approximation of it, whatever the block sizes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import sosfilt

from audio.engine.loudness import LoudnessMeter, _KWeighting, k_weighting_sos, measure
from tests.audio.engine.signals import programme, sequence

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("rate", [8000, 44100, 48000, 96000, 192000])
@pytest.mark.parametrize("block", [65536, 12345, 4096, 63])
def test_block_filter_is_the_recursive_filter(rate: int, block: int) -> None:
    """Loud then very quiet noise, in any block size: within 1e-9 of sosfilt's output."""
    frames = 3 * rate + 17
    x = np.random.default_rng(3).standard_normal((2, frames)) * 0.3
    x[:, frames // 2 :] *= 1e-5  # -100 dB: errors must scale with the loud part, not exceed it
    expected = sosfilt(k_weighting_sos(rate), x, axis=1)
    kw = _KWeighting(rate, 2)
    got = np.concatenate([kw.process(x[:, i : i + block]) for i in range(0, frames, block)], axis=1)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-9 * np.abs(expected).max()
    quiet = slice(frames // 2 + rate // 2, None)  # after the loud part's tail has died away
    assert (
        np.abs(got[:, quiet] - expected[:, quiet]).max() <= 1e-6 * np.abs(expected[:, quiet]).max()
    )


def test_block_filter_one_frame_at_a_time() -> None:
    """Blocks shorter than a chunk carry the state exactly too."""
    x = programme(44100, 0.1, seed=4)[:, :1000].astype(np.float64)
    expected = sosfilt(k_weighting_sos(44100), x, axis=1)
    kw = _KWeighting(44100, 2)
    got = np.concatenate([kw.process(x[:, i : i + 1]) for i in range(1000)], axis=1)
    assert np.abs(got - expected).max() <= 1e-12 * np.abs(expected).max()


def test_meter_keeps_no_per_10ms_history() -> None:
    """Only the last 39 bins at 10 ms are kept; the history is one value per 100 ms."""
    rate = 8000
    x = sequence(rate, [(30.0, -20.0), (30.0, -30.0)])
    meter = LoudnessMeter(rate, 2)
    for start in range(0, x.shape[1], 4321):
        meter.process(x[:, start : start + 4321])
    assert len(meter._recent) < LoudnessMeter.MOMENTARY_BINS
    assert len(meter._e100) == 600
    report = meter.report()
    assert report.momentary_max_lufs == pytest.approx(-20.0, abs=0.1)
    assert report.integrated_lufs == pytest.approx(measure(x, rate).integrated_lufs, abs=1e-9)


def test_series_can_be_left_out() -> None:
    """The file analysis does not report the 100 ms M/S series, so it need not build them."""
    x = sequence(48000, [(5.0, -23.0)])
    with_series, without = LoudnessMeter(48000, 2), LoudnessMeter(48000, 2, series=False)
    with_series.process(x)
    without.process(x)
    full, bare = with_series.report(), without.report()
    assert len(full.momentary_lufs) == 47 and len(full.short_term_lufs) == 21
    assert bare.momentary_lufs == [] and bare.short_term_lufs == []
    assert bare.integrated_lufs == full.integrated_lufs
    assert bare.momentary_max_lufs == full.momentary_max_lufs


def test_analysis_path_does_not_import_scipy_or_pedalboard() -> None:
    """scipy.signal costs ~73 MiB and pedalboard ~5 MiB of imports: neither is on the read path."""
    code = (
        "import sys\n"
        "import audio.engine.analysis, audio.engine.cli, audio.engine.io, audio.engine.loudness\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pedalboard')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
