"""Reading a mix spec's JSON: every value checked, every problem recorded with its JSON path.

``parse_spec`` turns the JSON into the parts of a ``MixSpec`` (or records why it cannot), so
``MixSpec.from_dict`` can raise one ``SpecInvalid`` listing them all.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audio.engine.render.effects import EFFECTS, range_text
from audio.engine.render.model import (
    _ID,
    FADE_SHAPES,
    GAIN_MAX_DB,
    GAIN_MIN_DB,
    MASTER,
    MAX_BUSES,
    MAX_CLIPS,
    MAX_FX,
    MAX_MINUTES,
    MAX_POINTS,
    MAX_SAMPLE_RATE,
    MAX_SENDS,
    MAX_TRACKS,
    MIN_SAMPLE_RATE,
    PITCH_MAX,
    PITCH_MIN,
    SPEC_VERSION,
    STRETCH_MAX,
    STRETCH_MIN,
    Automation,
    Bus,
    Clip,
    Effect,
    Fade,
    Master,
    Points,
    Send,
    Track,
    destinations,
)


def show(value: Any) -> str:
    """A value as the spec wrote it, cut short."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def minutes(frames: int, rate: int) -> str:
    minutes = frames / rate / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} hours at {rate} Hz"
    return f"{minutes:.1f} minutes at {rate} Hz"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Checker:
    """Reads JSON values, recording a problem (and returning a default) for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, sentence: str) -> None:
        self.problems.append(f"{path}: {sentence}")

    def obj(self, value: Any, path: str, keys: Sequence[str], what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(path or "spec", f"{show(value)} is not {what} (a JSON object)")
            return {}
        for key in value:
            if key not in keys:
                self.add(_join(path, str(key)), f"unknown field of {what}")
        return value

    def present(self, d: dict[str, Any], key: str, path: str) -> bool:
        if key not in d:
            self.add(_join(path, key), "is required")
            return False
        return True

    def number(
        self, d: dict[str, Any], key: str, path: str, default: float, lo: float, hi: float
    ) -> float:
        if key not in d:
            return default
        value = d[key]
        p = _join(path, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(p, f"{show(value)} is not a number")
            return default
        if not math.isfinite(value):
            self.add(p, f"{show(value)} is not a finite number")
            return default
        if not lo <= value <= hi:
            sep = " to " if lo < 0 or hi < 0 else "-"
            self.add(p, f"{_num(value)} is outside {lo:g}{sep}{hi:g}")
            return default
        return float(value)

    def integer(
        self, d: dict[str, Any], key: str, path: str, default: int, lo: int, hi: int | None
    ) -> int:
        if key not in d:
            return default
        value = d[key]
        p = _join(path, key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(p, f"{show(value)} is not a whole number of frames")
            return default
        if value < lo or (hi is not None and value > hi):
            self.add(p, f"{value} is below {lo}" if hi is None else f"{value} is outside {lo}-{hi}")
            return default
        return int(value)

    def boolean(self, d: dict[str, Any], key: str, path: str) -> bool:
        value = d.get(key, False)
        if not isinstance(value, bool):
            self.add(_join(path, key), f"{show(value)} is not true or false")
            return False
        return value

    def string(self, d: dict[str, Any], key: str, path: str, default: str) -> str:
        value = d.get(key, default)
        if not isinstance(value, str) or not value or len(value) > 1024:
            self.add(_join(path, key), f"{show(value)} is not a non-empty string")
            return default
        return value

    def array(self, d: dict[str, Any], key: str, path: str, limit: int, what: str) -> list[Any]:
        value = d.get(key, [])
        p = _join(path, key)
        if not isinstance(value, list):
            self.add(p, f"{show(value)} is not a list")
            return []
        if len(value) > limit:
            self.add(p, f"{len(value)} {what} is over the limit of {limit}")
            return []
        return value


_SPEC_KEYS = ("version", "sample_rate", "length", "tracks", "buses", "master")
_CHANNEL_KEYS = ("id", "gain_db", "pan", "mute", "output", "fx", "sends", "automation")
_TRACK_KEYS = (*_CHANNEL_KEYS, "solo", "polarity_invert", "clips")
_CLIP_KEYS = (
    "source",
    "start",
    "source_in",
    "length",
    "gain_db",
    "reverse",
    "stretch",
    "pitch_semitones",
    "fade_in",
    "fade_out",
)


def parse_spec(check: Checker, data: Any) -> dict[str, Any] | None:
    """The fields of a ``MixSpec``, or None when the problems recorded leave none to build."""
    d = check.obj(data, "", _SPEC_KEYS, "a mix spec")
    if not d:
        return None
    if not check.present(d, "version", ""):
        return None
    version = d["version"]
    if isinstance(version, bool) or version != SPEC_VERSION:
        check.add("version", f"{show(version)} is not a known version (this engine reads 1)")
        return None
    rate = 0
    if check.present(d, "sample_rate", ""):
        rate = check.integer(d, "sample_rate", "", 0, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
    rate_ok = rate > 0
    rate = rate or 48000  # keeps checking the rest against a plausible rate
    max_frames = MAX_MINUTES * 60 * rate
    length: int | None = None
    if d.get("length") is not None:
        length = check.integer(d, "length", "", 0, 1, None)
        if length > max_frames:
            check.add(
                "length",
                f"{length} frames is {minutes(length, rate)}, over the {MAX_MINUTES}-minute limit",
            )
        length = length or None
    raw_tracks = check.array(d, "tracks", "", MAX_TRACKS, "tracks")
    raw_buses = check.array(d, "buses", "", MAX_BUSES, "buses")
    clip_count = sum(
        len(t["clips"])
        for t in raw_tracks
        if isinstance(t, dict) and isinstance(t.get("clips"), list)
    )
    too_many_clips = clip_count > MAX_CLIPS
    if too_many_clips:
        check.add("tracks", f"{clip_count} clips in all is over the limit of {MAX_CLIPS}")
    ctx = _Context(check, rate, max_frames, length)
    buses = tuple(ctx.bus(b, f"buses[{i}]") for i, b in enumerate(raw_buses))
    tracks = tuple(
        ctx.track(t, f"tracks[{i}]", with_clips=not too_many_clips)
        for i, t in enumerate(raw_tracks)
    )
    master_raw = check.obj(d.get("master", {}), "master", ("gain_db", "fx"), "the master")
    master = Master(
        gain_db=check.number(master_raw, "gain_db", "master", 0.0, GAIN_MIN_DB, GAIN_MAX_DB),
        fx=ctx.chain(master_raw, "master"),
    )
    _check_routing(check, tracks, buses)
    if not rate_ok:
        return None
    return {
        "sample_rate": rate,
        "tracks": tracks,
        "buses": buses,
        "master": master,
        "length": length,
        "version": SPEC_VERSION,
    }


@dataclass
class _Context:
    check: Checker
    rate: int
    max_frames: int
    length: int | None

    def chain(self, d: dict[str, Any], path: str) -> tuple[Effect, ...]:
        raw = self.check.array(d, "fx", path, MAX_FX, "effects")
        return tuple(
            e for i, r in enumerate(raw) if (e := self.effect(r, f"{_join(path, 'fx')}[{i}]"))
        )

    def effect(self, raw: Any, path: str) -> Effect | None:
        check = self.check
        if not isinstance(raw, dict):
            check.add(path, f"{show(raw)} is not an effect (a JSON object with a type)")
            return None
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in EFFECTS:
            names = ", ".join(EFFECTS)
            check.add(f"{path}.type", f"{show(kind)} is not an allowed effect ({names})")
            return None
        allowed = EFFECTS[kind]
        params: list[tuple[str, float | str]] = []
        for key, value in raw.items():
            if key == "type":
                continue
            p = _join(path, str(key))
            spec = allowed.get(key)
            if spec is None:
                check.add(p, f"unknown parameter of {kind} ({', '.join(allowed)})")
                continue
            if spec.choices:
                if value not in spec.choices:
                    check.add(p, f"{show(value)} is not one of {', '.join(spec.choices)}")
                else:
                    params.append((key, str(value)))
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                check.add(p, f"{show(value)} is not a number")
                continue
            if not math.isfinite(value) or not spec.lo <= value <= spec.hi:
                check.add(p, f"{_num(value)} is outside {range_text(spec)}")
                continue
            if spec.below_nyquist and value >= self.rate / 2:
                check.add(
                    p, f"{_num(value)} is not below half the sample rate ({self.rate / 2:g} Hz)"
                )
                continue
            params.append((key, float(value)))
        return Effect(kind, tuple(sorted(params)))

    def channel_id(self, d: dict[str, Any], path: str) -> str:
        if not self.check.present(d, "id", path):
            return ""
        value = d["id"]
        if not isinstance(value, str) or not _ID.fullmatch(value) or value == MASTER:
            self.check.add(
                _join(path, "id"),
                f"{show(value)} is not an id (1-64 letters, digits, '_', '.', ':', '-'; "
                "not 'master')",
            )
            return ""
        return value

    def sends(self, d: dict[str, Any], path: str) -> tuple[Send, ...]:
        out: list[Send] = []
        for i, raw in enumerate(self.check.array(d, "sends", path, MAX_SENDS, "sends")):
            p = f"{_join(path, 'sends')}[{i}]"
            s = self.check.obj(raw, p, ("bus", "level_db", "pre_fader"), "a send")
            if not s or not self.check.present(s, "bus", p):
                continue
            out.append(
                Send(
                    bus=self.check.string(s, "bus", p, ""),
                    level_db=self.check.number(s, "level_db", p, 0.0, GAIN_MIN_DB, GAIN_MAX_DB),
                    pre_fader=self.check.boolean(s, "pre_fader", p),
                )
            )
        return tuple(out)

    def automation(self, d: dict[str, Any], path: str) -> Automation:
        p = _join(path, "automation")
        a = self.check.obj(d.get("automation", {}), p, ("gain_db", "pan"), "automation")
        return Automation(
            gain_db=self.points(a, "gain_db", p, GAIN_MIN_DB, GAIN_MAX_DB),
            pan=self.points(a, "pan", p, -1.0, 1.0),
        )

    def points(self, a: dict[str, Any], key: str, path: str, lo: float, hi: float) -> Points:
        raw = self.check.array(a, key, path, MAX_POINTS, "points")
        out: list[tuple[int, float]] = []
        last = -1
        for i, point in enumerate(raw):
            p = f"{_join(path, key)}[{i}]"
            if not isinstance(point, list) or len(point) != 2:
                self.check.add(p, f"{show(point)} is not a [frame, value] pair")
                continue
            pair = {"frame": point[0], "value": point[1]}
            before = len(self.check.problems)
            frame = self.check.integer(pair, "frame", p, 0, 0, self.max_frames)
            value = self.check.number(pair, "value", p, 0.0, lo, hi)
            if len(self.check.problems) > before:
                continue
            if frame <= last:
                self.check.add(
                    f"{p}.frame", f"{frame} is not after the previous point's frame {last}"
                )
                continue
            last = frame
            out.append((frame, value))
        return tuple(out)

    def track(self, raw: Any, path: str, *, with_clips: bool) -> Track:
        check = self.check
        d = check.obj(raw, path, _TRACK_KEYS, "a track")
        track = Track(
            id=self.channel_id(d, path) if d else "",
            gain_db=check.number(d, "gain_db", path, 0.0, GAIN_MIN_DB, GAIN_MAX_DB),
            pan=check.number(d, "pan", path, 0.0, -1.0, 1.0),
            mute=check.boolean(d, "mute", path),
            solo=check.boolean(d, "solo", path),
            polarity_invert=check.boolean(d, "polarity_invert", path),
            output=check.string(d, "output", path, MASTER),
            fx=self.chain(d, path),
            sends=self.sends(d, path),
            automation=self.automation(d, path),
        )
        if not with_clips:
            return track
        raw_clips = check.array(d, "clips", path, MAX_CLIPS, "clips")
        clips = [
            c
            for i, r in enumerate(raw_clips)
            if (c := self.clip(r, f"{_join(path, 'clips')}[{i}]"))
        ]
        return dataclasses.replace(track, clips=tuple(clips))

    def bus(self, raw: Any, path: str) -> Bus:
        check = self.check
        d = check.obj(raw, path, _CHANNEL_KEYS, "a bus")
        return Bus(
            id=self.channel_id(d, path) if d else "",
            gain_db=check.number(d, "gain_db", path, 0.0, GAIN_MIN_DB, GAIN_MAX_DB),
            pan=check.number(d, "pan", path, 0.0, -1.0, 1.0),
            mute=check.boolean(d, "mute", path),
            output=check.string(d, "output", path, MASTER),
            fx=self.chain(d, path),
            sends=self.sends(d, path),
            automation=self.automation(d, path),
        )

    def fade(self, d: dict[str, Any], key: str, path: str) -> Fade:
        p = _join(path, key)
        f = self.check.obj(d.get(key, {}), p, ("length", "shape"), "a fade")
        length = self.check.integer(f, "length", p, 0, 0, self.max_frames)
        shape = f.get("shape", "linear")
        if shape not in FADE_SHAPES:
            self.check.add(f"{p}.shape", f"{show(shape)} is not one of {', '.join(FADE_SHAPES)}")
            shape = "linear"
        return Fade(length, shape)

    def clip(self, raw: Any, path: str) -> Clip | None:
        check = self.check
        d = check.obj(raw, path, _CLIP_KEYS, "a clip")
        if not d:
            return None
        before = len(check.problems)
        check.present(d, "source", path)
        check.present(d, "start", path)
        length = None
        if d.get("length") is not None:
            length = check.integer(d, "length", path, 1, 1, self.max_frames)
        clip = Clip(
            source=check.string(d, "source", path, "?"),
            start=check.integer(d, "start", path, 0, 0, self.max_frames),
            source_in=check.integer(d, "source_in", path, 0, 0, None),
            length=length,
            gain_db=check.number(d, "gain_db", path, 0.0, GAIN_MIN_DB, GAIN_MAX_DB),
            reverse=check.boolean(d, "reverse", path),
            stretch=check.number(d, "stretch", path, 1.0, STRETCH_MIN, STRETCH_MAX),
            pitch_semitones=check.number(d, "pitch_semitones", path, 0.0, PITCH_MIN, PITCH_MAX),
            fade_in=self.fade(d, "fade_in", path),
            fade_out=self.fade(d, "fade_out", path),
        )
        if len(check.problems) == before and clip.length is not None:
            n = clip.timeline_length()
            check.problems.extend(fade_problems(path, clip, n))
            if self.length is None and clip.start + n > self.max_frames:
                check.add(
                    path,
                    f"the clip ends at frame {clip.start + n}, "
                    f"{minutes(clip.start + n, self.rate)}, over the {MAX_MINUTES}-minute limit",
                )
        return clip


def fade_problems(path: str, clip: Clip, n: int) -> list[str]:
    fades = clip.fade_in.length + clip.fade_out.length
    if fades <= n:
        return []
    return [
        f"{path}.fade_out.length: fades of {clip.fade_in.length} + {clip.fade_out.length} "
        f"frames are longer than the clip ({n} frames on the timeline)"
    ]


def _check_routing(check: Checker, tracks: tuple[Track, ...], buses: tuple[Bus, ...]) -> None:
    """Unique ids, outputs and sends that name a bus, and no bus feeding itself in a loop."""
    seen: dict[str, str] = {}
    groups: tuple[tuple[str, Sequence[Track | Bus]], ...] = (("tracks", tracks), ("buses", buses))
    for kind, channels in groups:
        for i, ch in enumerate(channels):
            if not ch.id:
                continue
            if ch.id in seen:
                check.add(f"{kind}[{i}].id", f"{show(ch.id)} is already the id of {seen[ch.id]}")
            else:
                seen[ch.id] = f"{kind}[{i}]"
    bus_ids = {b.id for b in buses if b.id}
    listed = ", ".join(sorted(bus_ids)) or "none"
    for kind, channels in groups:
        for i, ch in enumerate(channels):
            if ch.output != MASTER and ch.output not in bus_ids:
                check.add(
                    f"{kind}[{i}].output",
                    f"{show(ch.output)} is neither 'master' nor a bus (buses: {listed})",
                )
            for j, send in enumerate(ch.sends):
                if send.bus and send.bus not in bus_ids:
                    check.add(
                        f"{kind}[{i}].sends[{j}].bus",
                        f"{show(send.bus)} is not a bus (buses: {listed})",
                    )
    feeds = {b.id: [d for d in destinations(b) if d in bus_ids] for b in buses if b.id}
    index = {b.id: i for i, b in enumerate(buses)}
    state: dict[str, int] = {}  # 1 on the path, 2 done
    reported: set[frozenset[str]] = set()

    def visit(bus: str, stack: list[str]) -> None:
        state[bus] = 1
        stack.append(bus)
        for nxt in feeds.get(bus, []):
            if state.get(nxt) == 1:
                loop = [*stack[stack.index(nxt) :], nxt]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    check.add(
                        f"buses[{index[bus]}]",
                        f"a bus cycle: {' -> '.join(loop)} (a bus may not feed itself)",
                    )
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[bus] = 2

    for b in buses:
        if b.id and b.id not in state:
            visit(b.id, [])
