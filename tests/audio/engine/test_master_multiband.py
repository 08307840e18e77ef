"""Multiband compression: the Linkwitz-Riley split against crossovers built here from scipy's
Butterworth sections, the bands' sum (flat, the input through the crossovers' allpasses),
each band compressed alone, streaming in blocks, and the CLI flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import butter, sosfilt

from audio.engine.io import write_wav
from audio.engine.mastering.stages import (
    Chain,
    Compressor,
    CompressorState,
    Multiband,
    MultibandSplit,
    MultibandState,
)
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100
ROOT = Path(__file__).resolve().parents[3]
OFF = Compressor(threshold_db=0.0, ratio=1.0)  # never reduces


def _lr4(kind: str, hz: float, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    sos = butter(2, hz, kind, fs=RATE, output="sos")
    return np.asarray(sosfilt(sos, sosfilt(sos, x, axis=1), axis=1))


def _split_by_hand(
    x: npt.NDArray[np.float64], low: float, high: float
) -> tuple[npt.NDArray[np.float64], ...]:
    """The textbook 3-way LR4: the low band aligned by the upper crossover's LP + HP."""
    lo = _lr4("lowpass", low, x)
    lo = _lr4("lowpass", high, lo) + _lr4("highpass", high, lo)
    rest = _lr4("highpass", low, x)
    return lo, _lr4("lowpass", high, rest), _lr4("highpass", high, rest)


def _in_blocks(run: MultibandState, x: npt.NDArray[np.float32], size: int) -> np.ndarray:
    return np.concatenate([run.process(x[:, i : i + size]) for i in range(0, x.shape[1], size)], 1)


def test_split_matches_textbook_crossovers_streamed() -> None:
    x = programme(RATE, 1.0, seed=3).astype(np.float64)
    split = MultibandSplit(150.0, 3000.0, RATE, 2)
    parts = [split.split(x[:, i : i + 4000]) for i in range(0, x.shape[1], 4000)]
    ours = [np.concatenate([p[b] for p in parts], axis=1) for b in range(3)]
    for got, expected in zip(ours, _split_by_hand(x, 150.0, 3000.0), strict=True):
        assert np.abs(got - expected).max() < 1e-9


def test_uncompressed_bands_sum_flat_to_the_input_through_the_allpasses() -> None:
    # An impulse: the sum's spectrum has magnitude 1 at every frequency.
    impulse = np.zeros((1, 1 << 16), dtype=np.float32)
    impulse[0, 0] = 1.0
    m = Multiband(150.0, 3000.0, OFF, OFF, OFF)
    y = MultibandState(m, RATE, 1).process(impulse)
    magnitude_db = 20 * np.log10(np.abs(np.fft.rfft(y[0].astype(np.float64))))
    assert np.abs(magnitude_db).max() < 1e-3
    # Programme: the sum equals the input through the two allpasses (LP + HP of each), so no
    # band is lost or doubled anywhere; and it keeps the input's energy.
    x = programme(RATE, 2.0, seed=4)
    got = _in_blocks(MultibandState(m, RATE, 2), x, 5000).astype(np.float64)
    x64 = x.astype(np.float64)
    through = _lr4("lowpass", 150.0, x64) + _lr4("highpass", 150.0, x64)
    through = _lr4("lowpass", 3000.0, through) + _lr4("highpass", 3000.0, through)
    assert np.abs(got - through).max() < 1e-6
    energy_db = 10 * np.log10(np.sum(got**2) / np.sum(x64**2))
    assert abs(energy_db) < 0.01


def test_each_band_is_compressed_alone() -> None:
    """A loud 60 Hz tone and a quiet 5 kHz tone: only the low band's compressor acts, as the
    compressor alone does on the low band split by hand."""
    t = np.arange(2 * RATE) / RATE
    tone = 0.7 * np.sin(2 * np.pi * 60 * t) + 0.05 * np.sin(2 * np.pi * 5000 * t)
    x = np.stack([tone, tone]).astype(np.float32)
    low = Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_db_per_s=40.0)
    high = Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=1.0, release_db_per_s=40.0)
    m = Multiband(200.0, 2000.0, low, OFF, high)
    got = _in_blocks(MultibandState(m, RATE, 2), x, 3000).astype(np.float64)
    lo, mid, hi = _split_by_hand(x.astype(np.float64), 200.0, 2000.0)
    expected = CompressorState(low, RATE).process(lo.astype(np.float32)) + mid + hi
    assert np.abs(got - expected).max() < 1e-5
    # and the effect is audible where it should be: the 60 Hz tone lost about 9 dB's worth
    # of its level over threshold, the 5 kHz tone (-26 dBFS, under -20) kept its level.
    tail = slice(RATE, None)
    spec_in = np.abs(np.fft.rfft(x[0, tail].astype(np.float64)))
    spec_out = np.abs(np.fft.rfft(got[0, tail]))
    bin_hz = RATE / (x.shape[1] - RATE)
    at = {hz: round(hz / bin_hz) for hz in (60, 5000)}
    assert 20 * np.log10(spec_out[at[60]] / spec_in[at[60]]) < -8.0
    assert abs(20 * np.log10(spec_out[at[5000]] / spec_in[at[5000]])) < 0.1


def test_multiband_is_described_and_run_by_the_cli(tmp_path: Path) -> None:
    chain = Chain(multiband=Multiband(100.0, 4000.0))
    described = next(s for s in chain.describe() if s["type"] == "multiband")
    assert described["crossovers_hz"] == [100.0, 4000.0]
    assert set(described["bands"]) == {"low", "mid", "high"}
    src = tmp_path / "in.wav"
    write_wav(src, programme(RATE, 3.0, seed=5), RATE, 24)
    out = tmp_path / "out.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(src),
            str(out),
            "--multiband",
            "120:2500",
            "--multiband-low=-24:3:20",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    stage = next(s for s in report["stages"] if s["type"] == "multiband")
    assert stage["bands"]["low"]["threshold_db"] == -24.0
    assert stage["bands"]["low"]["attack_ms"] == 20.0
    assert stage["bands"]["low"]["release_db_per_s"] == 20.0  # the band's default kept
    assert stage["bands"]["mid"]["threshold_db"] == -18.0
    assert report["output"]["frames"] == report["input"]["frames"]
    assert report["target_met"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--multiband", "120"], "--multiband"),
        (["--multiband", "2500:120"], "--multiband"),
        (["--multiband", "10:2500"], "--multiband"),
        (["--multiband-mid=-20:2"], "--multiband-mid"),
        (["--multiband", "120:2500", "--multiband-high=-20:50"], "--multiband-high"),
        (["--multiband", "120:21000"], "--multiband"),
        (["--eq-phase", "maximum"], "--eq-phase"),
    ],
)
def test_bad_multiband_and_phase_exit_2(tmp_path: Path, args: list[str], named: str) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, programme(RATE, 1.0, seed=5), RATE, 24)
    done = subprocess.run(
        [sys.executable, "-m", "audio.engine", "master", str(src), str(tmp_path / "o.wav"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]
