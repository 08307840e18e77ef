"""The master report's timeline and spectra, for the master page: the limiter's gain reduction
per interval against the written output over the pre-limiter file (an independent division of
samples), and the 1/3-octave spectra of mix, master and reference against ``analyze``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile
from scipy.signal import lfilter

from audio.engine.analysis import analyze_file
from audio.engine.io import write_wav
from audio.engine.mastering.master import MasterSettings, master_file
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100


def _quiet_burst_quiet() -> npt.NDArray[np.float32]:
    """3 s quiet, 2 s at full level, 3 s quiet: only the burst needs limiting."""
    x = programme(RATE, 8.0, seed=5, level=0.9).astype(np.float64)
    env = np.full(x.shape[1], 0.05)
    env[3 * RATE : 5 * RATE] = 1.0
    return (x * env).astype(np.float32)


def test_gain_reduction_timeline_matches_output_over_prelimiter(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, _quiet_burst_quiet(), RATE, 24)
    out = tmp_path / "out.wav"
    settings = MasterSettings(
        target_lufs=-16.0, ceiling_dbtp=-1.0, bit_depth="32f", prelimiter=True, lossy_check=False
    )
    report = master_file(src, out, settings)
    timeline = report["gain_reduction"]
    interval = timeline["interval_s"]
    db = np.array(timeline["db"])
    assert interval == 0.5
    assert len(db) == math.ceil(report["input"]["frames"] / (RATE / 2))
    assert (db >= 0).all()
    assert db.max() == pytest.approx(report["gain_reduction_max_db"], abs=0.05)
    burst = (np.arange(len(db)) * interval >= 3.0) & ((np.arange(len(db)) + 1) * interval <= 5.0)
    assert db[burst].max() > 3.0
    # Independently: the written samples over the pre-limiter samples times the static gain.
    pre, _ = soundfile.read(tmp_path / "out.prelimiter.wav", always_2d=True, dtype="float64")
    got, _ = soundfile.read(out, always_2d=True, dtype="float64")
    scale = 10 ** ((report["drive_db"] - report["trim_db"]) / 20)
    top = np.abs(pre * scale).max(axis=1)
    i = np.argmax(np.abs(pre * scale), axis=1)
    rows = np.arange(len(i))
    keep = top > 1e-3
    gain = np.abs(got[rows, i][keep]) / top[keep]  # the larger channel's gain (linked)
    frames = np.flatnonzero(keep)
    reduction = -20 * np.log10(gain)
    per = round(interval * RATE)
    measured = np.zeros(len(db))
    np.maximum.at(measured, frames // per, reduction)
    # Samples near zero crossings are skipped, so the measurement may miss the very deepest
    # sample of an interval (at the burst's lookahead edge): 0.1 dB.
    assert np.abs(measured - db).max() < 0.1
    assert np.abs(measured - db)[burst].max() < 0.01
    assert db[~burst & (np.arange(len(db)) * interval < 2.5)].max() < 0.01  # quiet intro


def _noise(seed: int, level: float, tilt: float) -> npt.NDArray[np.float32]:
    """20 s of steady stereo noise, white tilted toward pink by ``tilt`` (a one-pole)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 20 * RATE))
    x = lfilter([1.0], [1.0, -tilt], x, axis=1) if tilt else x
    return (x * level / np.abs(x).max()).astype(np.float32)


def _bands_close(a: dict[str, list[float | None]], b: dict[str, list[float | None]]) -> float:
    assert a["centres_hz"] == b["centres_hz"]
    diffs = [
        abs(x - y)
        for f, x, y in zip(a["centres_hz"], a["levels_db"], b["levels_db"], strict=True)
        if x is not None and y is not None and f is not None and f >= 100
    ]
    return max(diffs)


def test_spectra_of_mix_master_and_references(tmp_path: Path) -> None:
    mix = programme(RATE, 6.0, seed=7, level=0.3)
    src, ref1, ref2 = tmp_path / "mix.wav", tmp_path / "r1.wav", tmp_path / "r2.wav"
    write_wav(src, mix, RATE, 24)
    write_wav(ref1, _noise(seed=8, level=0.3, tilt=0.0), RATE, 24)
    write_wav(ref2, _noise(seed=9, level=0.1, tilt=0.8), RATE, 24)
    out = tmp_path / "out.wav"
    settings = MasterSettings(references=(str(ref1), str(ref2)), lossy_check=False)
    report = master_file(src, out, settings)
    spectra = report["spectra"]
    assert set(spectra) == {"input", "output", "reference"}
    assert spectra["input"] == analyze_file(src, with_peaks=False).to_dict()["spectrum"]
    assert spectra["output"] == analyze_file(out, with_peaks=False).to_dict()["spectrum"]
    # The references' figure is measured in the profile pass (all windows, where analyze
    # takes every other one): close to analyze's on steady noise, and for two references
    # the mean of the two in dB.
    one = [analyze_file(r, with_peaks=False).to_dict()["spectrum"] for r in (ref1, ref2)]
    mean = {
        "centres_hz": one[0]["centres_hz"],
        "levels_db": [
            (a + b) / 2 for a, b in zip(one[0]["levels_db"], one[1]["levels_db"], strict=True)
        ],
    }
    assert _bands_close(spectra["reference"], mean) < 0.5
    assert len(spectra["reference"]["centres_hz"]) == 29  # up to 16 kHz at 44.1 kHz
    alone = master_file(src, tmp_path / "o2.wav", MasterSettings(lossy_check=False))
    assert alone["spectra"]["reference"] is None
