"""The lossy-encode check: a real LAME encode at 320 kbit/s, decoded to the exact length,
finds the peaks the encode adds (a hot master clips after MP3, a -3 dBTP one does not)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from pedalboard.io import AudioFile

from audio.engine.io import write_wav
from audio.engine.mastering import master
from audio.engine.mastering.master import MasterSettings, aac_check, lossy_check, master_file
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100


def test_a_hot_file_clips_after_mp3_and_a_safe_master_does_not(tmp_path: Path) -> None:
    hot = tmp_path / "hot.wav"
    loud = np.clip(programme(RATE, 3.0, seed=5) * 5, -1, 1) * 10 ** (1 / 20)  # +1 dBFS, float
    write_wav(hot, loud, RATE, 32)
    hot_mp3 = lossy_check(hot, RATE, 2)
    assert hot_mp3["clipped_samples"] > 0 and hot_mp3["intersample_clipped"] > 0
    assert hot_mp3["sample_peak_dbfs"] > 0.0
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(programme(RATE, 3.0, seed=5) * 5, -1, 1), RATE, 24)
    safe = master_file(src, tmp_path / "safe.wav", MasterSettings(ceiling_dbtp=-3.0))
    safe_mp3 = safe["lossy"]["mp3_320"]
    assert safe_mp3["clipped_samples"] == 0 and safe_mp3["intersample_clipped"] == 0
    assert safe_mp3["true_peak_dbtp"] < 0.0


def test_the_decode_is_sample_aligned(tmp_path: Path) -> None:
    """libsndfile decodes LAME's MP3 to the exact length with no encoder delay: a click at a
    known frame comes back at that frame."""
    x = np.zeros((2, RATE * 2), dtype=np.float32)
    x[:, 30000] = 0.8
    path = tmp_path / "click.wav"
    write_wav(path, x, RATE, 24)
    report = lossy_check(path, RATE, 2)
    assert report["sample_peak_dbfs"] is not None
    mp3 = tmp_path / "click.mp3"
    with AudioFile(str(mp3), "w", RATE, 2, quality="320") as f:
        f.write(x)
    decoded, rate = soundfile.read(mp3, always_2d=True)
    assert rate == RATE and decoded.shape[0] == x.shape[1]
    assert abs(int(np.argmax(np.abs(decoded[:, 0]))) - 30000) <= 2


def test_rates_lame_cannot_encode_are_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "hi.wav"
    write_wav(path, programme(96000, 0.5, seed=1), 96000, 24)
    assert "96000" in lossy_check(path, 96000, 2)["skipped"]


def test_aac_says_honestly_whether_an_encoder_is_here(tmp_path: Path) -> None:
    """pedalboard is the only encoder the engine may use; where it cannot write .m4a the
    report says so and why, and leaves no probe file; where it can, the figures are there."""
    path = tmp_path / "in.wav"
    write_wav(path, programme(RATE, 1.0, seed=2), RATE, 24)
    aac = aac_check(path, RATE, 2)
    try:
        with AudioFile(str(tmp_path / "probe.m4a"), "w", RATE, 2) as f:
            f.write(np.zeros((2, 100), dtype=np.float32))
        can_write = True
    except ValueError:
        can_write = False
    (tmp_path / "probe.m4a").unlink(missing_ok=True)
    assert aac["available"] is can_write
    if can_write:
        assert aac["true_peak_dbtp"] is not None and aac["clipped_samples"] >= 0
    else:
        assert "pedalboard cannot write .m4a" in aac["reason"]
        assert set(aac) == {"available", "reason"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_the_master_report_carries_both_lossy_checks(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_wav(src, programme(RATE, 2.0, seed=3), RATE, 24)
    report = master_file(src, tmp_path / "out.wav", MasterSettings())
    assert set(report["lossy"]) == {"mp3_320", "aac"}
    assert "available" in report["lossy"]["aac"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_the_mp3_check_beside_the_write_measures_what_the_file_check_measures(
    tmp_path: Path,
) -> None:
    """The master encodes its MP3 while it writes (a thread fed the stored blocks); its
    figures are those of encoding the written file afterwards, for 24 and 16 bit."""
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(programme(RATE, 3.0, seed=8) * 4, -1, 1), RATE, 24)
    for depth in ("24", "16"):
        out = tmp_path / f"out{depth}.wav"
        settings = MasterSettings(target_lufs=-9.0, ceiling_dbtp=-0.1, bit_depth=depth)
        report = master_file(src, out, settings)
        assert report["lossy"]["mp3_320"] == lossy_check(out, RATE, 2)
    assert not list(tmp_path.glob("*.mp3")) and not list(tmp_path.glob(".*"))


def test_a_long_programme_is_checked_in_pieces_spliced_sample_accurately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a minute the MP3 check encodes two overlapping pieces at once, cut at an MP3
    frame boundary. Each piece decodes to its exact span with no delay (the second piece's
    decode lines up with the programme at lag 0, far better than at lag 1), and the spliced
    figures are those of encoding the whole programme at once."""
    frames = 64 * RATE
    x = np.clip(programme(RATE, 64.0, seed=9) * 5, -1, 1).astype(np.float32)
    path = tmp_path / "long.wav"
    write_wav(path, x, RATE, 24)
    pieces = master.mp3_pieces(frames, RATE)
    assert len(pieces) == 2
    first, second = pieces
    cut = first.keep_stop
    assert cut == second.keep_start and cut % master.MP3_FRAME == 0
    assert (first.start, second.stop) == (0, frames)
    assert first.stop == cut + master.MP3_OVERLAP and second.start == cut - master.MP3_OVERLAP
    stored, _ = soundfile.read(path, dtype="float32", always_2d=True)
    piece = stored[second.start : second.stop]
    mp3 = tmp_path / "piece.mp3"
    with AudioFile(str(mp3), "w", RATE, 2, quality="320") as f:
        f.write(np.ascontiguousarray(piece.T))
    decoded, _ = soundfile.read(mp3, dtype="float32", always_2d=True)
    assert decoded.shape == piece.shape
    span = slice(master.MP3_OVERLAP, master.MP3_OVERLAP + 4 * RATE)  # around the cut

    def residual(lag: int) -> float:
        shifted = piece[span.start + lag : span.stop + lag]
        return float(np.mean((decoded[span] - shifted) ** 2))

    signal = float(np.mean(piece[span] ** 2))
    assert residual(0) < signal / 30  # better than 15 dB SNR: a real, aligned decode
    assert residual(0) < residual(1) / 10 and residual(0) < residual(-1) / 10
    spliced = lossy_check(path, RATE, 2)
    monkeypatch.setattr(master, "MP3_PIECES", 1)
    whole = lossy_check(path, RATE, 2)
    assert abs(spliced["true_peak_dbtp"] - whole["true_peak_dbtp"]) < 0.05
    assert abs(spliced["sample_peak_dbfs"] - whole["sample_peak_dbfs"]) < 0.05
    for key in ("clipped_samples", "intersample_clipped"):
        assert whole[key] > 0
        assert abs(spliced[key] - whole[key]) <= 0.05 * whole[key]
    assert not list(tmp_path.glob(".*"))


def test_the_pieces_beside_the_write_measure_what_the_file_check_measures(
    tmp_path: Path,
) -> None:
    """A master over a minute long: its MP3 pieces encoded from the spool beside the write
    pass give exactly the figures of checking the written file afterwards."""
    src = tmp_path / "in.wav"
    write_wav(src, np.clip(programme(RATE, 61.0, seed=10) * 4, -1, 1), RATE, 24)
    out = tmp_path / "out.wav"
    report = master_file(src, out, MasterSettings(target_lufs=-9.0, ceiling_dbtp=-0.1))
    assert len(master.mp3_pieces(61 * RATE, RATE)) == 2
    assert report["lossy"]["mp3_320"] == lossy_check(out, RATE, 2)
    assert not list(tmp_path.glob("*.mp3")) and not list(tmp_path.glob(".*"))
