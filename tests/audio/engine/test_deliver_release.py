"""The release spec: JSON round trip, every problem named by its JSON path, ISRC and UPC/EAN
rules (property tests), and the Red Book limits refused before any file is written."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audio.engine.deliver.codes import (
    catalog13,
    gs1_check_digit,
    isrc_normalise,
    isrc_problem,
    upc_problem,
)
from audio.engine.deliver.layout import plan
from audio.engine.deliver.redbook import CD_RATE, FRAME_SAMPLES, msf, msf_frames
from audio.engine.deliver.release import Release, ReleaseInvalid

pytestmark = pytest.mark.engine


def release(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "title": "Night Drive EP",
        "artist": "Ava",
        "upc": "036000291452",
        "label": "Demo Records",
        "p_line": "2026 Demo Records",
        "c_line": "2026 Demo Records",
        "artwork": "cover.jpg",
        "formats": ["wav", "cue", "ddp", "flac", "mp3", "qc"],
        "mp3_bitrate": 320,
        "tracks": [
            {
                "source": "masters/01.wav",
                "title": "Intro",
                "artist": "Ava",
                "isrc": "USRC17607839",
                "pregap_s": 2.0,
                "trim_start_s": 0.0,
                "trim_end_s": 0.0,
                "fade_in_s": 0.0,
                "fade_out_s": 0.0,
                "watermark_id": None,
            },
            {"source": "masters/02.wav", "title": "Drive", "isrc": "us-rc1-76-07840"},
        ],
    }
    data.update(changes)
    return data


def problems(data: Any) -> list[str]:
    with pytest.raises(ReleaseInvalid) as caught:
        Release.from_dict(data)
    return caught.value.problems


def test_the_contract_example_round_trips() -> None:
    """The release example of the deliver contract parses; dict and JSON round trips hold."""
    r = Release.from_dict(release())
    assert r.tracks[1].isrc == "USRC17607840"
    assert r.tracks[1].artist == "Ava"  # the release's artist by default
    assert r.tracks[1].pregap_s == 0.0 and r.tracks[0].pregap_s == 2.0
    assert Release.from_dict(r.to_dict()) == r
    assert Release.from_json(r.to_json()) == r
    assert json.loads(r.to_json())["tracks"][0]["isrc"] == "USRC17607839"


def test_every_problem_is_reported_with_its_path() -> None:
    bad = release(
        title="",
        upc="036000291453",
        formats=["wav", "zip", "wav"],
        mp3_bitrate=321,
        artwork="cover.gif",
        extra=1,
    )
    bad["tracks"][0].update(isrc="USRC1760783", pregap_s=1.0, fade_in_s=-1, watermark_id=7)
    bad["tracks"][1].update(isrc="USRC17607839", title=5, pregap_s=61)
    found = problems(bad)
    paths = {p.partition(": ")[0] for p in found}
    assert paths == {
        "extra",
        "title",
        "upc",
        "formats[1]",
        "formats[2]",
        "mp3_bitrate",
        "artwork",
        "tracks[0].isrc",
        "tracks[0].pregap_s",
        "tracks[0].fade_in_s",
        "tracks[0].watermark_id",
        "tracks[1].title",
        "tracks[1].pregap_s",
    }, found
    assert any("check digit" in p and "2 is expected" in p for p in found)
    assert any("2 s pregap" in p for p in found)


def test_duplicate_isrcs_are_refused_after_normalising() -> None:
    bad = release()
    bad["tracks"][1]["isrc"] = "us rc1 76 07839"
    assert problems(bad) == [
        "tracks[1].isrc: USRC17607839 is already the ISRC of tracks[0]: an ISRC identifies "
        "one recording"
    ]


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1]", '{"version": 2}', '{"version": 1, "title": "x", "artist": "y"}', "NaN"],
)
def test_malformed_json_is_a_release_invalid(text: str) -> None:
    with pytest.raises(ReleaseInvalid):
        Release.from_json(text)


def test_ninety_nine_tracks_at_most() -> None:
    many = [{"source": f"{i}.wav", "title": f"T{i}"} for i in range(100)]
    assert problems(release(tracks=many)) == [
        "tracks: 100 tracks is over the 99 a CD holds (Red Book)"
    ]
    Release.from_dict(release(tracks=many[:99]))


def test_track_lengths_against_the_red_book() -> None:
    """Under 4 s after trims, fades longer than the track, trims eating it all, and 79:57."""
    data = release()
    data["tracks"] = [
        {"source": "a.wav", "title": "A", "trim_start_s": 1.0},
        {"source": "b.wav", "title": "B", "fade_in_s": 3.0, "fade_out_s": 3.0},
        {"source": "c.wav", "title": "C", "trim_end_s": 10.0},
    ]
    r = Release.from_dict(data)
    with pytest.raises(ReleaseInvalid) as caught:
        r.check_lengths({0: 4 * CD_RATE + 100, 1: 5 * CD_RATE, 2: 5 * CD_RATE})
    found = caught.value.problems
    assert found[0].startswith("tracks[0]: 3.00 s after trims is shorter than the 4 s")
    assert found[1].startswith("tracks[1].fade_out_s: fades of 3 s and 3 s are longer")
    assert found[2].startswith("tracks[2].trim_start_s: trims of 0 s and 10 s leave nothing")
    r.check_lengths({0: 5 * CD_RATE, 1: 6 * CD_RATE, 2: 15 * CD_RATE})


def test_the_programme_may_last_79_57() -> None:
    tracks = [{"source": f"{i}.wav", "title": f"T{i}"} for i in range(2)]
    r = Release.from_dict(release(tracks=tracks))
    # 2 s pregap + two tracks: 79:57:00 exactly passes, one frame more does not
    limit = (79 * 60 + 57) * 75 - 150
    first = limit // 2
    r.check_lengths({0: first * FRAME_SAMPLES, 1: (limit - first) * FRAME_SAMPLES})
    with pytest.raises(ReleaseInvalid) as caught:
        r.check_lengths({0: first * FRAME_SAMPLES, 1: (limit - first) * FRAME_SAMPLES + 1})
    assert caught.value.problems == [
        "tracks: the programme lasts 79:57 with its pregaps, over the 79:57 a CD holds (Red Book)"
    ]


def test_layout_puts_every_start_and_length_on_a_cd_frame() -> None:
    data = release()
    data["tracks"][0].update(trim_start_s=0.5, pregap_s=2.013)
    data["tracks"][1].update(pregap_s=1.0)
    r = Release.from_dict(data)
    lengths = {0: 5 * CD_RATE + 17, 1: 6 * CD_RATE + 1}
    layout = plan(r, lengths)
    first, second = layout.tracks
    assert first.index00 == 0 and first.pregap == 151 * FRAME_SAMPLES
    assert first.kept == lengths[0] - CD_RATE // 2
    assert second.index00 == first.end and second.index01 == first.end + 75 * FRAME_SAMPLES
    for t in layout.tracks:
        assert t.index01 % FRAME_SAMPLES == 0 and t.samples % FRAME_SAMPLES == 0
        assert 0 <= t.samples - t.kept < FRAME_SAMPLES
    assert layout.samples == second.end


# --- codes ----------------------------------------------------------------------------------

digits = st.text(alphabet=string.digits, min_size=11, max_size=12)


@given(digits)
def test_a_gs1_code_with_its_check_digit_is_valid(body: str) -> None:
    code = body + str(gs1_check_digit(body))
    assert upc_problem(code) is None
    assert len(catalog13(code)) == 13 and catalog13(code).endswith(code)
    assert upc_problem(catalog13(code)) is None  # a leading zero keeps the check digit


@given(digits, st.integers(1, 9))
def test_any_other_last_digit_is_refused(body: str, shift: int) -> None:
    wrong = (gs1_check_digit(body) + shift) % 10
    assert "check digit" in (upc_problem(body + str(wrong)) or "")


@given(digits, st.integers(0, 11), st.integers(1, 9))
def test_a_single_digit_error_is_caught(body: str, where: int, shift: int) -> None:
    """Mod 10 with weights 3 and 1 catches every single-digit substitution."""
    code = body + str(gs1_check_digit(body))
    where %= len(code) - 1
    changed = code[:where] + str((int(code[where]) + shift) % 10) + code[where + 1 :]
    assert upc_problem(changed) is not None


def test_known_codes() -> None:
    assert upc_problem("036000291452") is None  # the UPC-A of GS1's example
    assert upc_problem("4006381333931") is None  # an EAN-13
    assert upc_problem("0360-0029-1452") is None
    assert "12 or 13 digits" in (upc_problem("12345") or "")
    assert "12 or 13 digits" in (upc_problem("03600029145x") or "")


isrc_parts = st.tuples(
    st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=3, max_size=3),
    st.text(alphabet=string.digits, min_size=7, max_size=7),
)


@given(isrc_parts, st.sampled_from(["", "-", " "]), st.booleans())
def test_isrcs_are_normalised(parts: tuple[str, str, str], sep: str, lower: bool) -> None:
    cc, reg, rest = parts
    text = sep.join([cc, reg, rest[:2], rest[2:]])
    text = text.lower() if lower else text
    assert isrc_problem(text) is None
    assert isrc_normalise(text) == cc + reg + rest


@given(isrc_parts, st.integers(0, 11), st.sampled_from(["#", "Ä", "1", "A"]))
def test_a_broken_isrc_is_refused(parts: tuple[str, str, str], where: int, bad: str) -> None:
    code = "".join(parts)
    changed = code[:where] + bad + code[where + 1 :]
    valid = (
        changed[:2].isalpha()
        and changed[:2].isascii()
        and changed[2:5].isalnum()
        and changed[2:5].isascii()
        and changed[5:].isdigit()
    )
    assert (isrc_problem(changed) is None) == valid
    assert isrc_problem(code[:-1]) is not None and isrc_problem(code + "1") is not None


def test_cd_times() -> None:
    assert msf(0) == "00:00:00" and msf(150) == "00:02:00" and msf(75 * 60 * 80 + 74) == "80:00:74"
    assert all(msf_frames(msf(f)) == f for f in (0, 1, 74, 75, 4499, 4500, 359774))
