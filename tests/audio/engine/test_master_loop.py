"""The loudness loop: quiet, dense and clipped programmes at several targets and ceilings.

Judged twice on the written file: by the engine's own analysis (BS.1770-4 loudness, the
accurate true-peak meter) and by ffmpeg's ``ebur128=peak=true`` as an outside oracle (it
prints one decimal, so its loudness gets 0.05 more; its true peak must read at or under the
ceiling + 0.1 dB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import lfilter

from audio.engine.analysis import analyze_file
from audio.engine.io import write_wav
from audio.engine.mastering.master import MasterSettings, master_file
from tests.audio.engine.oracles import FFMPEG, ffmpeg_ebur128
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100
SECONDS = 4.0


def dense(seed: int = 3) -> npt.NDArray[np.float32]:
    """Pink noise at a steady level with kicks: little crest to give."""
    rng = np.random.default_rng(seed)
    n = round(SECONDS * RATE)
    white = rng.standard_normal((2, n))
    bed = lfilter(
        [0.049922035, -0.095993537, 0.050612699, -0.004408786],
        [1, -2.494956002, 2.017265875, -0.522189400],
        white,
        axis=1,
    )
    bed *= 0.25 / np.abs(bed).max()
    t = np.arange(RATE // 2) / RATE
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 30)) * t) * np.exp(-t * 12) * 0.15
    bed += np.tile(kick, -(-n // len(kick)))[:n]
    return bed.astype(np.float32)


PROGRAMMES = {
    "quiet": lambda: programme(RATE, SECONDS, seed=1, level=0.05),
    "dense": dense,
    "clipped": lambda: np.clip(programme(RATE, SECONDS, seed=2) * 6, -1, 1).astype(np.float32),
}

CASES = [
    ("quiet", -14.0, -1.0, "24"),
    ("quiet", -23.0, -2.0, "16"),
    ("dense", -9.0, -1.0, "24"),
    ("dense", -16.0, -2.0, "16"),
    ("clipped", -14.0, -2.0, "24"),
    ("clipped", -9.0, -1.0, "16"),
    ("dense", -14.0, -1.0, "32f"),
]


@pytest.mark.parametrize(("name", "target", "ceiling", "bits"), CASES)
def test_master_meets_target_and_ceiling(
    tmp_path: Path, name: str, target: float, ceiling: float, bits: str
) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, PROGRAMMES[name](), RATE, 24)
    out = tmp_path / "out.wav"
    report = master_file(
        src, out, MasterSettings(target_lufs=target, ceiling_dbtp=ceiling, bit_depth=bits)
    )
    assert report["target_met"], report["target_reason"]
    measured = analyze_file(out, with_peaks=False)
    assert measured.frames == report["input"]["frames"]
    assert measured.integrated_lufs is not None
    assert abs(measured.integrated_lufs - target) <= 0.2
    assert measured.true_peak_accurate_dbtp is not None
    assert measured.true_peak_accurate_dbtp <= ceiling
    assert report["output"]["integrated_lufs"] == pytest.approx(measured.integrated_lufs)
    if FFMPEG is not None:
        outside = ffmpeg_ebur128(out)
        assert abs(outside["integrated_lufs"] - target) <= 0.25
        assert outside["true_peak_dbtp"] <= ceiling + 0.1


def test_an_unreachable_target_writes_the_best_and_says_why(tmp_path: Path) -> None:
    """A very dynamic programme cannot reach -6 LUFS with 12 dB of limiting."""
    src = tmp_path / "in.wav"
    write_wav(src, programme(RATE, SECONDS, seed=4, level=0.3), RATE, 24)
    out = tmp_path / "out.wav"
    report = master_file(src, out, MasterSettings(target_lufs=-6.0, ceiling_dbtp=-1.0))
    assert report["target_met"] is False
    assert "12 dB" in report["target_reason"]
    assert report["gain_reduction_max_db"] <= 12.0 + 0.2
    assert report["output"]["true_peak_accurate_dbtp"] <= -1.0
    assert report["output"]["integrated_lufs"] < -6.0


def test_the_report_has_the_contract_shape(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, dense(), RATE, 24)
    report = master_file(src, tmp_path / "out.wav", MasterSettings())
    for key in (
        "input",
        "output",
        "target_lufs",
        "ceiling_dbtp",
        "target_met",
        "gain_reduction_max_db",
        "stages",
        "eq_curve",
        "reference",
        "platforms",
        "lossy",
    ):
        assert key in report
    assert report["output"]["true_peak_dbtp"] is not None  # the 4x figure beside the accurate one
    spotify = report["platforms"]["spotify"]
    assert (spotify["lufs"], spotify["tp"]) == (-14.0, -1.0)
    assert spotify["playback_gain_db"] == pytest.approx(
        min(0.0, -14.0 - report["output"]["integrated_lufs"]), abs=0.3
    )
    assert report["platforms"]["apple"]["playback_gain_db"] == pytest.approx(
        -16.0 - report["output"]["integrated_lufs"], abs=0.01
    )
    assert all(p["source"] for p in report["platforms"].values())
    mp3 = report["lossy"]["mp3_320"]
    assert mp3["true_peak_dbtp"] is not None and mp3["sample_peak_dbfs"] is not None
    assert mp3["clipped_samples"] >= 0
