"""An accurate true-peak meter: within 0.05 dB of 32x oversampling, where BS.1770-4's 4x is not.

BS.1770-4's 4x meter uses a 48-tap filter and a grid of four points per sample: between grid
points, and through the short filter's pass-band error, it under-reads inter-sample peaks by up
to about 0.6 dB near 20 kHz (and on programme typically 0.1-0.3 dB), so a ceiling cannot trust
it. This meter works in two passes per block, numpy only (the analysis path loads no scipy):

1. Candidates: every sample interval is estimated at 4x with a short (16-tap) Kaiser-windowed
   sinc. The true maximum inside an interval is never more than ``CANDIDATE_MARGIN_DB`` above
   that estimate (the grid dip at 0.45 fs is 0.56 dB, the short filter's error under 0.2 dB).
2. Accurate: only intervals whose estimate, raised by that margin, could beat the running
   maximum are interpolated again at 32 points per sample with a 128-tap Kaiser-windowed sinc
   (flat to 0.48 fs, stop band under -80 dB), loudest first so the bar rises quickly.

The grid error of 32 points per sample is 0.009 dB at 20 kHz / 44.1 kHz, and the long filter's
ripple well under that, so the reading is within 0.05 dB of a 32x (or finer) reference. Memory
is one block plus 128 samples of history per channel: it streams.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

CANDIDATE_MARGIN_DB = 1.5
COARSE_HALF = 8  # taps each side of the candidate filter
COARSE_PHASES = 4
FINE_HALF = 64  # taps each side of the accurate filter
FINE_PHASES = 32
CANDIDATE_CHUNK = 4096  # intervals interpolated per matrix product


def interpolation_kernel(half: int, phases: int, beta: float) -> npt.NDArray[np.float32]:
    """Kaiser-windowed sinc taps, shape (2*half, phases-1): column k gives x(n + (k+1)/phases)
    from x[n-half+1 .. n+half]. Each column sums to 1, so DC passes exactly."""
    offsets = np.arange(-half + 1, half + 1, dtype=np.float64)
    t = np.arange(1, phases, dtype=np.float64) / phases
    d = offsets[:, None] - t[None, :]
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (d / (half + 0.5)) ** 2, 0.0, None)))
    h = np.sinc(d) * window / np.i0(beta)
    h /= h.sum(axis=0, keepdims=True)
    return h.astype(np.float32)


_COARSE = interpolation_kernel(COARSE_HALF, COARSE_PHASES, 6.0)
_FINE = interpolation_kernel(FINE_HALF, FINE_PHASES, 9.0)
_MARGIN = 10 ** (CANDIDATE_MARGIN_DB / 20)


def coarse_interval_peaks(seg: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.float32]:
    """|x| at n + 1/4, 2/4, 3/4 (the largest) for ``count`` intervals; ``seg`` holds
    x[n0-7 .. n0+count+7]. Also the limiter's detector: cheap, within the margin above."""
    inner = np.zeros(count, dtype=np.float32)
    for k in range(_COARSE.shape[1]):  # 16 shifted multiply-adds beat a strided matmul
        y = np.zeros(count, dtype=np.float32)
        for j in range(2 * COARSE_HALF):
            y += _COARSE[j, k] * seg[j : j + count]
        np.maximum(inner, np.abs(y), out=inner)
    return inner


class AccurateTruePeak:
    """Streaming accurate true peak: ``feed`` (channels, frames) blocks in order, then
    ``peaks()`` (linear, per channel) or ``dbtp()``.

    Sample values count as peaks too. Intervals are evaluated once the 64 samples after them
    have arrived; ``peaks()`` evaluates the rest against trailing silence.
    """

    def __init__(self, channels: int, history: npt.NDArray[np.floating] | None = None) -> None:
        """``history`` (channels, FINE_HALF): the samples before the first fed one, for a
        meter that takes over a stream in its middle (silence when None)."""
        self.channels = channels
        self.base = -FINE_HALF  # absolute frame of buf[:, 0]: starts with silence before 0
        self.buf = np.zeros((channels, FINE_HALF), dtype=np.float32)
        if history is not None:
            if history.shape != (channels, FINE_HALF):
                raise ValueError(f"history must be ({channels}, {FINE_HALF}), not {history.shape}")
            self.buf[:] = history
        self.done = 0  # intervals [n, n+1) with n < done are evaluated
        self.peak = np.zeros(channels)
        self.fine_intervals = 0  # how many intervals took the accurate pass (for tests)
        self.over_intervals = 0  # intervals whose 4x estimate is over full scale (afclip's count)
        self.finished = False

    def feed(self, block: npt.NDArray[np.floating]) -> None:
        if self.finished:
            raise RuntimeError("the meter has already reported")
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, frames), got {x.shape}")
        if x.shape[1] == 0:
            return
        self.buf = np.concatenate([self.buf, x], axis=1)
        self._evaluate(self.base + self.buf.shape[1] - FINE_HALF)

    def _evaluate(self, upto: int) -> None:
        """Evaluate intervals done..upto-1 (each needs buf from n-63 to n+64), drop history."""
        lo = self.done
        if upto <= lo:
            return
        start = lo - FINE_HALF + 1 - self.base  # buf index of the first needed sample
        seg = self.buf[:, start : upto + FINE_HALF - self.base]
        count = upto - lo
        for c in range(self.channels):
            self.peak[c] = max(self.peak[c], self._channel(seg[c], count, float(self.peak[c])))
        self.done = upto
        keep = FINE_HALF * 2
        drop = self.buf.shape[1] - keep
        if drop > 0:
            self.buf = self.buf[:, drop:].copy()
            self.base += drop

    def _channel(self, seg: npt.NDArray[np.float32], count: int, best: float) -> float:
        """seg holds x[lo-63 .. lo+count+63]; returns the max over intervals lo..lo+count-1."""
        off = FINE_HALF - COARSE_HALF
        inner = coarse_interval_peaks(seg[off : off + count + 2 * COARSE_HALF - 1], count)
        self.over_intervals += int(np.count_nonzero(inner > 1.0))
        samples = np.abs(seg[FINE_HALF - 1 : FINE_HALF - 1 + count + 1])
        ends = np.maximum(samples[:-1], samples[1:])
        best = max(best, float(ends.max()))
        estimate = np.maximum(inner, ends) * _MARGIN
        candidates = np.flatnonzero(estimate > best)
        if len(candidates) == 0:
            return best
        order = candidates[np.argsort(-estimate[candidates], kind="stable")]
        fine_windows = sliding_window_view(seg, 2 * FINE_HALF)
        for first in range(0, len(order), CANDIDATE_CHUNK):
            chunk = order[first : first + CANDIDATE_CHUNK]
            chunk = chunk[estimate[chunk] > best]
            if len(chunk) == 0:
                break
            self.fine_intervals += len(chunk)
            values = fine_windows[chunk] @ _FINE
            best = max(best, float(np.abs(values).max()))
        return best

    def evaluated_peaks(self) -> npt.NDArray[np.float64]:
        """Linear peaks of the intervals evaluated so far (each with its 64 later samples
        fed), without finishing: for a meter whose stream continues in another meter."""
        return self.peak.copy()

    def peaks(self) -> npt.NDArray[np.float64]:
        """Finish (trailing silence after the last sample) and return linear peaks."""
        if not self.finished:
            self.buf = np.concatenate(
                [self.buf, np.zeros((self.channels, FINE_HALF), dtype=np.float32)], axis=1
            )
            self._evaluate(self.base + self.buf.shape[1] - FINE_HALF)
            self.finished = True
        return self.peak.copy()

    def dbtp(self) -> float | None:
        """The highest channel's peak in dBTP; None for silence."""
        top = float(self.peaks().max()) if self.channels else 0.0
        return 20 * math.log10(top) if top > 0 else None


def accurate_true_peak(samples: npt.NDArray[np.floating], block: int = 65536) -> float | None:
    """One-shot accurate true peak (dBTP) of an in-memory (channels, frames) array."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    meter = AccurateTruePeak(x.shape[0])
    for start in range(0, x.shape[1], block):
        meter.feed(x[:, start : start + block])
    return meter.dbtp()
