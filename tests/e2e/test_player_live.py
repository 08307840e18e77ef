"""The player picks up a version's loudness when its analysis finishes, without a reload, so the
loudness-matched A/B works at once.

The worker is held while the new mix is uploaded, so the player opens while its analysis is
still pending (no loudness in the markup); then the worker goes on and the page must follow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture(scope="session")
def quiet_and_loud(tmp_path_factory: Any) -> tuple[Path, Path]:
    """Two 6 s mono files about 10 dB apart (files of their own: assets dedupe by checksum)."""
    folder = tmp_path_factory.mktemp("loudness")
    rate = 44100
    t = np.arange(rate * 6) / rate
    out = []
    for name, amplitude in (("still-water-quiet.wav", 0.15), ("still-water-loud.wav", 0.5)):
        path = folder / name
        sf.write(path, (amplitude * np.sin(2 * np.pi * 500 * t)).astype(np.float32), rate)
        out.append(path)
    return out[0], out[1]


def _upload(page: Any, label: str, path: Path) -> Any:
    page.select_option("#upload-kind", "mix")
    page.fill("#upload-label", label)
    page.set_input_files("#upload-input", str(path))
    return page.locator("#upload-rows .upload-row", has_text=path.name)


def _integrated(page: Any, asset: str) -> float:
    response = page.request.get(f"/api/assets/{asset}/analysis/")
    assert response.ok, (asset, response.status)
    return float(response.json()["report"]["integrated_lufs"])


def test_loudness_match_works_right_after_the_analysis(
    open_as: Any, stack: Any, shot: Any, quiet_and_loud: tuple[Path, Path]
) -> None:
    quiet, loud = quiet_and_loud
    producer = open_as("producer")
    producer.goto(f"/p/{stack.data['project']}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Still Water")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Still Water", exact=True)).to_be_visible()
    song_url = producer.url

    engineer = open_as("engineer")
    engineer.goto(song_url)
    wait_live(engineer)
    expect(_upload(engineer, "Quiet pass", quiet)).to_have_attribute(
        "data-state", "done", timeout=60_000
    )

    def peaks_fetch(response: Any) -> bool:
        return "/peaks/" in response.url and response.request.method == "GET"

    with (
        engineer.expect_response(peaks_fetch, timeout=60_000) as peaks,
        stack.worker_paused(),
    ):
        row = _upload(engineer, "Loud pass", loud)
        expect(row).to_have_attribute("data-state", "analysing", timeout=60_000)
        mix2 = engineer.locator("#mix-list li", has_text="Mix 2")
        expect(mix2).to_contain_text("analysing")
        mix2.get_by_role("link", name="Listen").click()
        player = engineer.locator("#player")
        expect(player).to_have_attribute("data-state", "analysing")
        audio_a, audio_b = engineer.locator("#audio-a"), engineer.locator("#audio-b")
        expect(audio_a).to_have_attribute("data-loudness", "pending")
        expect(audio_a).to_have_attribute("data-lufs", "")
        expect(audio_b).to_have_attribute("data-loudness", "measured")
        wait_live(engineer)
        mark(engineer)
        # Matching asked for before the loudness is known: nothing to match yet.
        engineer.check("#loudness-match")
        expect(audio_a).to_have_attribute("data-gain", "1")

    # The analysis finishes: the waveform, the figures and the loudness arrive, live. The
    # player sends its width and draws the one level the server chose for it.
    assert re.search(r"\?width=\d+$", peaks.value.url), peaks.value.url
    assert len(peaks.value.json()["peaks"]["levels"]) == 1
    expect(player).to_have_attribute("data-state", re.compile("ready|paused"), timeout=60_000)
    expect(audio_a).to_have_attribute("data-loudness", "measured")
    expect(engineer.locator("#player-figures")).to_contain_text(re.compile(r"-\d+\.\d LUFS"))
    assert_not_reloaded(engineer)
    a_lufs = _integrated(engineer, audio_a.get_attribute("data-asset") or "")
    b_lufs = _integrated(engineer, audio_b.get_attribute("data-asset") or "")
    assert a_lufs - b_lufs > 6, (a_lufs, b_lufs)  # the loud pass is A
    want = 10 ** ((b_lufs - a_lufs) / 20)
    assert abs(float(audio_a.get_attribute("data-lufs") or "nan") - a_lufs) < 1e-6
    gain = float(audio_a.get_attribute("data-gain") or "nan")
    assert abs(gain - want) < 1e-6, (gain, want)
    assert abs(engineer.evaluate("document.getElementById('audio-a').volume") - want) < 1e-6

    # B, the quieter, plays at full volume; A keeps its cut; unmatched, both play at 1.
    engineer.locator("#waveform").focus()
    engineer.keyboard.press("x")
    expect(engineer.get_by_role("button", name=re.compile(r"B · Mix 1"))).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(audio_b).to_have_attribute("data-gain", "1")
    assert engineer.evaluate("document.getElementById('audio-b').volume") == 1
    engineer.uncheck("#loudness-match")
    expect(audio_a).to_have_attribute("data-gain", "1")
    assert_not_reloaded(engineer)
    shot(engineer, "player-loudness-matched-live")
