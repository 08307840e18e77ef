"""Reference matching: the tone curve against band levels measured independently (scipy's
Welch spectra), the width toward the reference's side-to-mid ratio, intensity scaling, the
minimum-phase FIR against its curve, and a matched master's loudness from the reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile
from scipy.signal import butter, sosfilt, welch

from audio.engine.io import write_wav
from audio.engine.mastering.reference import (
    BAND_CENTRES,
    FirFilter,
    curve_db_at,
    match,
    minimum_phase_fir,
    profile,
    usable_bands,
)
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100
ROOT = Path(__file__).resolve().parents[3]


def _ms(x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return (x[0] + x[1]) / 2, (x[0] - x[1]) / 2


def _reference(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The mix made brighter (a high shelf-ish boost), 3 dB wider and 4 dB louder."""
    hp = sosfilt(butter(2, 3000, "highpass", fs=RATE, output="sos"), x.astype(np.float64), axis=1)
    y = x + 1.0 * hp
    mid, side = _ms(y)
    side = side * 10 ** (3 / 20)
    return (np.stack([mid + side, mid - side]) * 10 ** (4 / 20) * 0.7).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ref")
    mix = programme(RATE, 4.0, seed=8, level=0.3)
    paths = {"mix": folder / "mix.wav", "ref": folder / "ref.wav"}
    write_wav(paths["mix"], mix, RATE, 24)
    write_wav(paths["ref"], _reference(mix), RATE, 24)
    return paths


def _bands_welch(path: Path) -> npt.NDArray[np.float64]:
    """Mid power per 1/3-octave band, relative to the mean, measured with scipy."""
    data, _ = soundfile.read(path, always_2d=True)
    mid = (data[:, 0] + data[:, 1]) / 2
    f, p = welch(mid, fs=RATE, nperseg=8192)
    levels = []
    for fc in BAND_CENTRES:
        band = (f >= fc / 2 ** (1 / 6)) & (f < fc * 2 ** (1 / 6))
        levels.append(10 * np.log10(max(p[band].sum(), 1e-30)))
    arr = np.array(levels)
    usable = usable_bands(RATE)
    return np.where(usable, arr - arr[usable].mean(), 0.0)


def test_tone_curve_follows_the_measured_band_differences(files: dict[str, Path]) -> None:
    found = match(profile(files["mix"]), [profile(files["ref"])], 100.0, RATE)
    expected = _bands_welch(files["ref"]) - _bands_welch(files["mix"])
    got = np.array([g for _, g in found.curve])
    inner = (BAND_CENTRES > 60) & (BAND_CENTRES < 16000)  # smoothing and edges aside
    smooth = np.convolve(np.pad(expected, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    assert np.abs(got[inner] - smooth[inner]).max() < 1.0
    assert got[BAND_CENTRES > 8000].mean() > got[BAND_CENTRES < 500].mean() + 3


def test_width_and_loudness_and_intensity(files: dict[str, Path]) -> None:
    mix, ref = profile(files["mix"]), profile(files["ref"])
    full = match(mix, [ref], 100.0, RATE)
    half = match(mix, [ref], 50.0, RATE)
    none = match(mix, [ref], 0.0, RATE)
    ratio = full.side_to_mid_db[1] - full.side_to_mid_db[0]
    assert ratio > 2.0  # the reference is wider
    assert 1.0 < half.side_gain < full.side_gain
    assert none.side_gain == 1.0 and all(g == 0.0 for _, g in none.curve)
    assert np.allclose([g for _, g in half.curve], [g / 2 for _, g in full.curve], atol=1e-3)
    assert full.target_lufs == pytest.approx(ref.integrated_lufs)
    two = match(mix, [ref, ref], 100.0, RATE)  # averaging a reference with itself
    assert two.curve == full.curve and two.side_gain == pytest.approx(full.side_gain)


def test_minimum_phase_fir_follows_its_curve_with_no_delay() -> None:
    curve = tuple((float(f), float(6 * np.sin(np.log2(f / 25)))) for f in BAND_CENTRES)
    taps = minimum_phase_fir(curve, RATE)
    freqs = BAND_CENTRES[BAND_CENTRES < 18000]
    response = np.fft.rfft(taps, 1 << 18)
    grid = np.fft.rfftfreq(1 << 18, 1 / RATE)
    got = 20 * np.log10(np.abs(np.interp(freqs, grid, np.abs(response))))
    assert np.abs(got - curve_db_at(curve, freqs)).max() < 0.5
    assert int(np.argmax(np.abs(taps))) < 40  # minimum phase: the energy comes first
    # streaming in blocks equals one convolution, for blocks shorter than the FFT segments
    # and for blocks that span several of them
    x = np.random.default_rng(0).standard_normal((2, 30000)).astype(np.float32)
    expected = np.stack([np.convolve(c, taps)[:30000] for c in x.astype(np.float64)])
    for size in (777, 14000):
        fir = FirFilter(taps, 2)
        assert size < fir.nfft - len(taps) + 1 or size > 2 * (fir.nfft - len(taps) + 1)
        got_blocks = np.concatenate(
            [fir.process(x[:, i : i + size]) for i in range(0, 30000, size)], axis=1
        )
        assert np.abs(got_blocks - expected).max() < 1e-5


def test_a_matched_master_takes_the_reference_loudness_and_width(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(files["mix"]),
            str(out),
            "--reference",
            str(files["ref"]),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ref = profile(files["ref"])
    assert report["target_lufs"] == pytest.approx(ref.integrated_lufs, abs=0.01)
    assert report["target_met"], report["target_reason"]
    assert abs(report["output"]["integrated_lufs"] - report["target_lufs"]) <= 0.2
    assert report["output"]["true_peak_accurate_dbtp"] <= -1.0
    assert [s["type"] for s in report["stages"]][:2] == ["match_eq", "width"]
    got = profile(out)
    ratio = 20 * np.log10(got.side_rms / got.mid_rms)
    assert ratio == pytest.approx(report["reference"]["side_to_mid_db"]["reference"], abs=1.0)


def test_a_bad_reference_exits_2_naming_it(files: dict[str, Path], tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(files["mix"]),
            str(tmp_path / "o.wav"),
            "--reference",
            str(tmp_path / "nope.wav"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: --reference:") and "nope.wav" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def dark(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second reference: the mix made darker, narrower and 2 dB quieter."""
    data, _ = soundfile.read(files["mix"], always_2d=True, dtype="float32")
    x = data.T.astype(np.float64)
    lp = sosfilt(butter(2, 1500, "lowpass", fs=RATE, output="sos"), x, axis=1)
    mid, side = _ms(x + lp)
    y = np.stack([mid + side * 0.5, mid - side * 0.5]) * 10 ** (-2 / 20) * 0.5
    path = tmp_path_factory.mktemp("dark") / "dark.wav"
    write_wav(path, y.astype(np.float32), RATE, 24)
    return path


def test_reference_weights_weigh_every_average(files: dict[str, Path], dark: Path) -> None:
    mix, bright, darker = profile(files["mix"]), profile(files["ref"]), profile(dark)
    a = match(mix, [bright], 100.0, RATE)
    b = match(mix, [darker], 100.0, RATE)
    only_a = match(mix, [bright, darker], 100.0, RATE, weights=[1.0, 0.0])
    assert only_a.curve == a.curve and only_a.side_gain == pytest.approx(a.side_gain)
    assert only_a.target_lufs == pytest.approx(a.target_lufs)
    mixed = match(mix, [bright, darker], 100.0, RATE, weights=[3.0, 1.0])
    # The curve is linear in the averaged levels (no band hits the +-12 dB limit here).
    got = np.array([g for _, g in mixed.curve])
    expected = 0.75 * np.array([g for _, g in a.curve]) + 0.25 * np.array([g for _, g in b.curve])
    assert np.abs(got - expected).max() < 1e-3
    assert mixed.side_to_mid_db[1] == pytest.approx(
        0.75 * a.side_to_mid_db[1] + 0.25 * b.side_to_mid_db[1]
    )
    assert mixed.target_lufs == pytest.approx(0.75 * a.target_lufs + 0.25 * b.target_lufs)
    assert a.target_lufs is not None and b.target_lufs is not None


def test_tone_and_width_weights_apart_from_intensity(files: dict[str, Path]) -> None:
    mix, ref = profile(files["mix"]), profile(files["ref"])
    full = match(mix, [ref], 100.0, RATE)
    no_tone = match(mix, [ref], 100.0, RATE, tone=0.0)
    assert all(g == 0.0 for _, g in no_tone.curve)
    # with no tone curve the width moves the whole way, by itself: the ratio difference
    ratio = no_tone.side_to_mid_db[1] - no_tone.side_to_mid_db[0]
    assert 20 * np.log10(no_tone.side_gain) == pytest.approx(ratio, abs=1e-6)
    half_width = match(mix, [ref], 100.0, RATE, tone=0.0, width=50.0)
    assert 20 * np.log10(half_width.side_gain) == pytest.approx(ratio / 2, abs=1e-6)
    quarter = match(mix, [ref], 50.0, RATE, tone=50.0, width=100.0)  # 50 % of 50 %
    assert np.allclose([g for _, g in quarter.curve], [g / 4 for _, g in full.curve], atol=1e-3)
    assert match(mix, [ref], 100.0, RATE, tone=0.0, width=0.0).side_gain == 1.0


def test_a_master_with_width_weight_0_keeps_the_mix_width(
    files: dict[str, Path], dark: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(files["mix"]),
            str(out),
            "--reference",
            str(files["ref"]),
            "--reference",
            str(dark),
            "--reference-weights",
            "3,1",
            "--match-width",
            "0",
            "--match-tone",
            "80",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ref = report["reference"]
    assert ref["weights"] == [0.75, 0.25]
    assert (ref["tone_weight"], ref["width_weight"]) == (80.0, 0.0)
    lufs = ref["integrated_lufs"]
    assert report["target_lufs"] == pytest.approx(0.75 * lufs[0] + 0.25 * lufs[1], abs=0.01)
    mix, got = profile(files["mix"]), profile(out)
    before = 20 * np.log10(mix.side_rms / mix.mid_rms)
    after = 20 * np.log10(got.side_rms / got.mid_rms)
    assert after == pytest.approx(before, abs=0.5)
    assert ref["side_to_mid_db"]["reference"] > before + 1.0  # so moving it would show


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--reference-weights", "1,2"], "--reference-weights"),
        (["--reference-weights", "a"], "--reference-weights"),
        (["--reference-weights", "-1"], "--reference-weights"),
        (["--reference-weights", "0"], "--reference-weights"),
        (["--match-tone", "101"], "--match-tone"),
        (["--match-width", "-1"], "--match-width"),
    ],
)
def test_bad_weights_exit_2(
    files: dict[str, Path], tmp_path: Path, args: list[str], named: str
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio.engine",
            "master",
            str(files["mix"]),
            str(tmp_path / "o.wav"),
            "--reference",
            str(files["ref"]),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {named}"), done.stderr
    assert list(tmp_path.iterdir()) == []
