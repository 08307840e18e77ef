"""The QC report: every check made to fail by a crafted input (figures for each check, and
crafted audio through a whole delivery), fails first and at the top, in JSON and HTML."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio.engine.deliver.qc import (
    AlbumFigures,
    Mp3Figures,
    TrackFigures,
    album_checks,
    report,
    report_html,
    track_checks,
)
from audio.engine.deliver.release import Release
from audio.engine.deliver.run import deliver
from tests.audio.engine.deliver_fixtures import base_release, write_float
from tests.audio.engine.signals import programme

pytestmark = pytest.mark.engine

RATE = 44100

GOOD = TrackFigures(
    number=1,
    title="Good",
    isrc="USRC17607839",
    samples=588 * 75 * 60,
    sample_peak_dbfs=-1.5,
    true_peak_dbtp=-1.2,
    integrated_lufs=-14.0,
    loudness_range_lu=6.0,
    dc_offset=(0.0001, -0.0001),
    head_silence_s=0.1,
    tail_silence_s=1.0,
    flac_frames=588 * 75 * 60,
    mp3=Mp3Figures(588 * 75 * 60, -1.3, -1.1, 0, 0),
)
MP3 = GOOD.mp3
assert MP3 is not None

TRACK_FAILS: dict[str, dict[str, Any]] = {
    "duration": {"samples": 588 * 75 * 3, "flac_frames": None, "mp3": None},
    "format": {"sample_rate": 48000},
    "decoded_length": {"mp3": dataclasses.replace(MP3, frames=588 * 75 * 60 + 1105)},
    "sample_peak": {"sample_peak_dbfs": 0.0},
    "true_peak": {"true_peak_dbtp": 0.4},
    "integrated_loudness": {"integrated_lufs": None},
    "loudness_range": {"loudness_range_lu": 0.5},
    "playback_gain.spotify": {"integrated_lufs": -3.0},
    "playback_gain.apple": {"integrated_lufs": -5.0},
    "playback_gain.youtube": {"integrated_lufs": -3.0},
    "playback_gain.amazon": {"integrated_lufs": -3.0},
    "playback_gain.tidal": {"integrated_lufs": -3.0},
    "playback_gain.deezer": {"integrated_lufs": -4.0},
    "clipped_samples": {"clipped_samples": 3},
    "intersample_clipped": {"intersample_clipped": 250},
    "mp3_clipped_samples": {"mp3": dataclasses.replace(MP3, clipped_samples=12)},
    "mp3_intersample_clipped": {"mp3": dataclasses.replace(MP3, intersample_clipped=400)},
    "dc_offset": {"dc_offset": (0.02, 0.0)},
    "head_silence": {"head_silence_s": 12.0},
    "tail_silence": {"tail_silence_s": 11.0},
    "isrc": {"isrc": None},
}


def statuses(checks: list[Any]) -> dict[str, str]:
    return {c.id: c.status for c in checks}


def test_good_figures_pass_every_track_check() -> None:
    got = statuses(track_checks(GOOD))
    assert set(got) == set(TRACK_FAILS)
    assert set(got.values()) == {"pass"}, got


@pytest.mark.parametrize("check", sorted(TRACK_FAILS))
def test_each_track_check_fails_on_a_crafted_input(check: str) -> None:
    checks = track_checks(dataclasses.replace(GOOD, **TRACK_FAILS[check]))
    got = statuses(checks)
    assert got[check] == "fail"
    assert checks[0].status == "fail"  # fails first
    value = next(c.value for c in checks if c.id == check)
    assert value is not None or check in ("integrated_loudness", "isrc")


def test_warnings_sit_between() -> None:
    got = statuses(track_checks(dataclasses.replace(GOOD, true_peak_dbtp=-0.5, head_silence_s=2.0)))
    assert got["true_peak"] == "warn" and got["head_silence"] == "warn"


ALBUM = AlbumFigures(
    tracks=[GOOD, dataclasses.replace(GOOD, number=2, isrc="USRC17607840")],
    programme_frames=2 * 60 * 75 + 150,
    first_pregap_frames=150,
    upc="036000291452",
)

ALBUM_FAILS: dict[str, dict[str, Any]] = {
    "track_count": {"tracks": [GOOD] * 100},
    "programme_duration": {"programme_frames": 80 * 60 * 75},
    "first_pregap": {"first_pregap_frames": 100},
    "upc": {"upc": None},
    "isrc_unique": {"isrcs_unique": False},
    "loudness_spread": {"tracks": [GOOD, dataclasses.replace(GOOD, integrated_lufs=-23.0)]},
    "album_true_peak": {"tracks": [GOOD, dataclasses.replace(GOOD, true_peak_dbtp=0.3)]},
}


def test_good_album_figures_pass() -> None:
    got = statuses(album_checks(ALBUM))
    assert set(got) == set(ALBUM_FAILS) and set(got.values()) == {"pass"}, got


@pytest.mark.parametrize("check", sorted(ALBUM_FAILS))
def test_each_album_check_fails_on_a_crafted_input(check: str) -> None:
    got = statuses(album_checks(dataclasses.replace(ALBUM, **ALBUM_FAILS[check])))
    assert got[check] == "fail"


def test_the_report_says_fail_at_the_top() -> None:
    bad = dataclasses.replace(GOOD, number=2, isrc=None, clipped_samples=5)
    rep = report(dataclasses.replace(ALBUM, tracks=[GOOD, bad]))
    assert list(rep)[:3] == ["status", "headline", "fails"]
    assert rep["status"] == "fail" and rep["headline"].startswith("FAIL: 2 checks failed")
    assert [(f["where"], f["id"]) for f in rep["fails"]] == [
        ("track 02", "clipped_samples"),
        ("track 02", "isrc"),
    ]
    assert rep["tracks"][1]["status"] == "fail" and rep["tracks"][0]["status"] == "pass"
    page = report_html(rep, "Night <Drive>")
    assert page.index('class="banner fail"') < page.index("<h2>Failed checks</h2>")
    assert page.index("<h2>Failed checks</h2>") < page.index("<h2>Album</h2>")
    assert "Night &lt;Drive&gt;" in page and "<Drive>" not in page
    json.dumps(rep, allow_nan=False)


def test_crafted_audio_fails_its_checks_in_a_real_delivery(tmp_path: Path) -> None:
    """A hot square wave then a tone with DC (clips on-sample, between samples and after MP3),
    a track of 11 s of silence before a tone, no ISRC and no UPC: each shows up as a fail in
    qc.json, and the files are still delivered."""
    n = 5 * RATE
    t = np.arange(n) / RATE
    square = np.sign(np.sin(2 * np.pi * 997 * t)) * 1.2  # clipped at full scale
    square[n // 2 :] = 0.3 * np.sin(2 * np.pi * 440 * t[n // 2 :]) + 0.1  # DC 0.05 in all
    write_float(tmp_path / "hot.wav", np.stack([square, square]).astype(np.float32), RATE)
    quiet = np.zeros((2, 12 * RATE), dtype=np.float32)
    quiet[:, 11 * RATE :] = programme(RATE, 1.0, seed=4, level=0.3)
    write_float(tmp_path / "late.wav", quiet, RATE)
    data = base_release(
        [
            {"source": "hot.wav", "title": "Hot"},
            {"source": "late.wav", "title": "Late", "isrc": "USRC17607840"},
        ],
        upc=None,
        formats=["mp3", "qc"],
    )
    data.pop("artwork")
    summary = deliver(Release.from_dict(data), tmp_path, tmp_path / "out")
    rep = json.loads((tmp_path / "out/qc.json").read_text())
    assert summary["qc"]["status"] == "fail" == rep["status"]
    fails = {(f["where"], f["id"]) for f in rep["fails"]}
    for check in (
        "clipped_samples",
        "sample_peak",
        "true_peak",
        "mp3_clipped_samples",
        "dc_offset",
        "isrc",
    ):
        assert ("track 01", check) in fails, check
    assert ("track 02", "head_silence") in fails
    assert ("album", "upc") in fails
    hot = {c["id"]: c for c in rep["tracks"][0]["checks"]}
    assert hot["clipped_samples"]["value"] > 1000
    assert hot["dc_offset"]["value"][0] == pytest.approx(0.05, abs=0.002)
    assert (tmp_path / "out/mp3/01 Hot.mp3").exists()
