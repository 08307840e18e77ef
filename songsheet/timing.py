"""Where each section starts, from the tempo, the time signature and the bars before it.

How beats are counted: the tempo is in quarter notes per minute (what a click track and the
song's `tempo_bpm` say, whatever the signature). A bar of n/d holds n notes of value 1/d, i.e.
n x 4/d quarter notes: a 4/4 bar is 4 quarters, a 3/4 bar 3, a 6/8 bar 6 eighths = 3 quarters,
a 7/8 bar 7 eighths = 3.5 quarters, a 2/2 bar 2 halves = 4 quarters. So one bar lasts
n x 4/d x 60/tempo seconds, and a section starts at the first downbeat (seconds into the mix
where bar 1 starts; 0 when not set) plus the bars of every section before it.

No tempo means no times (None), never an error: a sheet is written long before the click.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The signatures the sheet offers (and accepts): name -> (beats, note value).
TIME_SIGNATURES: dict[str, tuple[int, int]] = {
    s: (int(s.split("/")[0]), int(s.split("/")[1]))
    for s in (
        "2/4", "3/4", "4/4", "5/4", "6/4", "7/4",
        "2/2", "3/2",
        "3/8", "5/8", "6/8", "7/8", "9/8", "12/8",
    )
}  # fmt: skip


def bar_seconds(tempo_bpm: Decimal | float | None, time_signature: str) -> float | None:
    """The length of one bar in seconds, or None without a (positive) tempo."""
    if tempo_bpm is None:
        return None
    tempo = float(tempo_bpm)
    beats, value = TIME_SIGNATURES.get(time_signature, (4, 4))
    if tempo <= 0:
        return None
    return beats * (4 / value) * 60.0 / tempo


@dataclass(frozen=True)
class Timed:
    """A section's place in time: start and end in seconds into the mix (None without tempo)."""

    start_bar: int  # 1-based: the bar the section starts on
    start_s: float | None
    end_s: float | None


def section_times(
    bars: Sequence[int],
    *,
    tempo_bpm: Decimal | float | None,
    time_signature: str,
    first_downbeat_s: float | None,
) -> list[Timed]:
    """The start bar and times of sections of `bars` bars each, in order."""
    length = bar_seconds(tempo_bpm, time_signature)
    offset = first_downbeat_s or 0.0
    out: list[Timed] = []
    before = 0
    for n in bars:
        if length is None:
            out.append(Timed(before + 1, None, None))
        else:
            out.append(
                Timed(
                    before + 1,
                    round(offset + before * length, 3),
                    round(offset + (before + n) * length, 3),
                )
            )
        before += n
    return out


def regions_ready(tempo_bpm: Any, first_downbeat_s: float | None) -> bool:
    """The waveform shows the sections once the tempo and the first downbeat are set."""
    return tempo_bpm is not None and first_downbeat_s is not None
