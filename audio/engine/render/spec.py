"""The mix spec: typed, frozen, JSON round trip, and a validator that reports every problem.

A spec is checked in two steps. ``MixSpec.from_dict`` checks its structure alone (types,
ranges, limits, ids, routing, bus cycles) and needs nothing else. ``MixSpec.check_sources``
then checks the clips against the sources' lengths (which only decoding, or the app's stored
analysis, can tell). Each step collects every problem as ``"<json path>: <sentence>"`` and
raises one ``SpecInvalid`` carrying all of them, so an API can answer a 400 with each field.

Positions and lengths are integer frames at the spec's ``sample_rate``. The parts (tracks,
clips, effects...) and the limits are in ``audio.engine.render.model`` and re-exported here;
the reading of the JSON, value by value, is ``audio.engine.render.checks``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audio.engine.render.checks import Checker, fade_problems, minutes, parse_spec, show
from audio.engine.render.model import (
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
    MAX_STRETCH_MINUTES,
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
    Send,
    SpecInvalid,
    Track,
    destinations,
)

__all__ = [
    "FADE_SHAPES",
    "GAIN_MAX_DB",
    "GAIN_MIN_DB",
    "MASTER",
    "MAX_BUSES",
    "MAX_CLIPS",
    "MAX_FX",
    "MAX_MINUTES",
    "MAX_POINTS",
    "MAX_SAMPLE_RATE",
    "MAX_SENDS",
    "MAX_STRETCH_MINUTES",
    "MAX_TRACKS",
    "MIN_SAMPLE_RATE",
    "PITCH_MAX",
    "PITCH_MIN",
    "SPEC_VERSION",
    "STRETCH_MAX",
    "STRETCH_MIN",
    "Automation",
    "Bus",
    "Clip",
    "Effect",
    "Fade",
    "Master",
    "MixSpec",
    "Send",
    "SpecInvalid",
    "Track",
]


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
        check = Checker()
        fields = parse_spec(check, data)
        if check.problems or fields is None:
            raise SpecInvalid(check.problems or ["spec: not a mix spec"])
        return cls(**fields)

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
        feeds = {b.id: destinations(b) for b in self.buses}
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
                    problems.append(f"{path}.source: {show(clip.source)} is not a known source")
                    continue
                have = lengths[clip.source]
                where = f"{show(clip.source)} ({have} frames at {self.sample_rate} Hz)"
                if clip.length is None and clip.source_in >= have:
                    problems.append(
                        f"{path}.source_in: {clip.source_in} is past the end of {where}"
                    )
                    continue
                want = clip.source_in + clip.source_length(have)
                if want > have:
                    problems.append(
                        f"{path}.length: the clip needs source frames {clip.source_in} to "
                        f"{want} ({want - clip.source_in} frames) but {show(clip.source)} "
                        f"has {have} frames at {self.sample_rate} Hz"
                    )
                    continue
                if clip.processed and want - clip.source_in > MAX_STRETCH_MINUTES * 60 * rate:
                    problems.append(
                        f"{path}.stretch: a stretched or pitched clip is processed whole, so it "
                        f"may be at most {MAX_STRETCH_MINUTES} minutes long (this one is "
                        f"{minutes(want - clip.source_in, rate)})"
                    )
                    continue
                n = clip.timeline_length(have)
                problems.extend(fade_problems(path, clip, n))
                end = max(end, clip.start + n)
        if self.length is None and end > self.max_frames:
            problems.append(
                f"tracks: the last clip ends at frame {end}, "
                f"{minutes(end, self.sample_rate)}, over the {MAX_MINUTES}-minute limit"
            )
        if problems:
            raise SpecInvalid(problems)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


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
