"""The mix spec's parts: typed, frozen dataclasses, the limits and ranges, ``SpecInvalid``.

Positions and lengths are integer frames at the spec's ``sample_rate``. ``MixSpec`` itself,
its JSON round trip and its checks are in ``audio.engine.render.spec``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from audio.engine.errors import AudioError

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
# The parts of a spec


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


def destinations(ch: Track | Bus) -> list[str]:
    """The buses a channel feeds: its output (unless master), then its sends' buses."""
    out = [ch.output] if ch.output != MASTER else []
    return out + [s.bus for s in ch.sends if s.bus not in out]
