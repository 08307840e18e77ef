"""Red Book (IEC 60908) figures the delivery holds a release to, and CD time arithmetic.

A CD plays 44.1 kHz 16-bit stereo in frames ("sectors") of 588 samples, 75 a second; a CUE
sheet and a DDP's PQ descriptor give times as mm:ss:ff in those frames. Every track start
(INDEX 01) and every track length falls on a frame here, so each is exact in mm:ss:ff.
"""

from __future__ import annotations

CD_RATE = 44100
CD_CHANNELS = 2
FRAME_SAMPLES = 588  # samples per channel in one CD frame (sector): 2352 bytes
SECTOR_BYTES = FRAME_SAMPLES * CD_CHANNELS * 2
FRAMES_PER_SECOND = 75
MIN_TRACK_S = 4
MAX_TRACKS = 99
MAX_PROGRAMME_FRAMES = (79 * 60 + 57) * FRAMES_PER_SECOND  # 79:57:00
MIN_FIRST_PREGAP_FRAMES = 2 * FRAMES_PER_SECOND


def msf(frames: int) -> str:
    """CD frames as ``mm:ss:ff`` (minutes may pass 59, as CUE sheets allow)."""
    if frames < 0:
        raise ValueError("a CD time is never negative")
    minutes, rest = divmod(frames, 60 * FRAMES_PER_SECOND)
    seconds, ff = divmod(rest, FRAMES_PER_SECOND)
    return f"{minutes:02d}:{seconds:02d}:{ff:02d}"


def msf_frames(text: str) -> int:
    """The inverse of ``msf``."""
    mm, ss, ff = (int(part) for part in text.split(":"))
    if not (0 <= ss < 60 and 0 <= ff < FRAMES_PER_SECOND):
        raise ValueError(f"{text!r} is not a CD time mm:ss:ff")
    return (mm * 60 + ss) * FRAMES_PER_SECOND + ff


def frames_of_seconds(seconds: float) -> int:
    """The nearest whole number of CD frames."""
    return round(seconds * FRAMES_PER_SECOND)


def clock(frames: int) -> str:
    """CD frames as ``m:ss`` for messages (79:57)."""
    minutes, rest = divmod(frames // FRAMES_PER_SECOND, 60)
    return f"{minutes}:{rest:02d}"
