"""The release spec: typed, frozen, JSON round trip, and a validator that reports every problem.

As with the mix spec (``audio.engine.render.spec``), a release is checked in two steps, each
collecting every problem as ``"<json path>: <sentence>"`` into one ``ReleaseInvalid``.
``Release.from_dict`` checks the structure alone: types and ranges, ISRCs (normalised, valid,
unique), the UPC/EAN's GS1 check digit, 1-99 tracks and the first track's 2 s pregap.
``Release.check_lengths`` then holds the tracks, at their lengths after resampling to 44.1 kHz,
to the Red Book: trims and fades that fit, 4 s or more a track, 79:57 in all. Both run before any
file is written. Times in the JSON are seconds; the engine places them on 588-sample CD frames
(``audio.engine.deliver.layout``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audio.engine.deliver.codes import isrc_normalise, isrc_problem, upc_normalise, upc_problem
from audio.engine.deliver.redbook import (
    CD_RATE,
    FRAME_SAMPLES,
    MAX_PROGRAMME_FRAMES,
    MAX_TRACKS,
    MIN_FIRST_PREGAP_FRAMES,
    MIN_TRACK_S,
    clock,
    frames_of_seconds,
)
from audio.engine.errors import AudioError
from audio.engine.render.checks import Checker, show

RELEASE_VERSION = 1
FORMATS = ("wav", "cue", "ddp", "flac", "mp3", "qc")
MP3_BITRATES = (128, 160, 192, 224, 256, 320)  # LAME constant bit rates a store accepts
MAX_PREGAP_S = 60.0
MAX_TRIM_S = 3600.0
MAX_FADE_S = 60.0
MAX_TEXT = 200
ARTWORK_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
FIRST_PREGAP_S = 2.0  # the first track's default (and least) pregap

_RELEASE_KEYS = (
    "version",
    "title",
    "artist",
    "upc",
    "label",
    "p_line",
    "c_line",
    "artwork",
    "formats",
    "mp3_bitrate",
    "tracks",
)
_TRACK_KEYS = (
    "source",
    "title",
    "artist",
    "isrc",
    "pregap_s",
    "trim_start_s",
    "trim_end_s",
    "fade_in_s",
    "fade_out_s",
    "watermark_id",
)


class ReleaseInvalid(AudioError):
    """A release that cannot be delivered: ``problems`` lists every one as "path: sentence";
    the message is the first, ``fields`` maps each path to its sentences (for a 400)."""

    code = "deliver.release_invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        if not problems:
            raise ValueError("ReleaseInvalid needs at least one problem")
        super().__init__(problems[0])
        self.problems = list(problems)

    @property
    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            path, _, sentence = problem.partition(": ")
            out.setdefault(path, []).append(sentence)
        return out

    def one_line(self) -> str:
        """The first problem, and how many more there are, on one line."""
        more = len(self.problems) - 1
        text = self.problems[0].replace("\n", " ")
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        return text


@dataclass(frozen=True)
class ReleaseTrack:
    source: str
    title: str
    artist: str
    isrc: str | None = None  # normalised: 12 characters, no separators
    pregap_s: float = 0.0
    trim_start_s: float = 0.0
    trim_end_s: float = 0.0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    watermark_id: int | None = None

    @property
    def pregap_frames(self) -> int:
        """The pregap in CD frames (nearest)."""
        return frames_of_seconds(self.pregap_s)

    def samples(self, seconds: float) -> int:
        return round(seconds * CD_RATE)


@dataclass(frozen=True)
class Release:
    title: str
    artist: str
    tracks: tuple[ReleaseTrack, ...]
    upc: str | None = None  # digits only, 12 or 13
    label: str = ""
    p_line: str = ""
    c_line: str = ""
    artwork: str | None = None
    formats: tuple[str, ...] = FORMATS
    mp3_bitrate: int = 320
    version: int = RELEASE_VERSION

    # -- JSON ----------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str | bytes) -> Release:
        """Parse and check the structure; malformed JSON is a ``ReleaseInvalid`` too."""
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except UnicodeDecodeError as exc:
            raise ReleaseInvalid([f"release: not UTF-8 text ({exc.reason})"]) from None
        except json.JSONDecodeError as exc:
            raise ReleaseInvalid(
                [f"release: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"]
            ) from None
        except ValueError as exc:
            raise ReleaseInvalid([f"release: {exc}"]) from None
        except RecursionError:
            raise ReleaseInvalid(["release: JSON nested too deeply"]) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Release:
        """Check everything that needs no audio; raise ``ReleaseInvalid`` listing every problem."""
        check = Checker()
        fields = _parse_release(check, data)
        if check.problems or fields is None:
            raise ReleaseInvalid(check.problems or ["release: not a release"])
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, every field explicit; ``from_dict(to_dict())`` gives an equal release."""
        return {
            "version": self.version,
            "title": self.title,
            "artist": self.artist,
            "upc": self.upc,
            "label": self.label,
            "p_line": self.p_line,
            "c_line": self.c_line,
            "artwork": self.artwork,
            "formats": list(self.formats),
            "mp3_bitrate": self.mp3_bitrate,
            "tracks": [
                {
                    "source": t.source,
                    "title": t.title,
                    "artist": t.artist,
                    "isrc": t.isrc,
                    "pregap_s": t.pregap_s,
                    "trim_start_s": t.trim_start_s,
                    "trim_end_s": t.trim_end_s,
                    "fade_in_s": t.fade_in_s,
                    "fade_out_s": t.fade_out_s,
                    "watermark_id": t.watermark_id,
                }
                for t in self.tracks
            ],
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): equal releases give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    # -- step two ------------------------------------------------------------------------------

    def check_lengths(self, lengths: Mapping[int, int], errors: Mapping[int, str] = {}) -> None:
        """Each track's source length in samples at 44.1 kHz (by track index) against its trims,
        fades and the Red Book limits; ``errors`` maps a track whose source could not be read
        to why. Raises ``ReleaseInvalid`` with every problem found."""
        problems: list[str] = []
        total = 0
        for i, track in enumerate(self.tracks):
            path = f"tracks[{i}]"
            if i in errors:
                problems.append(f"{path}.source: {errors[i]}")
                continue
            have = lengths[i]
            trims = track.samples(track.trim_start_s) + track.samples(track.trim_end_s)
            kept = have - trims
            secs = have / CD_RATE
            if kept <= 0:
                problems.append(
                    f"{path}.trim_start_s: trims of {track.trim_start_s:g} s and "
                    f"{track.trim_end_s:g} s leave nothing of {show(track.source)} ({secs:.2f} s)"
                )
                continue
            if kept < MIN_TRACK_S * CD_RATE:
                problems.append(
                    f"{path}: {kept / CD_RATE:.2f} s after trims is shorter than the "
                    f"{MIN_TRACK_S} s a CD track must last (Red Book)"
                )
            fades = track.samples(track.fade_in_s) + track.samples(track.fade_out_s)
            if fades > kept:
                problems.append(
                    f"{path}.fade_out_s: fades of {track.fade_in_s:g} s and "
                    f"{track.fade_out_s:g} s are longer than the track ({kept / CD_RATE:.2f} s)"
                )
            total += track.pregap_frames + -(-kept // FRAME_SAMPLES)
        if total > MAX_PROGRAMME_FRAMES:
            problems.append(
                f"tracks: the programme lasts {clock(total)} with its pregaps, over the "
                f"{clock(MAX_PROGRAMME_FRAMES)} a CD holds (Red Book)"
            )
        if problems:
            raise ReleaseInvalid(problems)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _text(check: Checker, d: dict[str, Any], key: str, path: str, *, required: bool) -> str:
    where = f"{path}.{key}" if path else key
    if key not in d or d[key] is None:
        if required:
            check.add(where, "is required")
        return ""
    raw = d[key]
    if not isinstance(raw, str):
        check.add(where, f"{show(raw)} is not a string")
        return ""
    value: str = raw.strip()
    if required and not value:
        check.add(where, "is empty")
    elif len(value) > MAX_TEXT:
        check.add(where, f"{len(value)} characters is over the limit of {MAX_TEXT}")
    elif any(ord(c) < 32 or c == "\x7f" for c in value):
        check.add(where, f"{show(value)} holds a control character (a line break?)")
    return value


def _parse_release(check: Checker, data: Any) -> dict[str, Any] | None:
    d = check.obj(data, "", _RELEASE_KEYS, "a release")
    if not d:
        return None
    if not check.present(d, "version", ""):
        return None
    version = d["version"]
    if isinstance(version, bool) or version != RELEASE_VERSION:
        check.add("version", f"{show(version)} is not a known version (this engine reads 1)")
        return None
    title = _text(check, d, "title", "", required=True)
    artist = _text(check, d, "artist", "", required=True)
    upc: str | None = None
    if d.get("upc") is not None:
        if not isinstance(d["upc"], str):
            check.add("upc", f"{show(d['upc'])} is not a string of 12 or 13 digits")
        elif (problem := upc_problem(d["upc"])) is not None:
            check.add("upc", problem)
        else:
            upc = upc_normalise(d["upc"])
    artwork: str | None = None
    if d.get("artwork") is not None:
        artwork = _text(check, d, "artwork", "", required=True)
        suffix = artwork[artwork.rfind(".") :].lower() if "." in artwork else ""
        if artwork and suffix not in ARTWORK_TYPES:
            check.add("artwork", f"{show(artwork)} is not a JPEG or PNG file (.jpg, .png)")
    formats = _formats(check, d)
    bitrate = d.get("mp3_bitrate", 320)
    if isinstance(bitrate, bool) or bitrate not in MP3_BITRATES:
        rates = ", ".join(str(b) for b in MP3_BITRATES)
        check.add("mp3_bitrate", f"{show(bitrate)} is not an MP3 bit rate here ({rates} kbit/s)")
        bitrate = 320
    if not check.present(d, "tracks", ""):
        return None
    raw_tracks = d["tracks"]
    if not isinstance(raw_tracks, list) or not raw_tracks:
        check.add("tracks", f"{show(raw_tracks)} is not a list of one track or more")
        return None
    if len(raw_tracks) > MAX_TRACKS:
        check.add(
            "tracks", f"{len(raw_tracks)} tracks is over the {MAX_TRACKS} a CD holds (Red Book)"
        )
        return None
    tracks = tuple(_track(check, raw, i, artist) for i, raw in enumerate(raw_tracks))
    seen: dict[str, int] = {}
    for i, track in enumerate(tracks):
        if track.isrc is None:
            continue
        if track.isrc in seen:
            check.add(
                f"tracks[{i}].isrc",
                f"{track.isrc} is already the ISRC of tracks[{seen[track.isrc]}]: an ISRC "
                "identifies one recording",
            )
        else:
            seen[track.isrc] = i
    return {
        "title": title,
        "artist": artist,
        "tracks": tracks,
        "upc": upc,
        "label": _text(check, d, "label", "", required=False),
        "p_line": _text(check, d, "p_line", "", required=False),
        "c_line": _text(check, d, "c_line", "", required=False),
        "artwork": artwork,
        "formats": formats,
        "mp3_bitrate": int(bitrate),
        "version": RELEASE_VERSION,
    }


def _formats(check: Checker, d: dict[str, Any]) -> tuple[str, ...]:
    raw = d.get("formats", list(FORMATS))
    if not isinstance(raw, list) or not raw:
        check.add("formats", f"{show(raw)} is not a list of formats ({', '.join(FORMATS)})")
        return FORMATS
    out: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or name not in FORMATS:
            check.add(f"formats[{i}]", f"{show(name)} is not a format ({', '.join(FORMATS)})")
        elif name in out:
            check.add(f"formats[{i}]", f"{show(name)} is listed twice")
        else:
            out.append(name)
    return tuple(f for f in FORMATS if f in out)  # in the order they are made


def _track(check: Checker, raw: Any, i: int, release_artist: str) -> ReleaseTrack:
    path = f"tracks[{i}]"
    d = check.obj(raw, path, _TRACK_KEYS, "a track")
    source = _text(check, d, "source", path, required=True) if d else ""
    title = _text(check, d, "title", path, required=True) if d else ""
    artist = _text(check, d, "artist", path, required=False) or release_artist
    isrc: str | None = None
    if d.get("isrc") is not None:
        if not isinstance(d["isrc"], str):
            check.add(f"{path}.isrc", f"{show(d['isrc'])} is not a string")
        elif (problem := isrc_problem(d["isrc"])) is not None:
            check.add(f"{path}.isrc", problem)
        else:
            isrc = isrc_normalise(d["isrc"])
    first = FIRST_PREGAP_S if i == 0 else 0.0
    pregap = check.number(d, "pregap_s", path, first, 0.0, MAX_PREGAP_S)
    if i == 0 and frames_of_seconds(pregap) < MIN_FIRST_PREGAP_FRAMES:
        check.add(
            f"{path}.pregap_s",
            f"{pregap:g} s is under the 2 s pregap the first track of a CD needs (Red Book)",
        )
    watermark: int | None = None
    if d.get("watermark_id") is not None:
        check.add(
            f"{path}.watermark_id",
            f"{show(d['watermark_id'])}: this engine embeds no watermark yet; give null",
        )
    return ReleaseTrack(
        source=source,
        title=title,
        artist=artist,
        isrc=isrc,
        pregap_s=pregap,
        trim_start_s=check.number(d, "trim_start_s", path, 0.0, 0.0, MAX_TRIM_S),
        trim_end_s=check.number(d, "trim_end_s", path, 0.0, 0.0, MAX_TRIM_S),
        fade_in_s=check.number(d, "fade_in_s", path, 0.0, 0.0, MAX_FADE_S),
        fade_out_s=check.number(d, "fade_out_s", path, 0.0, 0.0, MAX_FADE_S),
        watermark_id=watermark,
    )


__all__ = [
    "FORMATS",
    "MP3_BITRATES",
    "RELEASE_VERSION",
    "Release",
    "ReleaseInvalid",
    "ReleaseTrack",
]
