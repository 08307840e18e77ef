"""Agreement with pyloudnorm (integrated) and ffmpeg ebur128 (integrated, LRA, true peak) on
generated programme material. The differences are printed (run with -s to see them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.engine.analysis import analyze_file
from audio.engine.io import write_wav
from tests.audio.engine.oracles import FFMPEG, ffmpeg_ebur128, pyloudnorm_integrated
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

MATERIAL = [(44100, 0), (48000, 1), (44100, 2), (96000, 3)]


@pytest.mark.parametrize(("rate", "seed"), MATERIAL)
def test_agrees_with_pyloudnorm_and_ffmpeg(tmp_path: Path, rate: int, seed: int) -> None:
    """Integrated within 0.1 LU of pyloudnorm; ffmpeg (1-decimal output): I within 0.15 LU,
    LRA within 1 LU, true peak within 0.3 dB."""
    x = programme(rate, 40, seed=seed, level=0.9)
    path = tmp_path / "prog.wav"
    write_wav(path, x, rate, 32)
    ours = analyze_file(path, with_peaks=False)
    assert ours.integrated_lufs is not None and ours.true_peak_dbtp is not None
    ref = pyloudnorm_integrated(x, rate)
    diffs = {"pyloudnorm I": ours.integrated_lufs - ref}
    assert abs(diffs["pyloudnorm I"]) <= 0.1
    if FFMPEG:
        ff = ffmpeg_ebur128(path)
        diffs["ffmpeg I"] = ours.integrated_lufs - ff["integrated_lufs"]
        diffs["ffmpeg LRA"] = (ours.loudness_range_lu or 0.0) - ff["loudness_range_lu"]
        diffs["ffmpeg TP"] = ours.true_peak_dbtp - ff["true_peak_dbtp"]
        assert abs(diffs["ffmpeg I"]) <= 0.15
        assert abs(diffs["ffmpeg LRA"]) <= 1.0
        assert abs(diffs["ffmpeg TP"]) <= 0.3
    shown = ", ".join(f"{k} {v:+.3f}" for k, v in diffs.items())
    print(
        f"\n{rate} Hz seed {seed}: I {ours.integrated_lufs:.2f} LUFS, "
        f"LRA {ours.loudness_range_lu:.2f} LU, TP {ours.true_peak_dbtp:.2f} dBTP; {shown}"
    )
