"""The mastering journey: the engineer uploads a reference track, masters the approved mix to
the Spotify preset with it, reads the spectra and the tables, A/Bs the master against the mix
and the reference loudness-matched, listens as a phone speaker and as a car, and approves; the
producer moves the song towards delivery and sees what is still missing.

The audio is the demo's synthesised song (a mix and a louder, brighter "commercial" reference
at another tempo), uploaded through the pages like any file; the master is made by the real
worker. Every wait is on a state the page promises ([data-state], [data-ready], [data-ab],
[data-listen-as], data-reference on the upload row); no sleeps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from playwright.sync_api import expect

from audio.demo import RATE, mixdown, synth_stems
from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SECONDS = 12
SLOW = 120_000  # the master job on a busy machine


@pytest.fixture(scope="session")
def mastering_audio(tmp_path_factory: Any) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mastering")
    mix = mixdown(synth_stems(bpm=96, seconds=SECONDS), {}) * 0.5  # a quiet rough mix
    ref = mixdown(synth_stems(bpm=122, seconds=SECONDS), {}) * 1.6
    ref = ref.clip(-0.99, 0.99)
    out = {"mix": folder / "coast-road-mix.wav", "ref": folder / "hit-single.wav"}
    sf.write(out["mix"], mix.T, RATE, subtype="PCM_24")
    sf.write(out["ref"], ref.T, RATE, subtype="PCM_16")
    return out


def _csrf(page: Any) -> dict[str, str]:
    return {"X-CSRFToken": page.evaluate("document.body.dataset.csrf")}


def _api(page: Any, method: str, url: str, data: Any = None) -> Any:
    response = page.request.fetch(url, method=method, data=data, headers=_csrf(page))
    assert response.ok, (url, response.status, response.text())
    return response.json() if response.status != 204 else None


def _gain(page: Any, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-gain") or "nan")


def test_mastering_reference_master_ab_listen_as_approve_and_the_way_to_delivery(
    open_as: Any, stack: Any, shot: Any, mastering_audio: dict[str, Path]
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Coast Road")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Coast Road", exact=True)).to_be_visible()
    song_url = producer.url
    song_id = int(re.search(r"/songs/(\d+)/", song_url).group(1))

    # The engineer uploads the mix; producer and artist approve it; the song reaches mastering.
    engineer = open_as("engineer")
    engineer.goto(song_url)
    wait_live(engineer)
    engineer.select_option("#upload-kind", "mix")
    engineer.fill("#upload-label", "Rough master-ready mix")
    engineer.set_input_files("#upload-input", str(mastering_audio["mix"]))
    row = engineer.locator("#upload-rows .upload-row", has_text="coast-road-mix.wav")
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    (mix,) = _api(engineer, "GET", f"/api/mixes/?song={song_id}")["results"]

    # The Master tab: no master yet.
    engineer.get_by_role("navigation", name="Song").get_by_role("link", name="Master").click()
    expect(engineer.get_by_role("heading", name="Master · Coast Road")).to_be_visible()
    expect(engineer.locator("#master-detail")).to_contain_text("No master yet")

    # Producer and artist approve the mix and the song reaches mastering (through the API,
    # from pages that are not open on the song: its cards would refetch at every step).
    artist = open_as("artist")
    artist.goto(song_url)
    tokens = {"producer": _csrf(producer), "artist": _csrf(artist)}
    producer.goto("about:blank")
    artist.goto("about:blank")
    for who, page in (("producer", producer), ("artist", artist)):
        response = page.request.post(
            f"/mixes/{mix['id']}/review/", form={"verdict": "approved"}, headers=tokens[who]
        )
        assert response.ok, response.status
    for stage in ("recording", "editing", "mixing", "mastering"):
        response = producer.request.post(
            f"/api/songs/{song_id}/move/", data={"to": stage}, headers=tokens["producer"]
        )
        assert response.ok, (stage, response.status, response.text())

    # The engineer adds a reference track; the approved mix is the one offered.
    engineer.reload()
    expect(engineer.locator("#mf-mix")).to_have_value(str(mix["id"]))
    expect(engineer.locator("#mf-mix")).to_contain_text("Mix 1 (approved)")
    expect(engineer.locator("#mf-preset")).to_have_value("spotify")
    expect(engineer.locator("#mf-target")).to_have_value("-14.0")
    wait_live(engineer)
    engineer.fill("#upload-label", "Hit Single")
    engineer.set_input_files("#upload-input", str(mastering_audio["ref"]))
    row = engineer.locator("#upload-rows .upload-row", has_text="hit-single.wav")
    expect(row).to_have_attribute("data-reference", re.compile(r"^\d+$"), timeout=60_000)
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    ref_id = row.get_attribute("data-reference")
    ref_row = engineer.locator(f"#reference-{ref_id}")
    expect(ref_row).to_contain_text("Hit Single")
    expect(ref_row).to_contain_text(re.compile(r"-\d+\.\d LUFS"), timeout=30_000)
    expect(engineer.locator("#references .ref-mix")).to_contain_text(re.compile(r"-\d+\.\d LUFS"))
    expect(engineer.locator(f'#mf-references input[value="{ref_id}"]')).to_be_checked()
    shot(engineer, "master-tab-reference")

    # Master it: Spotify preset, the reference at 100 %, progress live, then the new master.
    mark(engineer)
    engineer.get_by_role("button", name="Master Mix").click()
    progress = engineer.locator("#master-progress")
    expect(progress).to_have_attribute("data-state", re.compile("running|done"))
    engineer.wait_for_url(re.compile(r"/master/\?m=\d+$"), timeout=SLOW)
    detail = engineer.locator("#master-detail")
    expect(detail).to_have_attribute("data-ready", "true")
    expect(engineer.locator("#detail-h")).to_contain_text("Master 1 from Mix 1")
    expect(detail).to_contain_text("Spotify")
    expect(engineer.locator("#target-state")).to_have_attribute("data-met", "true")
    integrated = engineer.locator('#figures-table tr[data-figure="integrated"]')
    expect(integrated).to_contain_text(re.compile(r"-1[34]\.\d LUFS"))
    lines = engineer.locator("#spectra-chart polyline")
    expect(lines).to_have_count(3)
    assert [lines.nth(i).get_attribute("data-series") for i in range(3)] == [
        "mix",
        "master",
        "reference",
    ]
    expect(engineer.locator("#spectra-title")).to_contain_text("Hit Single")
    expect(engineer.locator("#eq-chart")).to_be_visible()
    expect(engineer.locator("#gr-h")).to_be_visible()
    spotify = engineer.locator('#platforms-table tr[data-platform="spotify"]')
    expect(spotify).to_contain_text(re.compile(r"-?\d+\.\d dB"))
    expect(engineer.locator('#lossy-table tr[data-codec="mp3_320"]')).to_be_visible()
    expect(engineer.locator("#master-form-h")).to_have_text("Master again")
    expect(engineer.locator(f'#mf-references input[value="{ref_id}"]')).to_be_checked()
    shot(engineer, "master-detail")

    # The master in the player: A/B against the mix, then the reference, loudness-matched.
    engineer.locator("#open-player").click()
    player = engineer.locator("#player")
    expect(player).to_have_attribute("data-state", re.compile("ready|paused"), timeout=60_000)
    expect(engineer.locator("#loudness-match")).to_be_checked()
    expect(player).to_have_attribute("data-b", f"mix:{mix['id']}")
    figure = engineer.locator("#match-figure")
    expect(figure).to_contain_text("dB down to match")
    a_lufs = float(engineer.locator("#audio-a").get_attribute("data-lufs"))
    b_lufs = float(engineer.locator("#audio-b").get_attribute("data-lufs"))
    assert a_lufs > b_lufs + 3, (a_lufs, b_lufs)  # the master is louder than the quiet mix
    expected = 10 ** ((b_lufs - a_lufs) / 20)
    assert abs(_gain(engineer, "#audio-a") - expected) < 1e-6
    assert _gain(engineer, "#audio-b") == 1.0
    expect(figure).to_contain_text(f"{abs(a_lufs - b_lufs):.1f} dB")

    engineer.get_by_role("button", name="Play", exact=True).click()
    expect(player).to_have_attribute("data-state", "playing")
    expect(player).to_have_attribute("data-graph", "on")
    expect(engineer.locator("#time")).to_have_text(re.compile(r"^0:0[2-9] / "))
    engineer.get_by_role("button", name="B · Mix 1").click()
    expect(player).to_have_attribute("data-ab", "b")
    # Sample-aligned: both sides run on one clock, so the switch kept the position.
    offset = float(player.get_attribute("data-ab-offset-ms") or "nan")
    assert offset < 25, offset
    t_b = engineer.evaluate("document.getElementById('audio-b').currentTime")
    assert t_b > 1.5, t_b
    assert not engineer.evaluate("document.getElementById('audio-a').paused")  # both still run
    engineer.get_by_role("button", name=re.compile(r"^A · Master 1")).click()
    expect(player).to_have_attribute("data-ab", "a")

    engineer.select_option("#b-pick", f"ref:{ref_id}")
    expect(player).to_have_attribute("data-b", f"ref:{ref_id}")
    b_button = engineer.get_by_role("button", name="B · Ref · Hit Single")
    expect(b_button).to_be_visible()
    r_lufs = float(engineer.locator("#audio-b").get_attribute("data-lufs"))
    expect(figure).to_contain_text(f"{abs(a_lufs - r_lufs):.1f} dB")
    quieter = min(a_lufs, r_lufs)
    for side, lufs in (("#audio-a", a_lufs), ("#audio-b", r_lufs)):
        assert abs(_gain(engineer, side) - min(1.0, 10 ** ((quieter - lufs) / 20))) < 1e-6
    b_button.click()
    expect(player).to_have_attribute("data-ab", "b")
    assert float(player.get_attribute("data-ab-offset-ms") or "nan") < 25

    # Listen as a phone speaker (mono, band-limited), then a car (with its room): no gap.
    engineer.get_by_role("button", name="Phone speaker").click()
    expect(player).to_have_attribute("data-listen-as", "phone")
    expect(engineer.get_by_role("button", name="Phone speaker")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(player).to_have_attribute("data-listen-settled", "phone")  # the crossfade is over
    phone = engineer.evaluate("window.studioPlayer.listenAs")
    assert phone["current"] == "phone" and phone["mono"] is True and phone["room"] == 0
    response = engineer.evaluate("window.studioPlayer.response([60, 1000, 16000])")
    assert response[0] < -30 and response[2] < -20, response  # band-limited both ends
    expect(engineer.locator("#listen-note")).to_contain_text("mono")
    shot(engineer, "player-listen-as-phone")
    engineer.get_by_role("button", name="Car").click()
    expect(player).to_have_attribute("data-listen-as", "car")
    # During the crossfade the two slots add up to the heard level: never silent.
    levels = engineer.evaluate(
        "new Promise((done) => { const out = []; const t = setInterval(() => {"
        " out.push(window.studioPlayer.listenAs.levels.reduce((a, b) => a + b, 0));"
        " if (out.length >= 8) { clearInterval(t); done(out); } }, 10); })"
    )
    assert min(levels) > 0.4, levels
    car = engineer.evaluate("window.studioPlayer.listenAs")
    assert car["current"] == "car" and car["mono"] is False and car["room"] > 0.2
    car_response = engineer.evaluate("window.studioPlayer.response([50, 1000])")
    assert car_response[0] > car_response[1], car_response  # cabin gain in the low end
    assert not engineer.evaluate("document.getElementById('audio-b').paused")
    expect(player).to_have_attribute("data-state", "playing")
    shot(engineer, "player-listen-as-car")
    engineer.locator("#play").click()  # pause

    # The engineer approves Master 1; the artist's verdict is still missing.
    engineer.locator("#master-approve").click()
    review = engineer.locator("#master-review")
    expect(review).to_contain_text("Your latest verdict: Approved")
    expect(review).to_contain_text("artist")

    # The producer moves the song towards delivery and sees what is still missing.
    producer.goto(song_url)
    wait_live(producer)
    gate = producer.locator("#gate-reasons")
    expect(gate).to_have_attribute("data-next", "delivered")
    expect(gate.locator("li:not(.ok)", has_text="An approved master")).to_be_visible()
    expect(gate.locator("li:not(.ok)", has_text="splits")).to_have_count(2)
    expect(producer.locator("#move-forward")).to_be_disabled()
    expect(producer.locator("#gate-unmet")).to_contain_text("no approved master yet")
    # The artist approves too, seen live on the producer's page: one thing less is missing.
    mark(producer)
    master_id = re.search(r"/masters/(\d+)/", engineer.url).group(1)
    response = artist.request.post(
        f"/masters/{master_id}/review/", form={"verdict": "approved"}, headers=tokens["artist"]
    )
    assert response.ok, response.status
    expect(gate.locator("li.ok", has_text="An approved master")).to_be_visible(timeout=20_000)
    expect(producer.locator("#gate-unmet")).not_to_contain_text("no approved master")
    assert_not_reloaded(producer)
    shot(producer, "song-towards-delivery")
