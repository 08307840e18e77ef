"""One track's samples, streamed: decode, resample (soxr VHQ) to 44.1 kHz, trim, fade, pad.

The result is float32 stereo at 44.1 kHz, exactly ``TrackPlace.samples`` long, in blocks; the
caller quantises it to 16 bit with TPDF dither, once and last (``WavWriter`` of the renderer,
whose dither depends only on each sample's position and the seed). Memory is a few blocks,
whatever the track's length. soxr's output count may differ from the planned
round(n * 44100 / rate) by a frame at the end: the plan wins (a sample dropped or a zero added).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import soxr

from audio.engine.deliver.layout import TrackPlace
from audio.engine.deliver.redbook import CD_RATE
from audio.engine.io import BLOCK_FRAMES, DEFAULT_LIMITS, Limits, PathLike, read_blocks
from audio.engine.render.clips import fade_curve
from audio.engine.render.model import Fade
from audio.engine.types import AudioInfo

Float32 = npt.NDArray[np.float32]
FADE_SHAPE = "s_curve"  # (1 - cos(pi n/N)) / 2: no corner at either end of the fade


def _resampled(
    path: PathLike, info: AudioInfo, limits: Limits
) -> Iterator[npt.NDArray[np.float32]]:
    """(frames, channels) float32 blocks of the source at 44.1 kHz."""
    stream = None
    if info.sample_rate != CD_RATE:
        stream = soxr.ResampleStream(
            info.sample_rate, CD_RATE, info.channels, dtype="float32", quality="VHQ"
        )
    for block in read_blocks(path, BLOCK_FRAMES, limits, info=info):
        frames = np.ascontiguousarray(block.T)
        yield stream.resample_chunk(frames, last=False) if stream is not None else frames
    if stream is not None:
        yield stream.resample_chunk(np.zeros((0, info.channels), dtype=np.float32), last=True)


def _gains(place: TrackPlace, k: npt.NDArray[np.int64]) -> npt.NDArray[np.float64] | None:
    """Fade gains at track samples ``k`` (0 = the first kept sample), or None for unity."""
    gain: npt.NDArray[np.float64] | None = None
    if place.fade_in and int(k[0]) < place.fade_in:
        gain = fade_curve(Fade(place.fade_in, FADE_SHAPE), k)
    if place.fade_out and int(k[-1]) >= place.kept - place.fade_out:
        out = fade_curve(Fade(place.fade_out, FADE_SHAPE), place.kept - 1 - k)
        gain = out if gain is None else gain * out
    return gain


def track_blocks(
    path: PathLike, info: AudioInfo, place: TrackPlace, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, Float32]]:
    """``(first, block)``: (2, n) float32 blocks of the track, ``first`` its first sample."""
    start, stop = place.trim_start, place.trim_start + place.kept
    pos = 0  # samples of the resampled source seen
    done = 0  # samples of the track given
    for chunk in _resampled(path, info, limits):
        n = chunk.shape[0]
        lo, hi = max(start, pos), min(stop, pos + n)
        pos += n
        if hi <= lo:
            if pos >= stop:
                break
            continue
        part = chunk[lo - (pos - n) : hi - (pos - n)].T
        block = np.repeat(part, 2, axis=0) if part.shape[0] == 1 else np.array(part)
        k = np.arange(done, done + block.shape[1], dtype=np.int64)
        gain = _gains(place, k)
        if gain is not None:
            block = (block * gain).astype(np.float32)
        yield done, np.ascontiguousarray(block, dtype=np.float32)
        done += block.shape[1]
        if pos >= stop:
            break
    while done < place.samples:  # a frame soxr did not give, then the pad to a CD frame
        n = min(BLOCK_FRAMES, place.samples - done)
        yield done, np.zeros((2, n), dtype=np.float32)
        done += n
