"""The mixer's routing, automation and clip editing, in the browser: an engineer sends a track
to the reverb bus (post-fader, then pre), adds a bus and routes a track and the reverb into it
(a loop is refused by the page), draws volume automation by clicking, dragging and deleting
points and typing their numbers, puts a pan point by keyboard alone, adds a clip from a take,
drags it, removes the original, and renders. The rendered version's spec is the draft's
starting spec with exactly those changes; the artist's open mixer followed each of them live.
A second test makes two editors close a bus loop at once: the server refuses the merged save
and its sentence stands by the routing control; removing a bus takes its routing with it.
Waits are on states the page promises, never sleeps.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from playwright.sync_api import expect

from audio.demo import RATE, synth_stems
from tests.e2e.conftest import PHONE, WIDE
from tests.e2e.test_journeys import assert_not_reloaded, mark, wait_live
from tests.e2e.test_mixer import SLOW, _number, _saved, _spec, _type, _upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SECONDS = 6
SONG = "Tide Table"


@pytest.fixture(scope="module")
def tide_stems(tmp_path_factory: Any) -> dict[str, Path]:
    """Drums, bass and keys as stems and the lead line as a take, 6 s each."""
    folder = tmp_path_factory.mktemp("routing-stems")
    out = {}
    for name, samples in synth_stems().items():
        path = folder / f"tide-{name.replace(' ', '-')}.wav"
        sf.write(path, samples[:, : RATE * SECONDS].T, RATE, subtype="PCM_16")
        out[name] = path
    return out


def _select(page: Any, path: str) -> Any:
    return page.locator(f'[data-path="{path}"] > select')


def _error(page: Any, path: str) -> Any:
    return page.locator(f'[data-path="{path}"] > .ctl-err')


def _open_mixer(page: Any, stack: Any) -> None:
    page.goto(f"/p/{stack.data['project']}/")
    link = page.get_by_role("link", name=SONG).first
    if not link.count():
        pytest.skip("needs the song of the routing journey (run the module)")
    link.click()
    page.get_by_role("link", name="Open the mixer").click()


# Every control of the mixer a person can reach has a name: a <label>, aria-label or its text.
UNNAMED = """() => [...document.querySelectorAll(
    "#mixer button, #mixer input, #mixer select, #mixer [tabindex='0']")]
  .filter((e) => e.offsetParent !== null && e.tabIndex >= 0)
  .filter((e) => !(e.getAttribute("aria-label") || "").trim()
    && !(e.labels && e.labels.length)
    && !(e.tagName === "BUTTON" && e.textContent.trim()))
  .map((e) => e.outerHTML.slice(0, 120))"""


def _unnamed(page: Any) -> list[str]:
    return list(page.evaluate(UNNAMED))


def _box(locator: Any) -> dict[str, float]:
    """The element's box, read in one step in the page (a redraw, when a waveform's peaks
    arrive, replaces the element between two steps)."""
    return dict(
        locator.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height}; }"
        )
    )


def _fits(page: Any) -> None:
    """Nothing but the boxes meant to scroll sideways is wider than the phone."""
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for box in ("#timeline", "#strips"):
        assert page.locator(box).evaluate("e => e.scrollWidth > e.clientWidth"), box
    page.set_viewport_size(WIDE)


def test_sends_buses_routing_automation_and_clips_render_exactly(
    open_as: Any, stack: Any, shot: Any, tide_stems: dict[str, Path]
) -> None:
    pid = stack.data["project"]
    producer = open_as("producer")
    producer.goto(f"/p/{pid}/")
    producer.locator("summary", has_text="New song").click()
    producer.fill("#song-title", SONG)
    producer.get_by_role("button", name="Create song").click()
    expect(producer.get_by_role("heading", name=SONG, exact=True)).to_be_visible(timeout=SLOW)

    engineer = open_as("engineer")
    engineer.goto(producer.url)
    wait_live(engineer)
    for name in ("drums", "bass", "keys"):
        _upload(engineer, "stem", name, tide_stems[name])
    _upload(engineer, "take", "lead", tide_stems["lead vocal"])
    engineer.get_by_role("link", name="Open the mixer").click()
    mixer = engineer.locator("#mixer")
    expect(mixer).to_have_attribute("data-state", "empty")  # the script is listening
    engineer.get_by_role("button", name="Start a mix from the stems").click()
    expect(mixer).to_have_attribute("data-state", "ready", timeout=SLOW)
    mix_id = mixer.get_attribute("data-mix") or ""
    before = _spec(engineer, mix_id)["spec"]
    assert [t["id"] for t in before["tracks"]] == ["drums", "bass", "keys"]
    assert [b["id"] for b in before["buses"]] == ["verb"]  # the reverb bus, by default
    assert before["buses"][0]["fx"][0]["type"] == "Reverb"
    rate = before["sample_rate"]
    expected = copy.deepcopy(before)
    wait_live(engineer)

    artist = open_as("artist")
    artist.goto(engineer.url)
    expect(artist.locator("#mixer")).to_have_attribute("data-state", "readonly", timeout=SLOW)
    wait_live(artist)
    mark(artist)
    assert artist.locator("[data-send-add], #bus-add-btn, #clip-add-btn").count() == 0

    # Sends: the drums' send to the reverb removed, added again (post-fader at -12 dB), raised
    # to -9 dB, then switched to pre-fader.
    drums = engineer.locator('.strip[data-track="drums"]')
    drums.get_by_role("button", name="Remove the send to verb").click()
    expect(drums.locator(".send")).to_have_count(0)
    drums.get_by_label("Bus for a new send from drums").select_option("verb")
    drums.get_by_role("button", name="Add a send from drums").click()
    pre = drums.get_by_role("button", name="Pre-fader send to verb")
    expect(pre).to_have_attribute("aria-pressed", "false")
    _saved(engineer)
    sends = _spec(engineer, mix_id)["spec"]["tracks"][0]["sends"]
    assert sends == [{"bus": "verb", "level_db": -12.0, "pre_fader": False}]
    _type(engineer, "tracks[0].sends[0].level_db", "-9")
    pre.click()
    expect(pre).to_have_attribute("aria-pressed", "true")
    expect(pre).to_be_focused()  # the redraw gives the focus back
    expected["tracks"][0]["sends"] = [{"bus": "verb", "level_db": -9.0, "pre_fader": True}]
    _saved(engineer)

    # A bus: a taken name is refused by its field; "room" is added as a strip of its own.
    engineer.fill("#bus-add-name", "verb")
    engineer.locator("#bus-add-btn").click()
    expect(_error(engineer, "buses-add")).to_contain_text("already the name")
    engineer.fill("#bus-add-name", "room")
    engineer.locator("#bus-add-btn").click()
    room = engineer.locator('.strip[data-bus="room"]')
    expect(room).to_be_visible()
    expect(_error(engineer, "buses-add")).to_have_text("")
    expected["buses"].append(
        {
            "id": "room",
            "gain_db": 0.0,
            "pan": 0.0,
            "mute": False,
            "output": "master",
            "fx": [],
            "sends": [],
            "automation": {"gain_db": [], "pan": []},
        }
    )

    # Routing: the bass into the room, the reverb into the room; the room into the reverb
    # would be a loop, refused with the loop spelled out, the select back on the master.
    _select(engineer, "tracks[1].output").select_option("room")
    _select(engineer, "buses[0].output").select_option("room")
    expected["tracks"][1]["output"] = "room"
    expected["buses"][0]["output"] = "room"
    _saved(engineer)
    _select(engineer, "buses[1].output").select_option("verb")
    expect(_error(engineer, "buses[1].output")).to_contain_text("room → verb → room")
    expect(_select(engineer, "buses[1].output")).to_have_value("master")
    expect(_select(engineer, "buses[1].output")).to_have_attribute("aria-invalid", "true")
    assert _spec(engineer, mix_id)["spec"]["buses"][1]["output"] == "master"
    # A send closing the same loop is refused by the send's own row.
    room.get_by_label("Bus for a new send from room").select_option("verb")
    room.get_by_role("button", name="Add a send from room").click()
    expect(_error(engineer, "buses[1].sends-add")).to_contain_text("room → verb → room")
    expect(room.locator(".send")).to_have_count(0)

    # Volume automation on the keys: two points by clicking the lane, the second dragged 1 s
    # later, the first deleted with the keyboard, the last one's numbers typed.
    zoom = int(mixer.get_attribute("data-zoom") or 0)
    assert zoom > 0
    engineer.get_by_role("button", name="Automation of keys").click()
    lane = engineer.locator("#auto-2-gain_db")
    expect(lane).to_be_visible()
    lane.click(position={"x": 1 * zoom, "y": 10})
    lane.click(position={"x": 3 * zoom, "y": 30})
    points = lane.locator(".auto-pt")
    expect(points).to_have_count(2)
    second = points.nth(1)
    box = _box(second)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    engineer.mouse.move(x, y)
    engineer.mouse.down()
    engineer.mouse.move(x + zoom, y, steps=4)
    engineer.mouse.up()
    _saved(engineer)
    saved = _spec(engineer, mix_id)["spec"]["tracks"][2]["automation"]["gain_db"]
    assert len(saved) == 2
    assert saved[0][0] == pytest.approx(rate, abs=rate / zoom)
    assert saved[1][0] == pytest.approx(4 * rate, abs=rate / zoom)
    assert saved[0][1] > saved[1][1]  # higher in the lane is louder
    points.first.focus()
    engineer.keyboard.press("Delete")
    expect(points).to_have_count(1)
    points.first.click()
    expect(engineer.locator("#auto-editor")).to_contain_text("Volume point 1 of keys")
    _type(engineer, "tracks[2].automation.gain_db[0].frame", "2.5")
    _type(engineer, "tracks[2].automation.gain_db[0].value", "-6")
    expect(points.first).to_have_attribute("aria-valuetext", "-6.0 dB at 0:02.5")
    expected["tracks"][2]["automation"]["gain_db"] = [[round(2.5 * rate), -6.0]]
    _saved(engineer)
    # A pan point by keyboard alone: "+" puts one at the playhead (0 s), ↑ twice moves it right.
    engineer.get_by_role("button", name="Add a pan point to keys at the playhead").focus()
    engineer.keyboard.press("Enter")
    pan_point = engineer.locator("#auto-2-pan .auto-pt")
    expect(pan_point).to_have_count(1)
    expect(pan_point).to_be_focused()
    engineer.keyboard.press("ArrowUp")
    engineer.keyboard.press("ArrowUp")
    expect(pan_point).to_have_attribute("aria-valuetext", "R10 at 0:00.0")
    expect(pan_point).to_be_focused()
    pan_label = engineer.locator('[data-path="tracks[2].pan"] > label')
    expect(pan_label).to_contain_text("Pan (automated)")
    expected["tracks"][2]["automation"]["pan"] = [[0, 0.1]]
    _saved(engineer)

    # Clips: the lead take added to the keys at 1.5 s, dragged 1 s later, then typed to 3 s;
    # the keys' own clip removed.
    take = engineer.locator("#clip-add-source option", has_text="lead · take 1")
    take_source = take.get_attribute("value") or ""
    assert take_source.startswith("take:")
    engineer.locator("#clip-add-track").select_option(label="keys")
    engineer.locator("#clip-add-source").select_option(take_source)
    engineer.fill("#clip-add-start", "1.5")
    engineer.get_by_role("button", name="Add clip").click()
    added = engineer.locator('.clip[data-clip="keys:1"]')
    expect(added).to_be_visible()
    expect(_number(engineer, "tracks[2].clips[1].start")).to_have_value("1.5")
    box = _box(added)
    engineer.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2)
    engineer.mouse.down()
    engineer.mouse.move(box["x"] + 60 + zoom, box["y"] + box["height"] / 2, steps=4)
    engineer.mouse.up()
    expect(_number(engineer, "tracks[2].clips[1].start")).to_have_value("2.5")
    _saved(engineer)
    assert _spec(engineer, mix_id)["spec"]["tracks"][2]["clips"][1]["start"] == round(2.5 * rate)
    _type(engineer, "tracks[2].clips[1].start", "3")
    engineer.locator('.clip[data-clip="keys:0"]').click(position={"x": 30, "y": 25})
    engineer.get_by_role("button", name="Remove clip").click()
    expect(engineer.locator('[data-lane="keys"] .clip')).to_have_count(1)
    expect(engineer.locator('.clip[data-clip="keys:0"]')).to_have_attribute(
        "aria-label", re.compile(r"lead · take 1 at 0:03\.0")
    )
    expected["tracks"][2]["clips"] = [
        {
            "source": take_source,
            "start": 3 * rate,
            "source_in": 0,
            "length": None,
            "gain_db": 0.0,
            "reverse": False,
            "stretch": 1.0,
            "pitch_semitones": 0.0,
            "fade_in": {"length": 0, "shape": "linear"},
            "fade_out": {"length": 0, "shape": "linear"},
        }
    ]
    _saved(engineer)
    assert _spec(engineer, mix_id)["spec"] == expected
    engineer.locator("#auto-2-gain_db .auto-pt").first.click()
    assert _unnamed(engineer) == []
    shot(engineer, "mixer-routing-automation")
    _fits(engineer)

    # The artist's open mixer followed everything, without a reload.
    expect(artist.locator('.strip[data-bus="room"]')).to_be_visible(timeout=SLOW)
    expect(_select(artist, "tracks[1].output")).to_have_value("room", timeout=SLOW)
    expect(_select(artist, "buses[0].output")).to_have_value("room")
    expect(artist.locator('.strip[data-track="drums"] [data-send-pre="verb"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(artist.locator("#auto-2-gain_db .auto-pt")).to_have_count(1)
    artist_pan = artist.locator("#auto-2-pan .auto-pt")
    expect(artist_pan).to_have_attribute("aria-valuetext", "R10 at 0:00.0")
    expect(artist.locator('.clip[data-clip="keys:0"]')).to_contain_text("lead · take 1")
    expect(artist.locator('[data-lane="keys"] .clip')).to_have_count(1)
    assert_not_reloaded(artist)
    shot(artist, "mixer-routing-artist")

    # Rendered: the version's spec is the draft's first spec with exactly these changes.
    engineer.get_by_role("button", name="Render Mix 1 (draft)").click()
    engineer.wait_for_url(re.compile(rf"/mixes/{mix_id}/$"), timeout=120_000)
    rendered = _spec(engineer, mix_id)
    assert rendered["spec"] == expected
    expect(artist.locator("#mixer")).to_have_attribute("data-state", "rendered", timeout=SLOW)


@pytest.mark.allow_console(r"status of 412", r"status of 400 \(Bad Request\)")
def test_two_editors_closing_a_bus_loop_see_the_servers_refusal_by_the_routing(
    open_as: Any, stack: Any, shot: Any
) -> None:
    """Each editor's page allows its own step (no loop in what it knows); merged, the two
    steps close verb -> room -> verb, and the server's sentence stands by the room's output."""
    producer = open_as("producer")
    _open_mixer(producer, stack)
    engineer = open_as("engineer")
    _open_mixer(engineer, stack)
    wait_live(engineer)
    wait_live(producer)
    producer.get_by_role("button", name="New draft from Mix 1").click()
    mixer_p = producer.locator("#mixer")
    expect(mixer_p).to_have_attribute("data-state", "ready", timeout=SLOW)
    draft = mixer_p.get_attribute("data-mix") or ""
    mixer_e = engineer.locator("#mixer")
    expect(mixer_e).to_have_attribute("data-mix", draft, timeout=SLOW)
    expect(mixer_e).to_have_attribute("data-state", "ready", timeout=SLOW)
    # Mix 1 sent the reverb into the room: back to the master first.
    _select(engineer, "buses[0].output").select_option("master")
    _saved(engineer)
    expect(_select(producer, "buses[0].output")).to_have_value("master", timeout=SLOW)

    held: list[Any] = []

    def hold_put(route: Any) -> None:
        if route.request.method == "PUT" and not held:
            held.append(route)
        else:
            route.continue_()

    engineer.route("**/api/mixes/*/spec/", hold_put)
    _select(engineer, "buses[0].output").select_option("room")
    expect(mixer_e).to_have_attribute("data-save", "saving", timeout=SLOW)
    _select(producer, "buses[1].output").select_option("verb")
    _saved(producer)
    held[0].continue_()
    expect(mixer_e).to_have_attribute("data-save", "error", timeout=SLOW)
    message = _error(engineer, "buses[1].output")
    expect(message).to_have_text("a bus cycle: verb -> room -> verb (a bus may not feed itself)")
    expect(_select(engineer, "buses[1].output")).to_have_attribute("aria-invalid", "true")
    assert _spec(engineer, draft)["spec"]["buses"][0]["output"] == "master"
    shot(engineer, "mixer-loop-refused")
    # The engineer undoes their step: saved, and the message goes.
    _select(engineer, "buses[0].output").select_option("master")
    _saved(engineer)
    expect(message).to_have_text("")
    spec = _spec(engineer, draft)["spec"]
    assert [b["output"] for b in spec["buses"]] == ["master", "verb"]

    # The room removed: what went into it (the bass) goes to the master, nothing sends to it.
    engineer.get_by_role("button", name="Remove bus room").click()
    expect(engineer.locator('.strip[data-bus="room"]')).to_have_count(0)
    expect(engineer.locator("#mixer-status")).to_contain_text("1 channel now goes to the master")
    _saved(engineer)
    spec = _spec(engineer, draft)["spec"]
    assert [b["id"] for b in spec["buses"]] == ["verb"]
    assert [t["output"] for t in spec["tracks"]] == ["master", "master", "master"]
    expect(_select(producer, "tracks[1].output")).to_have_value("master", timeout=SLOW)
