"""No false accusation: unmarked audio and wrong keys give ``found: false``, far from the bar.

The null distribution is measured here: unmarked files of many kinds (generated music, the
engine tests' programme, pink and white noise, sweeps, a loop whose period is the mark's own
period, near silence, clipped square waves) and marked files read with other keys, blind and
with issued ids. Each run's z-scores are collected; none may reach a threshold, and the largest
must stay well under it. The always-run version has 48 runs; the slow one 240 unmarked files
and 60 wrong-key runs. Detection searches speeds and tempos within +-3.2 % here as everywhere:
on these 20 s files its first stage is its last, so every run is the widest search (129
candidates x 384 alignments), the null's worst case.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import lfilter

from audio.engine.watermark import mark
from tests.audio.engine.signals import programme
from tests.audio.engine.test_watermark_signals import music

pytestmark = pytest.mark.engine

RATE = mark.ANALYSIS_RATE
SECONDS = 20
ISSUED = [3, 17, 99, 1000, 65535, 123456788, 4_000_000_000]


def unmarked(index: int) -> npt.NDArray[np.float32]:
    """The index-th unmarked mid signal at 16 kHz, of one of eight kinds."""
    rng = np.random.default_rng(10_000 + index)
    n = SECONDS * RATE
    kind = index % 8
    if kind == 0:
        return music(RATE, SECONDS, seed=1000 + index).mean(axis=0)
    if kind == 1:
        return mark.to_analysis_rate(
            programme(48000, SECONDS, seed=2000 + index).mean(axis=0), 48000
        )
    if kind == 2:
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1, -2.494956002, 2.017265875, -0.522189400]
        return (0.1 * lfilter(b, a, rng.standard_normal(n))).astype(np.float32)
    if kind == 3:
        return (0.05 * rng.standard_normal(n)).astype(np.float32)
    if kind == 4:
        t = np.arange(n) / RATE
        f0, f1 = rng.uniform(50, 500), rng.uniform(2000, 7000)
        phase = 2 * np.pi * f0 * SECONDS / np.log(f1 / f0) * ((f1 / f0) ** (t / SECONDS) - 1)
        return (0.3 * np.sin(phase)).astype(np.float32)
    if kind == 5:  # a loop exactly one pattern period long, so its features fold coherently
        period = mark.PERIOD * mark.HOP
        loop = music(RATE, period / RATE + 0.01, seed=3000 + index).mean(axis=0)[:period]
        return np.tile(loop, -(-n // period))[:n]
    if kind == 6:
        return (1e-4 * rng.standard_normal(n)).astype(np.float32)
    t = np.arange(n) / RATE
    square = np.sign(np.sin(2 * np.pi * rng.uniform(80, 400) * t))
    return (0.5 * square + 0.01 * rng.standard_normal(n)).astype(np.float32)


def marked_mid(seed: int) -> npt.NDArray[np.float32]:
    x = music(RATE, SECONDS * 2, seed=seed)
    return mark.embed(x, RATE, f"the right key {seed}", 123456789).samples.mean(axis=0)


def check_runs(unmarked_count: int, wrong_key_runs: int) -> dict[str, float]:
    worst = {"sync_z": -np.inf, "word_z": -np.inf, "ids_word_z": -np.inf, "ids_lead_z": -np.inf}

    def record(res: mark.Detection, ids: bool) -> None:
        assert not res.found and res.id is None, res
        assert res.confidence < 0.5
        worst["sync_z"] = max(worst["sync_z"], res.sync_z)
        if ids:
            worst["ids_word_z"] = max(worst["ids_word_z"], res.word_z)
            worst["ids_lead_z"] = max(worst["ids_lead_z"], res.lead_z or 0.0)
        else:
            worst["word_z"] = max(worst["word_z"], res.word_z)

    for i in range(unmarked_count):
        mid = unmarked(i)
        key = f"key {i % 5}"
        record(mark.detect(mid, key), ids=False)
        record(mark.detect(mid, key, ISSUED), ids=True)
    mids = [marked_mid(seed) for seed in range(max(1, wrong_key_runs // 20))]
    for j in range(wrong_key_runs):
        mid = mids[j % len(mids)]
        record(mark.detect(mid, f"a wrong key {j}"), ids=False)
        record(mark.detect(mid, f"a wrong key {j}", [*ISSUED, 123456789]), ids=True)
    print({k: round(v, 2) for k, v in worst.items()})
    # the thresholds sit well above anything the null produced
    assert worst["sync_z"] <= mark.SYNC_Z_MIN - 1.5
    assert worst["ids_word_z"] <= mark.IDS_WORD_Z_MIN - 2.5
    assert worst["ids_lead_z"] < mark.IDS_LEAD_MIN
    return worst


def test_null_small() -> None:
    """40 unmarked files and 8 wrong-key runs: nothing found, z-scores far under the bar."""
    check_runs(40, 8)


def test_right_key_still_found_on_the_null_files_marked() -> None:
    """The same generator's files, once marked, are found: the null test is not vacuous."""
    mid = marked_mid(0)
    res = mark.detect(mid, "the right key 0", [*ISSUED, 123456789])
    assert res.found and res.id == 123456789


@pytest.mark.slow
def test_null_large() -> None:
    """240 unmarked files and 60 wrong-key runs (600 detections): zero false attributions."""
    check_runs(240, 60)
