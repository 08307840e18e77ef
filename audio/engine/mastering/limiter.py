"""Our own true-peak limiter: lookahead, 4x-oversampled detection, smooth attack and release.

pedalboard's ``Limiter`` has no ceiling, and its ``BrickwallLimiter`` overshoots a true-peak
ceiling by about 0.15 dB and gets quieter at high drive, so the engine limits itself.

The gain is computed on units of ``UNIT`` frames (16 at 44.1/48 kHz), in dB of attenuation:

1. Detection: each unit's peak is the largest |sample| or 4x-interpolated value between
   samples (``coarse_interval_peaks``), over all channels (the channels are linked, so the
   stereo image does not move).
2. Needed attenuation ``A = max(0, drive + peak_db - threshold)``.
3. Hold with lookahead: each unit takes the max of ``A`` from ``HOLD`` units before to
   ``LOOKAHEAD`` units after it, so the gain is already down when a peak arrives and stays
   down across the interpolation filter's reach around it.
4. Release: the attenuation falls at most ``release_db_per_s`` (a running maximum of
   ``A + rate * index``, exact and vectorised, with its state carried between blocks).
5. Attack: the linear gain is smoothed by two moving averages (a triangle ``ATTACK`` units
   long), which cannot rise above the held gain because the hold covers their reach.
6. Between unit centres the gain is interpolated linearly to every sample.

Every step is monotonic in the drive, so output loudness rises monotonically with drive (the
gain only ever turns down what the drive turned up). Nothing here holds more than the units of
one block and a few units of history: the limiter streams. The static trim measured on the
final quantised samples (``master``) catches what the 4x detector misses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audio.engine.mastering.truepeak import COARSE_HALF, coarse_interval_peaks

Floats = npt.NDArray[np.float64]

ATTACK_UNITS = 3  # each of the two moving averages; together 5 units (~1.8 ms at 44.1 kHz)
HOLD_UNITS = 2  # units held after a peak (and before, beyond the attack): the filter's reach
LOOKAHEAD_UNITS = 2 * ATTACK_UNITS - 2 + HOLD_UNITS  # the smoothing's reach plus the hold


def unit_frames(sample_rate: int) -> int:
    """16 frames below 64 kHz, 32 to 128 kHz, 64 above: about 0.35 ms per unit."""
    if sample_rate < 64000:
        return 16
    return 32 if sample_rate < 128000 else 64


def unit_peaks(ext: npt.NDArray[np.float32], unit: int) -> npt.NDArray[np.float32]:
    """Peak per unit over all channels of ext = x[first-7 .. first+count+7] (count a multiple
    of ``unit``): sample values and 4x values between samples."""
    count = ext.shape[1] - 2 * COARSE_HALF + 1
    top = np.zeros(count, dtype=np.float32)
    for c in range(ext.shape[0]):
        np.maximum(top, coarse_interval_peaks(ext[c], count), out=top)
        np.maximum(top, np.abs(ext[c, COARSE_HALF - 1 : COARSE_HALF - 1 + count]), out=top)
    return np.asarray(top.reshape(-1, unit).max(axis=1), dtype=np.float32)


def peak_db(peaks: npt.NDArray[np.float32]) -> Floats:
    with np.errstate(divide="ignore"):
        return np.asarray(20.0 * np.log10(np.maximum(peaks.astype(np.float64), 1e-12)))


def _sliding_max(x: Floats, before: int, after: int) -> Floats:
    """max(x[i-before .. i+after]) with -inf outside; same length as x."""
    n = len(x)
    padded = np.concatenate([np.full(before, -np.inf), x, np.full(after, -np.inf)])
    out = padded[:n].copy()
    for k in range(1, before + after + 1):
        np.maximum(out, padded[k : k + n], out=out)
    return out


def _moving_mean(x: Floats, width: int) -> Floats:
    """Mean of x[i-width+1 .. i]; the first width-1 values need history (given in x)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    return np.asarray((c[width:] - c[:-width]) / width)


HEAD = 2 * (ATTACK_UNITS - 1) + HOLD_UNITS  # history units a block needs before its first


class UnitGains:
    """Streaming gain per unit: feed unit peaks (dB) in order; get gains for earlier units.

    Each unit's gain needs ``LOOKAHEAD_UNITS`` later units; ``finish`` supplies silence.
    """

    def __init__(self, drive_db: float, threshold_db: float, release_units_db: float) -> None:
        self.drive = drive_db
        self.threshold = threshold_db
        self.release = release_units_db
        self.pending = np.full(HEAD, -np.inf)  # units not yet given a gain, with history
        self.state = 0.0  # released attenuation of the unit before pending's release part
        self.emitted = 0

    def feed(self, peaks_db: Floats) -> Floats:
        data = np.concatenate([self.pending, peaks_db])
        ready = len(data) - HEAD - LOOKAHEAD_UNITS
        if ready <= 0:
            self.pending = data
            return np.zeros(0)
        return self._run(data, ready)

    def _run(self, data: Floats, ready: int) -> Floats:
        # Released attenuation is computed from the history start; the state is that of the
        # unit just before it, carried from the last call.
        need = np.maximum(0.0, data + self.drive - self.threshold)
        held = _sliding_max(need, HOLD_UNITS, LOOKAHEAD_UNITS)[HOLD_UNITS : HEAD + ready]
        # held[j] is the hold of data[HOLD_UNITS + j]; units before HOLD_UNITS are older
        steps = np.arange(1, len(held) + 1, dtype=np.float64) * self.release
        released = np.maximum.accumulate(np.maximum(held + steps, self.state)) - steps
        gains = 10.0 ** (-released / 20.0)
        twice = _moving_mean(_moving_mean(gains, ATTACK_UNITS), ATTACK_UNITS)
        # twice[i] is the gain of data[HOLD_UNITS + 2*(ATTACK-1) + i] = data[HEAD + i]
        # Next call starts its release part at data[ready + HOLD_UNITS]: carry the state of
        # the unit before it.
        self.state = float(released[ready - 1])
        self.pending = data[ready:]
        self.emitted += ready
        return twice

    def finish(self) -> Floats:
        """Gains of the remaining units, with silence after the last."""
        left = len(self.pending) - HEAD
        if left <= 0:
            return np.zeros(0)
        data = np.concatenate([self.pending, np.full(LOOKAHEAD_UNITS, -np.inf)])
        return self._run(data, left)


def unit_gains(
    peaks_db: Floats, drive_db: float, threshold_db: float, release_units_db: float
) -> Floats:
    """One-shot: gains for every unit (for the loudness search, and tests)."""
    curve = UnitGains(drive_db, threshold_db, release_units_db)
    return np.concatenate([curve.feed(peaks_db), curve.finish()])


def sample_gains(
    gains: Floats, first_unit: int, unit: int, frames: int, before: float, after: float
) -> Floats:
    """Per-sample gain for ``frames`` frames starting at unit ``first_unit``'s first frame,
    interpolated linearly between unit centres; ``before``/``after`` are the neighbouring
    units' gains (1.0 outside the programme)."""
    count = frames // unit + (1 if frames % unit else 0)
    values = np.concatenate([[before], gains[:count], [after]])
    centres = (np.arange(-1, count + 1) + 0.5) * unit - 0.5
    return np.asarray(np.interp(np.arange(frames, dtype=np.float64), centres, values))
