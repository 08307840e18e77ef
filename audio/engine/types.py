"""Plain data shared by the engine: arrays are float32 shaped (channels, frames), as pedalboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

ProgressFn = Callable[[float], None]
"""Called with a fraction in 0..1 as work proceeds; must be cheap (callers throttle)."""


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is float32 (channels, frames)."""

    samples: npt.NDArray[np.float32]
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class AudioInfo:
    """What a file says about itself, checked against the limits before any decoding.

    ``frames`` may be an estimate for MP3 and Ogg: readers count decoded frames themselves.
    """

    format: str  # "wav", "aiff", "flac", "mp3", "ogg"
    codec: str  # libsndfile subtype, e.g. "PCM_24", "FLOAT", "VORBIS", "MPEG_LAYER_III"
    sample_rate: int
    channels: int
    bit_depth: int | None
    frames: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
