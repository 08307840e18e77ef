"""16 bit by TPDF dither, once and last: a -100 dBFS sine (a third of an LSB) survives as a
signal in TPDF noise instead of rounding to digital silence, and the error has the level and
the flat spectrum of TPDF at 16 bit (variance 1/6 + 1/12 LSB^2: -96.3 dBFS RMS)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.engine.deliver.release import Release
from audio.engine.deliver.run import deliver
from tests.audio.engine.deliver_fixtures import base_release, write_float

pytestmark = pytest.mark.engine

RATE = 44100
SECONDS = 6.0
AMPLITUDE = 10 ** (-100 / 20)


def test_a_sine_at_minus_100_dbfs_becomes_signal_in_tpdf_noise(tmp_path: Path) -> None:
    t = np.arange(round(SECONDS * RATE)) / RATE
    sine = AMPLITUDE * np.sin(2 * np.pi * 1000 * t)
    write_float(tmp_path / "quiet.wav", np.stack([sine, sine]).astype(np.float32), RATE)
    data = base_release([{"source": "quiet.wav", "title": "Quiet"}], formats=["wav"])
    data.pop("artwork")
    deliver(Release.from_dict(data), tmp_path, tmp_path / "out")
    (wav,) = (tmp_path / "out/wav").iterdir()
    out, _ = sf.read(wav, dtype="int16", always_2d=True)
    n = len(sine)
    assert sf.info(wav).subtype == "PCM_16"
    assert np.array_equal(np.round(sine * 32768), np.zeros(n))  # rounding alone: silence
    x = out[:n].astype(np.float64)
    assert np.count_nonzero(x) > 0.2 * x.size  # not truncated to zero (TPDF alone: 25 %)
    assert set(np.unique(x)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}  # +-1 LSB of TPDF, then rounding
    error = x - sine[:, None] * 32768
    rms = math.sqrt(float(np.mean(error**2)))
    assert 20 * math.log10(rms / 32768) == pytest.approx(-96.3, abs=0.3)
    assert float(np.mean(error)) == pytest.approx(0.0, abs=0.01)  # no DC from the quantiser
    # the sine is still there: the output's projection onto it is its amplitude
    for c in range(2):
        gain = float(x[:, c] @ sine) / float(sine @ sine) / 32768
        assert gain == pytest.approx(1.0, abs=0.1)
    # the channels' dither is independent, and the error is white (flat within 1 dB by octave)
    assert abs(np.corrcoef(error[:, 0], error[:, 1])[0, 1]) < 0.02
    seg = 8192
    usable = (n // seg) * seg
    frames = error[:usable, 0].reshape(-1, seg) * np.hanning(seg)
    spectrum = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(seg, 1 / RATE)
    bands = []
    for lo in (250, 500, 2000, 4000, 8000):
        band = (freqs >= lo) & (freqs < 2 * lo)
        bands.append(10 * math.log10(float(spectrum[band].mean())))
    assert max(bands) - min(bands) < 1.0
    # TPDF makes the noise power independent of the signal: the same level in silence
    quiet = out[: RATE // 2].astype(np.float64) - sine[: RATE // 2, None] * 32768
    assert 20 * math.log10(math.sqrt(float(np.mean(quiet**2))) / 32768) == pytest.approx(
        -96.3, abs=0.5
    )


def test_dither_comes_once_after_resampling_and_fades(tmp_path: Path) -> None:
    """A full-scale-free 96 kHz source: every output sample is within 1.5 LSB of the exact
    (resampled, faded) value, which a second quantisation or a float floor would break."""
    import soxr

    rate = 96000
    t = np.arange(round(5.0 * rate)) / rate
    x = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 5000 * t)).astype(np.float32)
    write_float(tmp_path / "hi.wav", np.stack([x, -x]), rate)
    data = base_release(
        [{"source": "hi.wav", "title": "Hi", "fade_in_s": 0.25, "trim_start_s": 0.5}],
        formats=["wav"],
    )
    data.pop("artwork")
    deliver(Release.from_dict(data), tmp_path, tmp_path / "out")
    (wav,) = (tmp_path / "out/wav").iterdir()
    got, _ = sf.read(wav, dtype="int16", always_2d=True)
    ref = soxr.resample(np.stack([x, -x]).T, rate, RATE, quality="VHQ")[RATE // 2 :]
    fade = round(0.25 * RATE)
    k = np.arange(fade)
    ref[:fade] *= ((1 - np.cos(np.pi * k / fade)) / 2)[:, None]
    diff = got[: len(ref)].astype(np.float64) - ref * 32768
    assert np.abs(diff).max() <= 1.5
    assert json.loads((tmp_path / "out/manifest.json").read_text())["files"][0]["bytes"] > 0
