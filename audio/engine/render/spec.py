"""The mix spec: typed, frozen, JSON round trip, and a validator that reports every problem.

A spec is checked in two steps. ``MixSpec.from_dict`` checks its structure alone (types,
ranges, limits, ids, routing, bus cycles) and needs nothing else. ``MixSpec.check_sources``
then checks the clips against the sources' lengths (which only decoding, or the app's stored
analysis, can tell). Each step collects every problem as ``"<json path>: <sentence>"`` and
raises one ``SpecInvalid`` carrying all of them, so an API can answer a 400 with each field.

Positions and lengths are integer frames at the spec's ``sample_rate``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audio.engine.errors import AudioError
from audio.engine.render.effects import EFFECTS, range_text

SPEC_VERSION = 1
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
MAX_TRACKS = 128
MAX_BUSES = 64
MAX_CLIPS = 1000  # in the whole spec
MAX_FX = 10  # per chain
MAX_SENDS = 16  # per track or bus
MAX_POINTS = 10000  # per automation lane
MAX_MINUTES = 60
MAX_STRETCH_MINUTES = 20  # a stretched clip is held whole in memory (Rubber Band's pass)
GAIN_MIN_DB = -144.0
GAIN_MAX_DB = 24.0
STRETCH_MIN, STRETCH_MAX = 0.25, 4.0
PITCH_MIN, PITCH_MAX = -24.0, 24.0
FADE_SHAPES = ("linear", "equal_power", "s_curve", "exponential")
MASTER = "master"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class SpecInvalid(AudioError):
    """A spec that cannot be rendered: ``problems`` lists every one as "path: sentence"; the
    message is the first, ``fields`` maps each path to its sentences (for a 400's fields)."""

    code = "render.spec_invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        if not problems:
            raise ValueError("SpecInvalid needs at least one problem")
        super().__init__(problems[0])
        self.problems = list(problems)

    @property
    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            path, _, sentence = problem.partition(": ")
            out.setdefault(path, []).append(sentence)
        return out


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class Fade:
    length: int = 0
    shape: str = "linear"


@dataclass(frozen=True)
class Effect:
    """One plugin of a chain: ``type`` is a key of ``EFFECTS``; ``params`` sorted by name
    (their order means nothing), those not given keep pedalboard's defaults."""

    type: str
    params: tuple[tuple[str, float | str], ...] = ()

    def param_dict(self) -> dict[str, float | str]:
        return dict(self.params)


@dataclass(frozen=True)
class Send:
    bus: str
    level_db: float = 0.0
    pre_fader: bool = False


Points = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Automation:
    """``[frame, value]`` points, frames strictly increasing. ``gain_db`` adds to the fader;
    ``pan``, when present, is the pan (the static ``pan`` is then unused)."""

    gain_db: Points = ()
    pan: Points = ()


@dataclass(frozen=True)
class Clip:
    """``length`` None means "to the end of the source" (known once the source is)."""

    source: str
    start: int
    source_in: int = 0
    length: int | None = None
    gain_db: float = 0.0
    reverse: bool = False
    stretch: float = 1.0
    pitch_semitones: float = 0.0
    fade_in: Fade = field(default_factory=Fade)
    fade_out: Fade = field(default_factory=Fade)

    @property
    def processed(self) -> bool:
        """Stretch or pitch asks for Rubber Band; otherwise the samples pass untouched."""
        return self.stretch != 1.0 or self.pitch_semitones != 0.0

    def source_length(self, source_frames: int) -> int:
        return self.length if self.length is not None else source_frames - self.source_in

    def timeline_length(self, source_frames: int | None = None) -> int:
        """``round(length * stretch)``: the frames the clip covers on the timeline."""
        if self.length is None and source_frames is None:
            raise ValueError("the clip's length depends on its source")
        n = self.source_length(source_frames or 0)
        return n if self.stretch == 1.0 else round(n * self.stretch)


@dataclass(frozen=True)
class Track:
    id: str
    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    polarity_invert: bool = False
    output: str = MASTER
    fx: tuple[Effect, ...] = ()
    sends: tuple[Send, ...] = ()
    automation: Automation = field(default_factory=Automation)
    clips: tuple[Clip, ...] = ()


@dataclass(frozen=True)
class Bus:
    """A track without clips: fx, fader (with automation), pan, sends, output."""

    id: str
    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    output: str = MASTER
    fx: tuple[Effect, ...] = ()
    sends: tuple[Send, ...] = ()
    automation: Automation = field(default_factory=Automation)


@dataclass(frozen=True)
class Master:
    gain_db: float = 0.0
    fx: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class MixSpec:
    sample_rate: int
    tracks: tuple[Track, ...] = ()
    buses: tuple[Bus, ...] = ()
    master: Master = field(default_factory=Master)
    length: int | None = None
    version: int = SPEC_VERSION

    # -- JSON ----------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str | bytes) -> MixSpec:
        """Parse and check the structure; malformed JSON is a ``SpecInvalid`` too."""
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except UnicodeDecodeError as exc:
            raise SpecInvalid([f"spec: not UTF-8 text ({exc.reason})"]) from None
        except json.JSONDecodeError as exc:
            raise SpecInvalid(
                [f"spec: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"]
            ) from None
        except ValueError as exc:
            raise SpecInvalid([f"spec: {exc}"]) from None
        except RecursionError:
            raise SpecInvalid(["spec: JSON nested too deeply"]) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> MixSpec:
        """Check everything that needs no source; raise ``SpecInvalid`` listing every problem."""
        check = _Checker()
        spec = _parse_spec(check, data)
        if check.problems or spec is None:
            raise SpecInvalid(check.problems or ["spec: not a mix spec"])
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, every field explicit; ``from_dict(to_dict())`` gives an equal spec."""
        return {
            "version": self.version,
            "sample_rate": self.sample_rate,
            "length": self.length,
            "tracks": [_track_dict(t) for t in self.tracks],
            "buses": [_bus_dict(b) for b in self.buses],
            "master": {"gain_db": self.master.gain_db, "fx": _fx_list(self.master.fx)},
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): equal specs give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    # -- derived -------------------------------------------------------------------------------

    @property
    def max_frames(self) -> int:
        return MAX_MINUTES * 60 * self.sample_rate

    def source_names(self) -> list[str]:
        """Every distinct clip source, in order of first use."""
        return list(dict.fromkeys(c.source for t in self.tracks for c in t.clips))

    def bus_order(self) -> list[str]:
        """Bus ids so that every bus comes before the buses it feeds (the spec has no cycle)."""
        feeds = {b.id: _destinations(b) for b in self.buses}
        order: list[str] = []
        seen: set[str] = set()

        def visit(bus: str) -> None:
            if bus in seen:
                return
            seen.add(bus)
            for d in feeds[bus]:
                visit(d)
            order.append(bus)

        for b in self.buses:
            visit(b.id)
        return order[::-1]

    def check_sources(self, lengths: Mapping[str, int], errors: Mapping[str, str] = {}) -> None:
        """Step two: every clip against its source's length in frames at the spec's rate.

        ``errors`` maps a source that could not be read to why; every clip using it names it.
        Raises ``SpecInvalid`` with every problem found.
        """
        problems: list[str] = []
        end = 0
        rate = self.sample_rate
        for ti, track in enumerate(self.tracks):
            for ci, clip in enumerate(track.clips):
                path = f"tracks[{ti}].clips[{ci}]"
                if clip.source in errors:
                    problems.append(f"{path}.source: {errors[clip.source]}")
                    continue
                if clip.source not in lengths:
                    problems.append(f"{path}.source: {_show(clip.source)} is not a known source")
                    continue
                have = lengths[clip.source]
                where = f"{_show(clip.source)} ({have} frames at {self.sample_rate} Hz)"
                if clip.length is None and clip.source_in >= have:
                    problems.append(
                        f"{path}.source_in: {clip.source_in} is past the end of {where}"
                    )
                    continue
                want = clip.source_in + clip.source_length(have)
                if want > have:
                    problems.append(
                        f"{path}.length: the clip needs source frames {clip.source_in} to "
                        f"{want} ({want - clip.source_in} frames) but {_show(clip.source)} "
                        f"has {have} frames at {self.sample_rate} Hz"
                    )
                    continue
                if clip.processed and want - clip.source_in > MAX_STRETCH_MINUTES * 60 * rate:
                    problems.append(
                        f"{path}.stretch: a stretched or pitched clip is processed whole, so it "
                        f"may be at most {MAX_STRETCH_MINUTES} minutes long (this one is "
                        f"{_minutes(want - clip.source_in, rate)})"
                    )
                    continue
                n = clip.timeline_length(have)
                problems.extend(_fade_problems(path, clip, n))
                end = max(end, clip.start + n)
        if self.length is None and end > self.max_frames:
            problems.append(
                f"tracks: the last clip ends at frame {end}, "
                f"{_minutes(end, self.sample_rate)}, over the {MAX_MINUTES}-minute limit"
            )
        if problems:
            raise SpecInvalid(problems)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _destinations(ch: Track | Bus) -> list[str]:
    out = [ch.output] if ch.output != MASTER else []
    return out + [s.bus for s in ch.sends if s.bus not in out]


# ---------------------------------------------------------------------------------------------
# Serialisation


def _fx_list(fx: tuple[Effect, ...]) -> list[dict[str, Any]]:
    return [{"type": e.type, **e.param_dict()} for e in fx]


def _channel_common(ch: Track | Bus) -> dict[str, Any]:
    return {
        "id": ch.id,
        "gain_db": ch.gain_db,
        "pan": ch.pan,
        "mute": ch.mute,
        "output": ch.output,
        "fx": _fx_list(ch.fx),
        "sends": [
            {"bus": s.bus, "level_db": s.level_db, "pre_fader": s.pre_fader} for s in ch.sends
        ],
        "automation": {
            "gain_db": [list(p) for p in ch.automation.gain_db],
            "pan": [list(p) for p in ch.automation.pan],
        },
    }


def _track_dict(t: Track) -> dict[str, Any]:
    return {
        **_channel_common(t),
        "solo": t.solo,
        "polarity_invert": t.polarity_invert,
        "clips": [
            {
                "source": c.source,
                "start": c.start,
                "source_in": c.source_in,
                "length": c.length,
                "gain_db": c.gain_db,
                "reverse": c.reverse,
                "stretch": c.stretch,
                "pitch_semitones": c.pitch_semitones,
                "fade_in": {"length": c.fade_in.length, "shape": c.fade_in.shape},
                "fade_out": {"length": c.fade_out.length, "shape": c.fade_out.shape},
            }
            for c in t.clips
        ],
    }


def _bus_dict(b: Bus) -> dict[str, Any]:
    return _channel_common(b)


# ---------------------------------------------------------------------------------------------
# Checking


def _show(value: Any) -> str:
    """A value as the spec wrote it, cut short."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _minutes(frames: int, rate: int) -> str:
    minutes = frames / rate / 60
    if minutes >= 120:
        return f"{minutes / 60:.1f} hours at {rate} Hz"
    return f"{minutes:.1f} minutes at {rate} Hz"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Checker:
    """Reads JSON values, recording a problem (and returning a default) for each bad one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, sentence: str) -> None:
        self.problems.append(f"{path}: {sentence}")

    def obj(self, value: Any, path: str, keys: Sequence[str], what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(path or "spec", f"{_show(value)} is not {what} (a JSON object)")
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
            self.add(p, f"{_show(value)} is not a number")
            return default
        if not math.isfinite(value):
            self.add(p, f"{_show(value)} is not a finite number")
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
            self.add(p, f"{_show(value)} is not a whole number of frames")
            return default
        if value < lo or (hi is not None and value > hi):
            self.add(p, f"{value} is below {lo}" if hi is None else f"{value} is outside {lo}-{hi}")
            return default
        return int(value)

    def boolean(self, d: dict[str, Any], key: str, path: str) -> bool:
        value = d.get(key, False)
        if not isinstance(value, bool):
            self.add(_join(path, key), f"{_show(value)} is not true or false")
            return False
        return value

    def string(self, d: dict[str, Any], key: str, path: str, default: str) -> str:
        value = d.get(key, default)
        if not isinstance(value, str) or not value or len(value) > 1024:
            self.add(_join(path, key), f"{_show(value)} is not a non-empty string")
            return default
        return value

    def array(self, d: dict[str, Any], key: str, path: str, limit: int, what: str) -> list[Any]:
        value = d.get(key, [])
        p = _join(path, key)
        if not isinstance(value, list):
            self.add(p, f"{_show(value)} is not a list")
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


def _parse_spec(check: _Checker, data: Any) -> MixSpec | None:
    d = check.obj(data, "", _SPEC_KEYS, "a mix spec")
    if not d:
        return None
    if not check.present(d, "version", ""):
        return None
    version = d["version"]
    if isinstance(version, bool) or version != SPEC_VERSION:
        check.add("version", f"{_show(version)} is not a known version (this engine reads 1)")
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
                f"{length} frames is {_minutes(length, rate)}, over the {MAX_MINUTES}-minute limit",
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
    return MixSpec(
        sample_rate=rate, tracks=tracks, buses=buses, master=master, length=length, version=1
    )


@dataclass
class _Context:
    check: _Checker
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
            check.add(path, f"{_show(raw)} is not an effect (a JSON object with a type)")
            return None
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in EFFECTS:
            names = ", ".join(EFFECTS)
            check.add(f"{path}.type", f"{_show(kind)} is not an allowed effect ({names})")
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
                    check.add(p, f"{_show(value)} is not one of {', '.join(spec.choices)}")
                else:
                    params.append((key, str(value)))
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                check.add(p, f"{_show(value)} is not a number")
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
                f"{_show(value)} is not an id (1-64 letters, digits, '_', '.', ':', '-'; "
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
                self.check.add(p, f"{_show(point)} is not a [frame, value] pair")
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
            self.check.add(f"{p}.shape", f"{_show(shape)} is not one of {', '.join(FADE_SHAPES)}")
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
            check.problems.extend(_fade_problems(path, clip, n))
            if self.length is None and clip.start + n > self.max_frames:
                check.add(
                    path,
                    f"the clip ends at frame {clip.start + n}, "
                    f"{_minutes(clip.start + n, self.rate)}, over the {MAX_MINUTES}-minute limit",
                )
        return clip


def _fade_problems(path: str, clip: Clip, n: int) -> list[str]:
    fades = clip.fade_in.length + clip.fade_out.length
    if fades <= n:
        return []
    return [
        f"{path}.fade_out.length: fades of {clip.fade_in.length} + {clip.fade_out.length} "
        f"frames are longer than the clip ({n} frames on the timeline)"
    ]


def _check_routing(check: _Checker, tracks: tuple[Track, ...], buses: tuple[Bus, ...]) -> None:
    """Unique ids, outputs and sends that name a bus, and no bus feeding itself in a loop."""
    seen: dict[str, str] = {}
    groups: tuple[tuple[str, Sequence[Track | Bus]], ...] = (("tracks", tracks), ("buses", buses))
    for kind, channels in groups:
        for i, ch in enumerate(channels):
            if not ch.id:
                continue
            if ch.id in seen:
                check.add(f"{kind}[{i}].id", f"{_show(ch.id)} is already the id of {seen[ch.id]}")
            else:
                seen[ch.id] = f"{kind}[{i}]"
    bus_ids = {b.id for b in buses if b.id}
    listed = ", ".join(sorted(bus_ids)) or "none"
    for kind, channels in groups:
        for i, ch in enumerate(channels):
            if ch.output != MASTER and ch.output not in bus_ids:
                check.add(
                    f"{kind}[{i}].output",
                    f"{_show(ch.output)} is neither 'master' nor a bus (buses: {listed})",
                )
            for j, send in enumerate(ch.sends):
                if send.bus and send.bus not in bus_ids:
                    check.add(
                        f"{kind}[{i}].sends[{j}].bus",
                        f"{_show(send.bus)} is not a bus (buses: {listed})",
                    )
    feeds = {b.id: [d for d in _destinations(b) if d in bus_ids] for b in buses if b.id}
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
