"""EBU Tech 3341 / 3342 conformance, with the test signals synthesised from their definitions.

Tolerances are the documents': +-0.1 LU for M/S/I, +-1 LU for LRA, +0.2/-0.4 dB for true peak.
Every case runs at 48 kHz (the EBU files' rate) and 44.1 kHz (K-weighting designed per rate).
"""

from __future__ import annotations

import numpy as np
import pytest

from audio.engine.loudness import LoudnessMeter, k_weighting_sos, measure
from tests.audio.engine.signals import fs_sine, isp_pulses, sequence, silence, sine

pytestmark = pytest.mark.engine

RATES = [48000, 44100]
LU = 0.1


def near(value: float | None, expected: float, tol: float = LU) -> bool:
    return value is not None and abs(value - expected) <= tol


def test_k_weighting_at_48k_matches_bs1770_table() -> None:
    """The rate-designed filter reproduces BS.1770-4's printed 48 kHz coefficients."""
    sos = k_weighting_sos(48000)
    assert np.allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285])
    assert np.allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585])
    assert np.allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621])


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_3341_cases_1_2_stereo_sine(rate: int, level: float) -> None:
    """Cases 1/2: a 1 kHz stereo sine at L dBFS reads L LUFS for M, S and I."""
    r = measure(sine(rate, 20, level), rate)
    assert near(r.integrated_lufs, level)
    assert near(r.momentary_max_lufs, level)
    assert near(r.short_term_max_lufs, level)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "parts",
    [
        [(10, -36.0), (60, -23.0), (10, -36.0)],  # case 3: relative gate
        [(10, -72.0), (10, -36.0), (60, -23.0), (10, -36.0), (10, -72.0)],  # case 4: both gates
        [(20, -26.0), (20.1, -20.0), (20, -26.0)],  # case 5
    ],
    ids=["case3", "case4", "case5"],
)
def test_3341_cases_3_to_5_gating(rate: int, parts: list[tuple[float, float]]) -> None:
    """Cases 3-5: the absolute and relative gates give -23.0 LUFS integrated."""
    assert near(measure(sequence(rate, parts), rate).integrated_lufs, -23.0)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("with_lfe", [False, True], ids=["5.0", "5.1"])
def test_3341_case_6_surround(rate: int, with_lfe: bool) -> None:
    """Case 6: L,R -28, C -24, Ls,Rs -30 dBFS reads -23.0 (surrounds weighted 1.41, LFE 0)."""
    levels = [-28.0, -28.0, -24.0, -30.0, -30.0]
    chans = [sine(rate, 20, lvl, channels=1)[0] for lvl in levels]
    if with_lfe:
        chans.insert(3, sine(rate, 20, -10.0, freq=60, channels=1)[0])  # ignored by weight 0
    assert near(measure(np.stack(chans), rate).integrated_lufs, -23.0)


@pytest.mark.parametrize("rate", RATES)
def test_3341_case_9_short_term_constant(rate: int) -> None:
    """Case 9: 1.34 s at -20 / 1.66 s at -30 dBFS alternating: S is -23.0 after 3 s."""
    x = sequence(rate, [(1.34, -20.0), (1.66, -30.0)] * 5)
    meter = LoudnessMeter(rate, 2)
    meter.process(x)
    values = [v for v in meter.report().short_term_lufs if v is not None]
    assert values and all(near(v, -23.0) for v in values)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("offset", [0.0, 0.013, 0.05, 0.077])
def test_3341_case_10_max_short_term(rate: int, offset: float) -> None:
    """Case 10: a 3 s burst at -23 dBFS, wherever it starts, gives max S -23.0."""
    x = sequence(rate, [(1 + offset, None), (3, -23.0), (1.5, None)])
    assert near(measure(x, rate).short_term_max_lufs, -23.0)


@pytest.mark.parametrize("rate", RATES)
def test_3341_case_11_successive_short_term(rate: int) -> None:
    """Case 11: 3 s bursts at -38 .. -19 dBFS give successive max S values within 0.1."""
    for level in range(-38, -18, 3):
        x = sequence(rate, [(0.5, None), (3, float(level)), (0.5, None)])
        assert near(measure(x, rate).short_term_max_lufs, float(level))


@pytest.mark.parametrize("rate", RATES)
def test_3341_case_12_momentary_constant(rate: int) -> None:
    """Case 12: 0.18 s at -20 / 0.22 s at -30 dBFS alternating: M is -23.0 after 1 s."""
    x = sequence(rate, [(0.18, -20.0), (0.22, -30.0)] * 25)
    meter = LoudnessMeter(rate, 2)
    meter.process(x)
    values = meter.report().momentary_lufs[10:]
    assert values and all(near(v, -23.0) for v in values if v is not None)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("offset", [0.0, 0.005, 0.031, 0.062, 0.099])
def test_3341_case_13_max_momentary(rate: int, offset: float) -> None:
    """Case 13: a 0.4 s burst at -23 dBFS off the 100 ms grid still gives max M -23.0."""
    x = sequence(rate, [(0.5 + offset, None), (0.4, -23.0), (0.5, None)])
    assert near(measure(x, rate).momentary_max_lufs, -23.0)


@pytest.mark.parametrize("rate", RATES)
def test_3341_case_14_successive_momentary(rate: int) -> None:
    """Case 14: 0.4 s bursts at -38 .. -19 dBFS give successive max M values within 0.1."""
    for level in range(-38, -18):
        x = sequence(rate, [(0.3, None), (0.4, float(level)), (0.3, None)])
        assert near(measure(x, rate).momentary_max_lufs, float(level))


TRUE_PEAK_CASES = [
    ("15: fs/4 0.50 0deg", 4, 0.0, 0.5, -6.0),
    ("16: fs/4 0.50 45deg", 4, 45.0, 0.5, -6.0),
    ("17: fs/6 0.50 60deg", 6, 60.0, 0.5, -6.0),
    ("18: fs/8 0.50 67.5deg", 8, 67.5, 0.5, -6.0),
    ("19: fs/4 1.41 45deg", 4, 45.0, 1.41, 3.0),
]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("name", "divisor", "degrees", "amplitude", "expected"),
    TRUE_PEAK_CASES,
    ids=[c[0] for c in TRUE_PEAK_CASES],
)
def test_3341_cases_15_to_19_true_peak(
    rate: int, name: str, divisor: int, degrees: float, amplitude: float, expected: float
) -> None:
    """Cases 15-19: sines near fs/4 whose samples miss the peak read within +0.2/-0.4 dB."""
    tp = measure(fs_sine(rate, divisor, degrees, amplitude), rate).true_peak_dbtp
    assert tp is not None and expected - 0.4 <= tp <= expected + 0.2, (name, tp)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("quarters", [0, 1, 2, 3], ids=lambda q: f"case{20 + q}")
def test_3341_cases_20_to_23_inter_sample_peaks(rate: int, quarters: int) -> None:
    """Cases 20-23: band-limited pulses peaking at 0 dBFS between samples read 0 dBTP."""
    tp = measure(isp_pulses(rate, quarters), rate).true_peak_dbtp
    assert tp is not None and -0.4 <= tp <= 0.2, tp


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([(20, -20.0), (20, -30.0)], 10.0),
        ([(20, -20.0), (20, -15.0)], 5.0),
        ([(20, -40.0), (20, -20.0)], 20.0),
        ([(20, -50.0), (20, -35.0), (20, -20.0), (20, -35.0), (20, -50.0)], 15.0),
    ],
    ids=["3342-1", "3342-2", "3342-3", "3342-4"],
)
def test_3342_loudness_range(rate: int, parts: list[tuple[float, float]], expected: float) -> None:
    """Tech 3342 cases 1-4: LRA within +-1 LU."""
    lra = measure(sequence(rate, parts), rate).loudness_range_lu
    assert lra is not None and abs(lra - expected) <= 1.0, lra


def test_silence_has_no_integrated_loudness() -> None:
    """Digital silence and audio entirely below the -70 LUFS gate give None, not -inf."""
    assert measure(silence(48000, 5), 48000).integrated_lufs is None
    r = measure(sine(48000, 5, -80.0), 48000)
    assert r.integrated_lufs is None
    assert r.true_peak_dbtp is not None and r.true_peak_dbtp < -79


def test_block_size_does_not_change_the_result() -> None:
    """Streaming in odd block sizes gives the same figures as one block."""
    rate = 44100
    x = sequence(rate, [(2.3, -20.0), (4.1, -31.0), (3.3, -25.0)])
    whole = measure(x, rate)
    meter = LoudnessMeter(rate, 2)
    for start in range(0, x.shape[1], 12345):
        meter.process(x[:, start : start + 12345])
    parts = meter.report()
    for field in (
        "integrated_lufs",
        "loudness_range_lu",
        "momentary_max_lufs",
        "short_term_max_lufs",
        "true_peak_dbtp",
        "sample_peak_dbfs",
    ):
        assert getattr(parts, field) == pytest.approx(getattr(whole, field), abs=1e-6), field


@pytest.mark.parametrize("rate", [8000, 22050, 32000, 88200, 96000, 176400, 192000])
def test_other_rates_read_a_sine_right(rate: int) -> None:
    """K-weighting is designed per rate: a 1 kHz sine at -23 dBFS reads -23.0 at any rate."""
    r = measure(sine(rate, 5, -23.0), rate)
    assert near(r.integrated_lufs, -23.0)
    assert r.true_peak_dbtp == pytest.approx(-23.0, abs=0.2)
