"""Where each track sits on the disc: pregaps and track lengths in whole 588-sample CD frames.

The album is, in order, each track's pregap of digital silence and then the track. A track is
its source resampled to 44.1 kHz, less its trims, padded with silence up to the next CD frame
(never cut), so INDEX 00 (the pregap's start), INDEX 01 (the track's start) and every length are
whole frames, exact in a CUE sheet's mm:ss:ff and in a DDP's sectors. The layout is computed
from the sources' lengths alone, before any audio is decoded, so every limit is checked and the
CUE sheet can be written before the first sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from audio.engine.deliver.redbook import FRAME_SAMPLES
from audio.engine.deliver.release import Release


@dataclass(frozen=True)
class TrackPlace:
    """One track on the album, in samples (per channel) at 44.1 kHz."""

    number: int  # 1-based
    pregap: int  # samples of silence before INDEX 01 (a multiple of 588)
    index00: int  # album sample where the pregap starts
    index01: int  # album sample where the track starts
    samples: int  # the track's length (a multiple of 588)
    kept: int  # samples of audio after trims; the rest of ``samples`` is padding
    trim_start: int  # source samples (at 44.1 kHz) dropped at the head
    source_samples: int  # the source's length at 44.1 kHz
    fade_in: int
    fade_out: int

    @property
    def end(self) -> int:
        return self.index01 + self.samples


@dataclass(frozen=True)
class Layout:
    tracks: tuple[TrackPlace, ...]

    @property
    def samples(self) -> int:
        """The album's length in samples, pregaps included."""
        return self.tracks[-1].end if self.tracks else 0


def plan(release: Release, lengths: Mapping[int, int]) -> Layout:
    """The layout of a release whose ``check_lengths`` passed; ``lengths`` are each track's
    source length in samples at 44.1 kHz, by track index."""
    places: list[TrackPlace] = []
    at = 0
    for i, track in enumerate(release.tracks):
        pregap = track.pregap_frames * FRAME_SAMPLES
        trim_start = track.samples(track.trim_start_s)
        kept = lengths[i] - trim_start - track.samples(track.trim_end_s)
        samples = -(-kept // FRAME_SAMPLES) * FRAME_SAMPLES
        places.append(
            TrackPlace(
                number=i + 1,
                pregap=pregap,
                index00=at,
                index01=at + pregap,
                samples=samples,
                kept=kept,
                trim_start=trim_start,
                source_samples=lengths[i],
                fade_in=track.samples(track.fade_in_s),
                fade_out=track.samples(track.fade_out_s),
            )
        )
        at += pregap + samples
    return Layout(tuple(places))
