"""The mix spec: JSON round trip, and a validator that names every problem by its JSON path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from audio.engine.render import MixSpec, SpecInvalid, resampled_frames
from audio.engine.render.spec import Clip

pytestmark = pytest.mark.engine

EXAMPLE: dict[str, Any] = {
    "version": 1,
    "sample_rate": 48000,
    "length": 11520000,
    "tracks": [
        {
            "id": "vox",
            "gain_db": -3.0,
            "pan": -0.2,
            "mute": False,
            "solo": False,
            "polarity_invert": False,
            "output": "master",
            "fx": [
                {"type": "HighpassFilter", "cutoff_frequency_hz": 90},
                {"type": "Compressor", "threshold_db": -18, "ratio": 3},
            ],
            "sends": [{"bus": "verb", "level_db": -12.0, "pre_fader": False}],
            "automation": {"gain_db": [[0, 0.0], [480000, -6.0]], "pan": [[0, -0.2]]},
            "clips": [
                {
                    "source": "stems/vox.wav",
                    "start": 96000,
                    "source_in": 0,
                    "length": 4800000,
                    "gain_db": 0.0,
                    "reverse": False,
                    "stretch": 1.0,
                    "pitch_semitones": 0.0,
                    "fade_in": {"length": 480, "shape": "linear"},
                    "fade_out": {"length": 4800, "shape": "equal_power"},
                }
            ],
        }
    ],
    "buses": [
        {
            "id": "verb",
            "gain_db": 0.0,
            "pan": 0.0,
            "mute": False,
            "output": "master",
            "fx": [{"type": "Reverb", "room_size": 0.6, "wet_level": 1.0, "dry_level": 0.0}],
        }
    ],
    "master": {"gain_db": 0.0, "fx": []},
}


def problems(data: Any) -> list[str]:
    with pytest.raises(SpecInvalid) as caught:
        MixSpec.from_dict(data)
    assert caught.value.code == "render.spec_invalid"
    assert str(caught.value) == caught.value.problems[0]
    return caught.value.problems


def edited(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    for path, value in changes.items():
        target: Any = data
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        target[int(last) if last.isdigit() else last] = value
    return data


def test_the_example_round_trips() -> None:
    spec = MixSpec.from_dict(EXAMPLE)
    assert MixSpec.from_dict(spec.to_dict()) == spec
    assert MixSpec.from_json(spec.to_json()) == spec
    assert spec.to_json() == MixSpec.from_json(json.dumps(EXAMPLE)).to_json()
    assert spec.tracks[0].fx[1].param_dict() == {"threshold_db": -18.0, "ratio": 3.0}
    assert spec.tracks[0].clips[0].timeline_length() == 4800000
    assert spec.bus_order() == ["verb"]


def test_every_problem_is_reported_with_its_path() -> None:
    data = edited(
        tracks__0__fx__1__ratio=0.5,
        tracks__0__pan=1.5,
        tracks__0__clips__0__stretch=5,
        tracks__0__clips__0__pitch_semitones=-30,
        tracks__0__clips__0__fade_in={"length": 10, "shape": "cubic"},
    )
    found = problems(data)
    assert found == [
        "tracks[0].pan: 1.5 is outside -1 to 1",
        "tracks[0].fx[1].ratio: 0.5 is outside 1-100",
        "tracks[0].clips[0].stretch: 5 is outside 0.25-4",
        "tracks[0].clips[0].pitch_semitones: -30 is outside -24 to 24",
        'tracks[0].clips[0].fade_in.shape: "cubic" is not one of linear, equal_power, '
        "s_curve, exponential",
    ]
    with pytest.raises(SpecInvalid) as caught:
        MixSpec.from_dict(data)
    assert caught.value.fields["tracks[0].fx[1].ratio"] == ["0.5 is outside 1-100"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"tracks__0__fx__0__type": "Flanger"},
            'tracks[0].fx[0].type: "Flanger" is not an allowed',
        ),
        (
            {"tracks__0__fx__1__knee_db": 3},
            "tracks[0].fx[1].knee_db: unknown parameter of Compressor",
        ),
        (
            {"tracks__0__fx__0__cutoff_frequency_hz": 30000},
            "tracks[0].fx[0].cutoff_frequency_hz: 30000 is not below half the sample rate",
        ),
        ({"buses__0__fx__0__room_size": 2}, "buses[0].fx[0].room_size: 2 is outside 0-1"),
        ({"version": 2}, "version: 2 is not a known version"),
        ({"sample_rate": 4000}, "sample_rate: 4000 is outside 8000-192000"),
        ({"sample_rate": 384000}, "sample_rate: 384000 is outside 8000-192000"),
        ({"length": 48000 * 3600 * 10}, "length: 1728000000 frames is 10.0 hours at 48000 Hz"),
        ({"tracks__0__clips__0__source": ""}, "tracks[0].clips[0].source: "),
        ({"tracks__0__output": "drums"}, 'tracks[0].output: "drums" is neither'),
        ({"tracks__0__sends__0__bus": "nope"}, 'tracks[0].sends[0].bus: "nope" is not a bus'),
        ({"tracks__0__id": "verb"}, 'buses[0].id: "verb" is already the id of tracks[0]'),
        ({"tracks__0__volume": 1}, "tracks[0].volume: unknown field of a track"),
        ({"tracks__0__mute": "yes"}, 'tracks[0].mute: "yes" is not true or false'),
        ({"tracks__0__clips__0__start": -5}, "tracks[0].clips[0].start: -5 is outside"),
        ({"tracks__0__clips__0__start": 1.5}, "tracks[0].clips[0].start: 1.5 is not a whole"),
        (
            {"tracks__0__clips__0__fade_out": {"length": 4799999, "shape": "linear"}},
            "tracks[0].clips[0].fade_out.length: fades of 480 + 4799999 frames are longer",
        ),
        (
            {"tracks__0__automation": {"gain_db": [[100, 0.0], [50, -3.0]]}},
            "tracks[0].automation.gain_db[1].frame: 50 is not after the previous point's",
        ),
        (
            {"tracks__0__automation": {"pan": [[-1, 0.0]]}},
            "tracks[0].automation.pan[0].frame: -1 is outside",
        ),
        (
            {"tracks__0__automation": {"pan": [[0, 3.0]]}},
            "tracks[0].automation.pan[0].value: 3 is outside -1 to 1",
        ),
        ({"tracks__0__fx": [{"type": "Gain"}] * 11}, "tracks[0].fx: 11 effects is over the limit"),
        ({"master": {"gain_db": float("nan")}}, "master.gain_db: NaN is not a finite number"),
        ({"buses__0__solo": True}, "buses[0].solo: unknown field of a bus"),
    ],
)
def test_each_kind_of_problem(changes: dict[str, Any], expected: str) -> None:
    found = problems(edited(**changes))
    assert any(p.startswith(expected) for p in found), found


def test_limits_are_sentences() -> None:
    """1,000 tracks and a 10-hour length are refused at once, in words, without a flood."""
    track = EXAMPLE["tracks"][0]
    found = problems({**EXAMPLE, "tracks": [dict(track, id=f"t{i}") for i in range(1000)]})
    assert found == ["tracks: 1000 tracks is over the limit of 128"]
    many = [dict(track, id=f"t{i}", clips=[track["clips"][0]] * 100) for i in range(11)]
    assert "tracks: 1100 clips in all is over the limit of 1000" in problems(
        {**EXAMPLE, "tracks": many}
    )
    long = problems({**EXAMPLE, "length": 48000 * 36000})
    assert long == ["length: 1728000000 frames is 10.0 hours at 48000 Hz, over the 60-minute limit"]


def test_bus_cycles() -> None:
    buses = [
        {"id": "a", "output": "b"},
        {"id": "b", "sends": [{"bus": "c"}]},
        {"id": "c", "output": "a"},
        {"id": "d", "output": "d"},
    ]
    found = problems({"version": 1, "sample_rate": 48000, "buses": buses})
    assert "buses[2]: a bus cycle: a -> b -> c -> a (a bus may not feed itself)" in found
    assert "buses[3]: a bus cycle: d -> d (a bus may not feed itself)" in found
    ok = MixSpec.from_dict(
        {
            "version": 1,
            "sample_rate": 48000,
            "buses": [
                {"id": "x", "output": "y"},
                {"id": "y"},
                {"id": "z", "sends": [{"bus": "x"}]},
            ],
        }
    )
    order = ok.bus_order()
    assert order.index("z") < order.index("x") < order.index("y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"version": 1,', "spec: malformed JSON at line 1 column 15"),
        ("[1, 2]", "spec: [1, 2] is not a mix spec"),
        ('{"version": 1, "sample_rate": NaN}', "spec: NaN is not a number JSON allows"),
        (b"\xff\xfe", "spec: "),
        ('{"sample_rate": 48000}', "version: is required"),
    ],
)
def test_malformed_json(text: str | bytes, expected: str) -> None:
    with pytest.raises(SpecInvalid) as caught:
        MixSpec.from_json(text)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_clips_against_their_sources() -> None:
    """Step two: a clip past its source's end names the clip and both lengths; a source that
    could not be read is named on every clip that uses it."""
    spec = MixSpec.from_dict(EXAMPLE)
    with pytest.raises(SpecInvalid) as caught:
        spec.check_sources({"stems/vox.wav": 4000000})
    assert caught.value.problems == [
        "tracks[0].clips[0].length: the clip needs source frames 0 to 4800000 (4800000 frames) "
        'but "stems/vox.wav" has 4000000 frames at 48000 Hz'
    ]
    with pytest.raises(SpecInvalid, match=r"tracks\[0\]\.clips\[0\]\.source: .* not a known"):
        spec.check_sources({})
    with pytest.raises(SpecInvalid, match=r"tracks\[0\]\.clips\[0\]\.source: file not found"):
        spec.check_sources({}, {"stems/vox.wav": "file not found"})
    spec.check_sources({"stems/vox.wav": 4800000})


def test_a_clip_without_length_plays_to_the_source_end() -> None:
    clip = Clip(source="x", start=0, source_in=100, stretch=2.0)
    assert clip.timeline_length(1100) == 2000
    assert resampled_frames(44100, 44100, 48000) == 48000
    assert resampled_frames(1, 48000, 44100) == 1


def test_a_stretched_clip_is_at_most_20_minutes() -> None:
    """Rubber Band holds a stretched clip whole: its length is capped to bound memory."""
    data = edited(tracks__0__clips__0__stretch=1.01, length=None)
    data["tracks"][0]["clips"][0].pop("length")
    spec = MixSpec.from_dict(data)
    with pytest.raises(SpecInvalid) as caught:
        spec.check_sources({"stems/vox.wav": 48000 * 60 * 21})
    assert caught.value.problems[0].startswith(
        "tracks[0].clips[0].stretch: a stretched or pitched clip is processed whole, so it may "
        "be at most 20 minutes long (this one is 21.0 minutes at 48000 Hz)"
    )
