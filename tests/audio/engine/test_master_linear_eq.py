"""Linear-phase EQ: an impulse comes out where it went in (the FIR's delay compensated) and
symmetric about it (no phase change), the magnitude follows the bands' RBJ response (the
sections' own formula, evaluated here by scipy), the length never changes, with other latent
stages after it too, and a master with --eq-phase linear stays sample-aligned with its input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile
from scipy.signal import sosfreqz

from audio.engine.io import write_wav
from audio.engine.mastering.stages import Chain, EqBand, eq_sos
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100
ROOT = Path(__file__).resolve().parents[3]
BANDS = (
    EqBand("lowshelf", 100.0, 4.0),
    EqBand("peak", 3000.0, -5.0, 2.0),
    EqBand("highshelf", 10000.0, 2.0),
)


def _run(chain: Chain, x: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    run = chain.start(RATE, x.shape[0])
    parts = [run.process(x[:, i : i + size]) for i in range(0, x.shape[1], size)]
    return np.concatenate([*parts, run.finish()], axis=1)


@pytest.mark.parametrize("size", [65536, 1000, 4101])
def test_an_impulse_stays_in_place_and_symmetric(size: int) -> None:
    x = np.zeros((2, 3 * RATE), dtype=np.float32)
    at = RATE + 123
    x[:, at] = 0.5
    y = _run(Chain(eq=BANDS, eq_phase="linear"), x, size)
    assert y.shape == x.shape
    assert int(np.argmax(np.abs(y[0]))) == at and int(np.argmax(np.abs(y[1]))) == at
    reach = 4000
    left = y[0, at - reach : at][::-1]
    right = y[0, at + 1 : at + 1 + reach]
    assert np.abs(left - right).max() < 1e-6  # linear phase: symmetric about the impulse
    # the minimum-phase EQ, by contrast, is not symmetric (its energy comes after)
    z = _run(Chain(eq=BANDS), x, size)
    assert np.abs(z[0, at - 50 : at]).max() < 1e-6 < np.abs(z[0, at + 1 : at + 50]).max()


def test_the_magnitude_follows_the_bands() -> None:
    x = np.zeros((1, 1 << 16), dtype=np.float32)
    x[0, 1 << 15] = 1.0
    y = _run(Chain(eq=BANDS, eq_phase="linear"), x, 65536)
    freqs = np.geomspace(50, 20000, 120)
    grid = np.fft.rfftfreq(1 << 16, 1 / RATE)
    got = 20 * np.log10(np.interp(freqs, grid, np.abs(np.fft.rfft(y[0].astype(np.float64)))))
    _, h = sosfreqz(eq_sos(BANDS, RATE), worN=freqs, fs=RATE)
    assert np.abs(got - 20 * np.log10(np.abs(h))).max() < 0.05


def test_alignment_holds_with_saturation_and_a_match_curve_after() -> None:
    """Two latent stages (the FIR and saturation's oversampling): the chain still lines up."""
    x = programme(RATE, 2.0, seed=3, level=0.02)  # small: the soft clip passes at unity
    curve = tuple((1000.0 * 2 ** (k / 3), 0.0) for k in range(-16, 14))
    flat = _run(Chain(match_curve=curve, eq_phase="linear", saturation_db=6.0), x, 3000)
    alone = _run(Chain(saturation_db=6.0), x, 3000)
    assert flat.shape == alone.shape == x.shape
    assert np.abs(flat - alone).max() < 1e-6  # a flat curve's FIR is a delay, compensated
    shifted = np.abs(flat[:, 1:] - alone[:, :-1]).max()
    assert shifted > 100 * np.abs(flat - alone).max()  # one frame off would show


def test_a_linear_phase_master_is_sample_aligned(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    x = programme(RATE, 4.0, seed=9, level=0.2)
    write_wav(src, x, RATE, 24)
    out = tmp_path / "out.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(src),
            str(out),
            "--eq=peak:2000:3:1",
            "--eq-phase",
            "linear",
            "--target-lufs",
            "-20",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [s["phase"] for s in report["stages"] if s["type"] == "eq"] == ["linear"]
    y, _ = soundfile.read(out, always_2d=True, dtype="float64")
    assert y.shape[0] == x.shape[1]
    a, b = x[0].astype(np.float64), y[:, 0]
    n = 1 << 19
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lag = int(np.argmax(corr))
    assert (lag if lag < n // 2 else lag - n) == 0
