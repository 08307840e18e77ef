"""The mixer journey: an engineer builds a mix on the server from the demo stems, the artist
follows it live and A/Bs the rendered version against the previous one.

The stems are the demo's synthesised ones (cut to 12 s), uploaded through the song page like
any stem. Every wait is on a state the page promises (#mixer[data-save], [data-state],
#render-progress[data-state], #preview-state[data-state]); no sleeps.
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
SLOW = 30_000  # a save checks the whole spec against the stored sources


@pytest.fixture(scope="session")
def demo_stems(tmp_path_factory: Any) -> dict[str, Path]:
    """The demo's four stems, 12 s each, and their plain sum as an uploaded Mix 1."""
    folder = tmp_path_factory.mktemp("mixer-stems")
    stems = {name: s[:, : RATE * SECONDS] for name, s in synth_stems().items()}
    out = {}
    for name, samples in stems.items():
        path = folder / f"harbour-{name.replace(' ', '-')}.wav"
        sf.write(path, samples.T, RATE, subtype="PCM_16")
        out[name] = path
    path = folder / "harbour-rough-mix.wav"
    sf.write(path, mixdown(stems, {}).T, RATE, subtype="PCM_16")
    out["mix"] = path
    return out


def _upload(page: Any, kind: str, label: str, path: Path) -> None:
    page.select_option("#upload-kind", kind)
    page.fill("#upload-label", label)
    page.set_input_files("#upload-input", str(path))
    row = page.locator("#upload-rows .upload-row", has_text=path.name)
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)


def _saved(page: Any) -> None:
    expect(page.locator("#mixer")).to_have_attribute("data-save", "saved", timeout=SLOW)


def _number(page: Any, path: str) -> Any:
    return page.locator(f'[data-path="{path}"] > input[type=number]')


def _type(page: Any, path: str, value: str) -> None:
    field = _number(page, path)
    field.fill(value)
    field.press("Enter")


def _spec(page: Any, mix_id: str) -> dict[str, Any]:
    response = page.request.get(f"/api/mixes/{mix_id}/spec/")
    assert response.ok, response.status
    return response.json()


@pytest.mark.allow_console(r"status of 400 \(Bad Request\)")  # the out-of-range ratio, below
def test_mixer_engineer_mixes_renders_and_artist_ab_compares(
    open_as: Any, stack: Any, shot: Any, demo_stems: dict[str, Path]
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", "Harbour Lights")
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name="Harbour Lights", exact=True)).to_be_visible()
    song_url = producer.url

    # The engineer uploads the demo stems and a rough mix (Mix 1, the version to compare with).
    engineer = open_as("engineer")
    engineer.goto(song_url)
    wait_live(engineer)
    for name, path in demo_stems.items():
        if name == "mix":
            _upload(engineer, "mix", "Rough sum", path)
        else:
            _upload(engineer, "stem", name, path)

    engineer.get_by_role("link", name="Open the mixer").click()
    expect(engineer.get_by_role("heading", name=re.compile("Mixer"))).to_be_visible()
    expect(engineer.locator("#mixer")).to_have_attribute("data-state", "empty")
    engineer.get_by_role("button", name="Start a mix from the stems").click()
    mixer = engineer.locator("#mixer")
    expect(mixer).to_have_attribute("data-state", "ready", timeout=SLOW)
    expect(engineer.locator("#mix-name")).to_contain_text("Mix 2 (draft)")
    mix_id = mixer.get_attribute("data-mix")
    assert mix_id
    # One channel strip per stem at unity, the reverb bus, the master; one clip per track.
    for track in ("drums", "bass", "keys", "lead-vocal"):
        expect(engineer.locator(f'.strip[data-track="{track}"]')).to_be_visible()
        expect(engineer.locator(f'.clip[data-clip="{track}:0"]')).to_be_visible()
    expect(engineer.locator('.strip[data-bus="verb"]')).to_be_visible()
    expect(engineer.locator("#master-meter")).to_contain_text("Mix 1")
    wait_live(engineer)
    shot(engineer, "mixer-draft")

    # The artist listens along: the same mixer, read-only.
    artist = open_as("artist")
    artist.goto(engineer.url)
    expect(artist.locator("#mixer")).to_have_attribute("data-state", "readonly", timeout=SLOW)
    wait_live(artist)
    assert artist.locator("#render-btn").count() == 0
    assert artist.locator("#preview-btn").count() == 0
    expect(_number(artist, "tracks[1].gain_db")).to_be_disabled()
    refused = artist.request.put(
        f"/api/mixes/{mix_id}/spec/",
        data=_spec(artist, mix_id)["spec"],
        headers={"X-CSRFToken": artist.evaluate("document.body.dataset.csrf")},
    )
    assert refused.status == 403
    mark(artist)

    # A fader moved with the keyboard (30 steps of 0.1 dB down) and a pan typed in.
    fader = engineer.locator('input.fader[data-fader="bass"]')
    fader.focus()
    for _ in range(30):
        fader.press("ArrowDown")
    expect(_number(engineer, "tracks[1].gain_db")).to_have_value("-3")
    _type(engineer, "tracks[2].pan", "-0.35")
    expect(engineer.locator('[data-path="tracks[2].pan"] .val')).to_have_text("L35")
    _saved(engineer)

    # An EQ and a compressor on the lead vocal, with their parameters.
    vocal = engineer.locator('.strip[data-track="lead-vocal"]')
    for effect in ("PeakFilter", "Compressor"):
        vocal.get_by_label("Effect to add").select_option(effect)
        vocal.get_by_role("button", name="Add").click()
        expect(vocal.locator(f"details[data-fx={effect}]")).to_be_visible()
    _type(engineer, "tracks[3].fx[0].cutoff_frequency_hz", "3200")
    _type(engineer, "tracks[3].fx[0].gain_db", "2.5")
    _type(engineer, "tracks[3].fx[1].threshold_db", "-18")
    # A ratio below 1 is refused: the sentence stands next to the field, nothing is saved.
    _type(engineer, "tracks[3].fx[1].ratio", "0.5")
    expect(mixer).to_have_attribute("data-save", "error", timeout=SLOW)
    error = vocal.locator('[data-path="tracks[3].fx[1].ratio"] .ctl-err')
    expect(error).to_have_text("0.5 is outside 1-100")
    assert "tracks[" not in error.inner_text()
    shot(engineer, "mixer-bad-ratio")
    _type(engineer, "tracks[3].fx[1].ratio", "3")
    _saved(engineer)
    expect(error).to_have_text("")

    # Reordered: the compressor first, then back behind the EQ.
    vocal.get_by_role("button", name="Move Compressor up").click()
    expect(vocal.locator("details.fx").first).to_have_attribute("data-fx", "Compressor")
    _saved(engineer)
    assert [fx["type"] for fx in _spec(engineer, mix_id)["spec"]["tracks"][3]["fx"]] == [
        "Compressor",
        "PeakFilter",
    ]
    vocal.get_by_role("button", name="Move Compressor down").click()
    expect(vocal.locator("details.fx").first).to_have_attribute("data-fx", "PeakFilter")
    _saved(engineer)

    saved = _spec(engineer, mix_id)["spec"]
    bass, keys, vocal_track = saved["tracks"][1], saved["tracks"][2], saved["tracks"][3]
    assert bass["gain_db"] == pytest.approx(-3.0)
    assert keys["pan"] == pytest.approx(-0.35)
    assert [fx["type"] for fx in vocal_track["fx"]] == ["PeakFilter", "Compressor"]
    assert vocal_track["fx"][0]["cutoff_frequency_hz"] == pytest.approx(3200)
    assert vocal_track["fx"][0]["gain_db"] == pytest.approx(2.5)
    assert vocal_track["fx"][1]["threshold_db"] == pytest.approx(-18)
    assert vocal_track["fx"][1]["ratio"] == pytest.approx(3)

    # The artist's open mixer followed every change, without a reload.
    expect(_number(artist, "tracks[1].gain_db")).to_have_value("-3", timeout=SLOW)
    expect(artist.locator('[data-path="tracks[2].pan"] .val')).to_have_text("L35")
    artist_vocal = artist.locator('.strip[data-track="lead-vocal"]')
    expect(artist_vocal.locator("details[data-fx=Compressor]")).to_be_visible()
    expect(_number(artist, "tracks[3].fx[1].ratio")).to_have_value("3", timeout=SLOW)
    assert_not_reloaded(artist)

    # The drums clip dragged 1 s later on the timeline (the page says its pixels per second).
    zoom = int(mixer.get_attribute("data-zoom") or 0)
    assert zoom > 0
    clip = engineer.locator('.clip[data-clip="drums:0"]')
    clip.evaluate("e => e.scrollIntoView({block: 'center'})")
    box = clip.bounding_box()
    assert box
    engineer.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2)
    engineer.mouse.down()
    engineer.mouse.move(box["x"] + 60 + zoom, box["y"] + box["height"] / 2, steps=4)
    engineer.mouse.up()
    expect(engineer.locator("#clip-editor")).to_be_visible()
    expect(_number(engineer, "tracks[0].clips[0].start")).to_have_value("1")
    _saved(engineer)
    assert _spec(engineer, mix_id)["spec"]["tracks"][0]["clips"][0]["start"] == RATE

    # Preview from 2 s: the server renders the window and the page plays it.
    ruler = engineer.locator("#ruler")
    ruler.click(position={"x": 2 * zoom, "y": 10})
    expect(mixer).to_have_attribute("data-playhead", re.compile(r"^[12]\.\d\d$"))
    assert float(mixer.get_attribute("data-playhead") or 0) == pytest.approx(2.0, abs=0.05)
    engineer.get_by_role("button", name="Preview from here").click()
    preview = engineer.locator("#preview-state")
    expect(preview).to_have_attribute("data-state", re.compile("playing|done"), timeout=SLOW)
    # 10 s (2 s to the 12 s end) of 32-bit float stereo at 44.1 kHz, plus the header.
    assert int(preview.get_attribute("data-bytes") or 0) > 10 * RATE * 2 * 4
    shot(engineer, "mixer-preview")

    # Render: the worker is held, so the bar is seen waiting; then it runs to the end and the
    # engineer lands in the player, Mix 2 against Mix 1.
    progress = engineer.locator("#render-progress")
    with stack.worker_paused():
        engineer.get_by_role("button", name="Render Mix 2 (draft)").click()
        expect(progress).to_have_attribute("data-state", "running")
        expect(progress).to_be_visible()
        expect(mixer).to_have_attribute("data-state", "rendering")
        shot(engineer, "mixer-rendering")
    engineer.wait_for_url(re.compile(rf"/mixes/{mix_id}/\?b=\d+$"), timeout=120_000)
    expect(engineer.get_by_role("heading", name="Mix 2")).to_be_visible()
    expect(engineer.get_by_role("button", name="B · Mix 1")).to_be_visible()

    # The artist sees the new version live, opens it and switches A/B.
    expect(artist.locator("#mixer")).to_have_attribute("data-state", "rendered", timeout=SLOW)
    expect(artist.locator("#render-progress")).to_have_attribute("data-state", "done")
    expect(artist.locator("#master-meter")).to_contain_text("Mix 2 (rendered)")
    assert_not_reloaded(artist)
    shot(artist, "mixer-rendered-artist")
    artist.locator("#rendered-link").click()
    player = artist.locator("#player")
    expect(player).to_have_attribute("data-state", re.compile("ready|paused"), timeout=60_000)
    expect(artist.get_by_role("button", name="A · Mix 2")).to_have_attribute("aria-pressed", "true")
    artist.get_by_role("button", name="Play", exact=True).click()
    expect(player).to_have_attribute("data-state", "playing")
    artist.get_by_role("button", name="B · Mix 1").click()
    expect(player).to_have_attribute("data-ab", "b")
    expect(artist.get_by_role("button", name="B · Mix 1")).to_have_attribute("aria-pressed", "true")
    shot(artist, "player-ab")


def _harbour_mixer(page: Any, stack: Any) -> None:
    page.goto(f"/p/{stack.data['project']}/")
    link = page.get_by_role("link", name="Harbour Lights").first
    if not link.count():
        pytest.skip("needs the song of the mixer journey (run the module)")
    link.click()
    page.get_by_role("link", name="Open the mixer").click()


@pytest.mark.allow_console(r"status of 412")
def test_two_editors_changes_made_at_once_both_land(open_as: Any, stack: Any) -> None:
    """The engineer's save is held on its way while the producer saves another control; let
    go, the engineer's stale save is refused (412) and merged onto the producer's."""
    producer = open_as("producer")
    _harbour_mixer(producer, stack)
    engineer = open_as("engineer")
    _harbour_mixer(engineer, stack)
    wait_live(engineer)
    wait_live(producer)
    producer.get_by_role("button", name="New draft from Mix 2").click()
    mixer_p = producer.locator("#mixer")
    expect(mixer_p).to_have_attribute("data-state", "ready", timeout=SLOW)
    draft = mixer_p.get_attribute("data-mix")
    # The engineer's open page follows to the new draft by itself.
    mixer_e = engineer.locator("#mixer")
    expect(mixer_e).to_have_attribute("data-mix", draft or "", timeout=SLOW)
    expect(mixer_e).to_have_attribute("data-state", "ready", timeout=SLOW)
    expect(engineer.locator("#mix-name")).to_contain_text("Mix 3 (draft)")

    held: list[Any] = []

    def hold_put(route: Any) -> None:
        if route.request.method == "PUT" and not held:  # only the first save
            held.append(route)
        else:
            route.continue_()

    engineer.route("**/api/mixes/*/spec/", hold_put)
    _type(engineer, "tracks[0].gain_db", "-6")
    expect(mixer_e).to_have_attribute("data-save", "saving", timeout=SLOW)
    assert len(held) == 1
    _type(producer, "tracks[2].pan", "0.5")
    _saved(producer)
    held[0].continue_()
    expect(mixer_e).to_have_attribute("data-merged", "1", timeout=SLOW)
    _saved(engineer)

    tracks = _spec(engineer, draft or "")["spec"]["tracks"]
    assert tracks[0]["gain_db"] == pytest.approx(-6)
    assert tracks[2]["pan"] == pytest.approx(0.5)
    expect(engineer.locator('[data-path="tracks[2].pan"] .val')).to_have_text("R50")
    expect(_number(producer, "tracks[0].gain_db")).to_have_value("-6", timeout=SLOW)


def test_mixer_fits_a_phone(open_as: Any, stack: Any) -> None:
    """At 390 px the page does not scroll sideways: the strips and clips scroll in their boxes."""
    engineer = open_as("engineer", viewport={"width": 390, "height": 844})
    _harbour_mixer(engineer, stack)
    expect(engineer.locator("#mixer")).to_have_attribute("data-state", re.compile("ready|readonly"))
    assert engineer.evaluate("document.documentElement.scrollWidth") <= 390
    strips = engineer.locator("#strips")
    assert strips.evaluate("e => e.scrollWidth > e.clientWidth")
