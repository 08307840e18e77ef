"""The chain before the limiter: small streaming stages, each a pure function of its block
and its own carried state, each testable alone.

``Chain`` holds the settings (plain data, part of the report); ``Chain.start`` makes the
running processors. Every stage keeps the block's length (no latency), so the chain's output
lines up with its input frame for frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Block = npt.NDArray[np.float32]


def mid_side_width(block: Block, width: float) -> Block:
    """Stereo width: mid = (L+R)/2 kept, side = (L-R)/2 times ``width`` (1.0 unchanged,
    0.0 mono, 1.5 wider). Mono or multichannel input passes untouched."""
    if block.shape[0] != 2 or width == 1.0:
        return block
    x = block.astype(np.float64)
    mid = (x[0] + x[1]) / 2
    side = (x[0] - x[1]) / 2 * width
    return np.stack([mid + side, mid - side]).astype(np.float32)


@dataclass(frozen=True)
class Chain:
    """The stages' settings; each None (or neutral) means the stage is off."""

    width: float = 1.0  # side gain, 0..2

    def describe(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = []
        if self.width != 1.0:
            stages.append({"type": "width", "side_gain": self.width})
        stages.append({"type": "limiter", "detection": "4x oversampled, linked channels"})
        return stages

    def eq_curve(self, sample_rate: int) -> list[list[float]]:
        """[[hz, db], ...] of the EQ applied at 1/3-octave centres (flat when no EQ)."""
        centres = [1000.0 * 2 ** (k / 3) for k in range(-16, 14)]
        return [[round(f, 1), 0.0] for f in centres if f < sample_rate / 2]

    def start(self, sample_rate: int, channels: int) -> RunningChain:
        return RunningChain(self, sample_rate, channels)


class RunningChain:
    """The chain's processors for one programme, fed blocks in order."""

    def __init__(self, chain: Chain, sample_rate: int, channels: int) -> None:
        self.chain = chain
        self.rate = sample_rate
        self.channels = channels

    def process(self, block: Block) -> Block:
        x = block
        if self.chain.width != 1.0:
            x = mid_side_width(x, self.chain.width)
        return x

    def finish(self) -> Block:
        """Whatever the stages still hold (none have latency): an empty block."""
        return np.zeros((self.channels, 0), dtype=np.float32)
