"""The song sheet in a browser: the producer writes the arrangement on the Sheet tab, and the
player's waveform and the mixer's timeline show the sections as labelled regions once the tempo
and the first downbeat are set; a section the artist adds appears on the open player live."""

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
def tide_files(tmp_path_factory: Any) -> dict[str, Path]:
    """A 6 s stem and a 6 s mix of our own (assets dedupe by checksum)."""
    folder = tmp_path_factory.mktemp("sheet")
    rate = 44100
    t = np.arange(rate * 6) / rate
    out = {}
    for name, hz in (("tide-keys.wav", 330.0), ("tide-mix.wav", 220.0)):
        tone = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        sf.write(folder / name, np.stack([tone, tone], axis=1), rate, subtype="PCM_16")
        out[name] = folder / name
    return out


def _upload(page: Any, kind: str, label: str, path: Path) -> None:
    page.select_option("#upload-kind", kind)
    page.fill("#upload-label", label)
    page.set_input_files("#upload-input", str(path))
    row = page.locator("#upload-rows .upload-row", has_text=path.name)
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)


def _add_section(page: Any, name: str, bars: str, lyrics: str = "") -> None:
    summary = page.locator("#section-add > summary")
    if page.locator("#section-add").get_attribute("open") is None:
        summary.click()
    page.fill("#section-add-name", name)
    page.fill("#section-add-bars", bars)
    if lyrics:
        page.fill("#section-add-lyrics", lyrics)
    page.click("#section-add-submit")
    expect(page.locator("#section-list > li", has_text=name.capitalize())).to_be_visible()


def test_sections_show_on_the_waveform_and_the_timeline(
    open_as: Any, stack: Any, shot: Any, tide_files: dict[str, Path]
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Tide Lines")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Tide Lines", exact=True)).to_be_visible()
    song_url = producer.url
    wait_live(producer)
    _upload(producer, "stem", "keys", tide_files["tide-keys.wav"])
    _upload(producer, "mix", "Rough", tide_files["tide-mix.wav"])

    # The Sheet tab: the arrangement, then the tempo and the first downbeat.
    producer.get_by_role("link", name="Sheet", exact=True).click()
    expect(producer.get_by_role("heading", name="Song sheet · Tide Lines")).to_be_visible()
    _add_section(producer, "intro", "1")
    _add_section(producer, "verse", "1", "Salt on the window")
    expect(producer.locator("#sheet-regions-state")).to_contain_text("Set the tempo")
    producer.locator("#sheet-edit > summary").click()
    producer.fill("#sheet-tempo-in", "120")
    producer.fill("#sheet-downbeat-in", "0.5")
    producer.fill("#sheet-genre-in", "Dream pop")
    producer.click("#sheet-save")
    expect(producer.locator("#sheet-regions-state")).to_contain_text("show the sections")
    expect(producer.locator("#section-list > li").nth(1)).to_contain_text("0:02")
    shot(producer, "sheet")

    song_id = song_url.rstrip("/").split("/")[-1]
    mixes = producer.request.get(f"/api/mixes/?song={song_id}").json()["results"]
    mix_id = mixes[0]["id"]

    # The player: two labelled regions from 0.5 s, 2 s a bar.
    artist = open_as("artist")
    artist.goto(f"/mixes/{mix_id}/")
    player = artist.locator("#player")
    expect(player).to_have_attribute("data-state", re.compile("ready|paused"), timeout=60_000)
    expect(player).to_have_attribute("data-sections", "2", timeout=15_000)
    wait_live(artist)
    # Playwright's CSS pierces the waveform's open shadow root.
    expect(artist.locator("#waveform .section-label")).to_have_text(["intro", "verse"])
    mark(artist)
    shot(artist, "player-sections")

    # The artist writes the chorus on the sheet; the open player shows it without a reload.
    writer = open_as("artist")
    writer.goto(f"/songs/{song_id}/sheet/")
    wait_live(writer)
    _add_section(writer, "chorus", "1")
    expect(player).to_have_attribute("data-sections", "3", timeout=15_000)
    assert_not_reloaded(artist)

    # The mixer's timeline shows them under the ruler.
    producer.goto(f"/songs/{song_id}/mix/")
    producer.locator("#draft-keepers").click()
    expect(producer.locator("#mixer")).to_have_attribute("data-state", "ready", timeout=30_000)
    marks = producer.locator("#section-strip .section-mark")
    expect(marks).to_have_count(3)
    expect(marks.nth(0)).to_have_text("intro")
    shot(producer, "mixer-sections")
