"""analysis: the one-pass report's figures, waveform peaks and progress."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from audio.engine.analysis import PEAKS_MAX_PAIRS, analyze, analyze_file
from audio.engine.io import write_wav
from tests.audio.engine.signals import programme, sequence, silence, sine

pytestmark = pytest.mark.engine


def test_sine_figures() -> None:
    """A -6 dBFS stereo sine: peak -6, RMS -9.01, crest 3.01, correlation 1, no DC, no clips."""
    r = analyze(sine(48000, 4, -6.0), 48000)
    assert r.sample_peak_dbfs == pytest.approx(-6.0, abs=0.01)
    assert r.rms_dbfs == pytest.approx(-9.01, abs=0.01)
    assert r.crest_factor_db == pytest.approx(3.01, abs=0.02)
    assert r.stereo_correlation == pytest.approx(1.0)
    assert all(abs(v) < 1e-4 for v in r.dc_offset)
    assert r.clipped_samples == 0
    assert r.integrated_lufs == pytest.approx(-6.0, abs=0.1)


def test_dc_correlation_and_clipping() -> None:
    """DC per channel, an inverted channel (-1) and clipped samples are reported."""
    x = sine(44100, 2, -12.0)
    x[1] = -x[1]
    x[0] += 0.1
    x[0, 1000:1010] = 1.0
    r = analyze(x, 44100)
    assert r.dc_offset[0] == pytest.approx(0.1, abs=1e-3)
    assert r.dc_offset[1] == pytest.approx(0.0, abs=1e-3)
    assert r.stereo_correlation is not None and r.stereo_correlation < -0.8
    assert r.clipped_samples == 10


def test_head_and_tail_silence() -> None:
    """Silence before and after the audio is measured at -60 dBFS."""
    x = sequence(44100, [(1.5, None), (2.0, -20.0), (0.75, None)])
    r = analyze(x, 44100)
    assert r.head_silence_s == pytest.approx(1.5, abs=0.01)
    assert r.tail_silence_s == pytest.approx(0.75, abs=0.01)


def test_silence_is_json_safe() -> None:
    """All-silent audio: None for every undefined figure, and strict JSON encodes it."""
    r = analyze(silence(8000, 2), 8000)
    assert r.integrated_lufs is None and r.true_peak_dbtp is None and r.rms_dbfs is None
    assert r.stereo_correlation is None
    assert r.head_silence_s == pytest.approx(2.0)
    json.dumps(r.to_dict(), allow_nan=False)


def test_mono_has_no_correlation() -> None:
    """Correlation needs two channels."""
    assert analyze(sine(8000, 1, -6.0, channels=1), 8000).stereo_correlation is None


def test_spectrum_peaks_in_the_right_band() -> None:
    """A 1 kHz sine puts its energy in the 1 kHz third-octave band, at its RMS level."""
    r = analyze(sine(48000, 3, -6.0), 48000)
    centres, levels = r.spectrum["centres_hz"], r.spectrum["levels_db"]
    loudest = centres[int(np.nanargmax([v if v is not None else -999 for v in levels]))]
    assert loudest == 1000
    assert levels[centres.index(1000)] == pytest.approx(-9.03, abs=0.2)
    assert centres[-1] == 20000


def test_waveform_peaks_shape_and_bounds() -> None:
    """Peaks: coarsest level about 1000 pairs, each finer 4x, values in [-1, 1] at 4 decimals,
    interleaved min/max per channel as wavesurfer.js takes them."""
    rate = 44100
    x = programme(rate, 30)
    peaks = analyze(x, rate).peaks
    assert peaks is not None
    assert (peaks["version"], peaks["sample_rate"], peaks["channels"]) == (1, rate, 2)
    levels = peaks["levels"]
    assert 375 <= levels[0]["length"] <= 1500
    for coarse, fine in itertools.pairwise(levels):
        assert coarse["samples_per_peak"] == 4 * fine["samples_per_peak"]
    for level in levels:
        assert len(level["data"]) == 2
        assert len(level["data"][0]) == 2 * level["length"]
        assert level["length"] == math.ceil(x.shape[1] / level["samples_per_peak"])
        flat = np.array(level["data"])
        assert flat.min() >= -1 and flat.max() <= 1
        assert np.all(flat[:, 0::2] <= flat[:, 1::2])
        assert np.allclose(flat, np.round(flat, 4))
    finest = levels[-1]
    spp = finest["samples_per_peak"]
    assert finest["data"][0][1] == pytest.approx(float(x[0, :spp].max()), abs=1e-4)
    assert max(finest["data"][1][1::2]) == pytest.approx(float(x[1].max()), abs=1e-4)


def test_peaks_stay_small_for_an_hour() -> None:
    """The finest level is capped, so an hour's peaks stay a few MB of JSON."""
    from audio.engine.analysis import _Peaks

    p = _Peaks(2, 3600 * 48000)
    assert 3600 * 48000 / p.spp <= PEAKS_MAX_PAIRS


def test_analyze_file_progress_and_format(tmp_path: Path) -> None:
    """Progress goes 0..1 in order and ends at 1; file facts are in the report."""
    path = tmp_path / "p.wav"
    write_wav(path, programme(44100, 5), 44100, 24)
    seen: list[float] = []
    r = analyze_file(path, on_progress=seen.append, with_peaks=False)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3
    assert (r.format, r.codec, r.bit_depth) == ("wav", "PCM_24", 24)
    assert r.peaks is None
    assert r.frames == 5 * 44100


def test_file_and_array_agree(tmp_path: Path) -> None:
    """Analysing a float WAV gives the same figures as the array it holds."""
    x = programme(48000, 8, seed=3)
    path = tmp_path / "f.wav"
    write_wav(path, x, 48000, 32)
    a, b = analyze(x, 48000).to_dict(), analyze_file(path).to_dict()
    for key in ("integrated_lufs", "true_peak_dbtp", "rms_dbfs", "loudness_range_lu"):
        assert a[key] == pytest.approx(b[key], abs=1e-9), key
    assert a["peaks"] == b["peaks"]
