"""The chain before the limiter: small streaming stages, each a pure function of its block
and its own carried state, each testable alone.

``Chain`` holds the settings (plain data, part of the report); ``Chain.start`` makes the
running processors. The chain's output lines up with its input frame for frame: the only
stage with latency (saturation's oversampling filters) drops its delay at the start and is
flushed with silence at the end. scipy is imported when a stage runs, not by ``analyze``.

- Match EQ: the reference match's curve as a minimum-phase FIR (``reference``).
- EQ: parametric bands (RBJ cookbook biquads: peak, low/high shelf, high/low pass),
  minimum phase, run as one second-order-section cascade with its state carried.
- Compressor (single band, feed-forward): the level is the channels' linked peak in dB; the
  static curve has a soft knee; the gain reduction is held and released at a constant dB
  rate (the running-maximum form, vectorised) and its onset smoothed by a one-pole attack.
- Saturation: tanh soft clip at 4x oversampling (polyphase FIR up and down), so the
  harmonics it makes above Nyquist are filtered instead of folding back; ``drive_db`` into
  the clipper, the inverse after it, so small signals pass at unity.
- Width: mid/side, the side scaled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from audio.engine.mastering.reference import FirFilter, curve_db_at, minimum_phase_fir

Block = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]

EQ_TYPES = ("peak", "lowshelf", "highshelf", "highpass", "lowpass")
OVERSAMPLE = 4
SAT_TAPS_PER_PHASE = 32  # the oversampling filters: 128 taps at 4x


@dataclass(frozen=True)
class EqBand:
    type: str
    freq_hz: float
    gain_db: float = 0.0
    q: float = 0.707


def biquad(band: EqBand, sample_rate: int) -> Floats:
    """One RBJ cookbook section as [b0, b1, b2, 1, a1, a2]."""
    a = 10 ** (band.gain_db / 40)
    w0 = 2 * math.pi * band.freq_hz / sample_rate
    cos, sin = math.cos(w0), math.sin(w0)
    alpha = sin / (2 * band.q)
    if band.type == "peak":
        b = [1 + alpha * a, -2 * cos, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cos, 1 - alpha / a]
    elif band.type in ("lowshelf", "highshelf"):
        sq = 2 * math.sqrt(a) * alpha
        sign = 1 if band.type == "lowshelf" else -1
        b = [
            a * ((a + 1) - sign * (a - 1) * cos + sq),
            sign * 2 * a * ((a - 1) - sign * (a + 1) * cos),
            a * ((a + 1) - sign * (a - 1) * cos - sq),
        ]
        den = [
            (a + 1) + sign * (a - 1) * cos + sq,
            -sign * 2 * ((a - 1) + sign * (a + 1) * cos),
            (a + 1) + sign * (a - 1) * cos - sq,
        ]
    elif band.type == "highpass":
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        den = [1 + alpha, -2 * cos, 1 - alpha]
    elif band.type == "lowpass":
        b = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
        den = [1 + alpha, -2 * cos, 1 - alpha]
    else:
        raise ValueError(f"unknown EQ band type {band.type!r}")
    return np.array([*(v / den[0] for v in b), 1.0, den[1] / den[0], den[2] / den[0]])


def eq_sos(bands: tuple[EqBand, ...], sample_rate: int) -> Floats:
    return np.array([biquad(b, sample_rate) for b in bands]).reshape(-1, 6)


def eq_response_db(bands: tuple[EqBand, ...], sample_rate: int, freqs: Floats) -> Floats:
    """The cascade's magnitude at ``freqs`` (Hz), evaluated from the sections directly."""
    z = np.exp(-1j * 2 * np.pi * np.asarray(freqs) / sample_rate)
    h = np.ones(len(z), dtype=complex)
    for s in eq_sos(bands, sample_rate):
        h *= (s[0] + s[1] * z + s[2] * z**2) / (s[3] + s[4] * z + s[5] * z**2)
    return np.asarray(20 * np.log10(np.abs(h)))


@dataclass(frozen=True)
class Compressor:
    threshold_db: float = -18.0
    ratio: float = 2.0
    attack_ms: float = 10.0
    release_db_per_s: float = 40.0
    knee_db: float = 6.0
    makeup_db: float = 0.0


def compressor_curve(level_db: Floats, c: Compressor) -> Floats:
    """Static gain reduction (dB, >= 0) for an input level, with a quadratic soft knee."""
    over = level_db - c.threshold_db
    slope = 1 - 1 / c.ratio
    half = c.knee_db / 2
    gr = np.where(over > half, over * slope, 0.0)
    if c.knee_db > 0:
        knee = (over > -half) & (over <= half)
        gr = np.where(knee, slope * (over + half) ** 2 / (2 * c.knee_db), gr)
    return np.asarray(gr)


class CompressorState:
    """Streaming compressor: linked peak level, held-and-released reduction, one-pole attack."""

    def __init__(self, c: Compressor, sample_rate: int) -> None:
        self.c = c
        self.release = c.release_db_per_s / sample_rate  # dB per sample
        self.alpha = 1 - math.exp(-1.0 / max(c.attack_ms * 1e-3 * sample_rate, 1e-9))
        self.held = 0.0  # released reduction at the last sample
        self.smooth = 0.0  # attack-smoothed reduction at the last sample

    def reduction_db(self, block: Block) -> Floats:
        from scipy.signal import lfilter  # heavy: not on the analysis path

        level = 20 * np.log10(np.maximum(np.abs(block.astype(np.float64)).max(axis=0), 1e-12))
        target = compressor_curve(level, self.c)
        steps = np.arange(1, len(target) + 1) * self.release
        held = np.maximum.accumulate(np.maximum(target + steps, self.held)) - steps
        self.held = float(held[-1]) if len(held) else self.held
        smooth, _state = lfilter(
            [self.alpha], [1, -(1 - self.alpha)], held, zi=[(1 - self.alpha) * self.smooth]
        )
        if len(smooth):
            self.smooth = float(smooth[-1])
        return np.asarray(smooth)

    def process(self, block: Block) -> Block:
        gr = self.reduction_db(block)
        gain = 10 ** ((self.c.makeup_db - gr) / 20)
        return (block.astype(np.float64) * gain).astype(np.float32)


def _halfband_taps() -> Floats:
    """The oversampling low-pass: cut-off at the original Nyquist, Kaiser-windowed sinc."""
    n = OVERSAMPLE * SAT_TAPS_PER_PHASE + 1  # odd: each filter delays a whole 64 samples
    t = (np.arange(n) - (n - 1) / 2) / OVERSAMPLE
    h = np.sinc(t * 0.95) * 0.95 * np.kaiser(n, 8.0)
    return np.asarray(h / h.sum() * OVERSAMPLE)


class Saturator:
    """tanh soft clip at 4x; overlap-add keeps the polyphase filters' state across blocks.

    Latency: the two filters' delays, a whole number of input frames, dropped at the start."""

    def __init__(self, drive_db: float, channels: int) -> None:
        self.drive = 10 ** (drive_db / 20)
        self.h = _halfband_taps()
        self.channels = channels
        n = len(self.h)
        self.up_tail = np.zeros((channels, n - 1))  # upsampled overlap
        self.down_tail = np.zeros((channels, 0))
        # Each filter delays by (n - 1) / 2 upsampled samples: the pair by n - 1 = 128 of
        # them, 32 input frames.
        self.latency = (n - 1) // OVERSAMPLE
        self.pending_drop = self.latency

    def _run(self, x: Floats) -> Floats:
        from scipy.signal import upfirdn  # heavy: not on the analysis path

        m = x.shape[1]
        up = upfirdn(self.h, x, up=OVERSAMPLE, axis=1)  # length 4m + n - 1
        up[:, : self.up_tail.shape[1]] += self.up_tail
        ready, self.up_tail = up[:, : OVERSAMPLE * m], up[:, OVERSAMPLE * m :].copy()
        clipped = np.tanh(ready * self.drive) / self.drive
        down = upfirdn(self.h / OVERSAMPLE, clipped, down=OVERSAMPLE, axis=1)  # m + 32
        down[:, : self.down_tail.shape[1]] += self.down_tail
        out, self.down_tail = down[:, :m], down[:, m:].copy()
        return np.asarray(out)

    def process(self, block: Block) -> Block:
        out = self._run(block.astype(np.float64))
        if self.pending_drop:
            drop = min(self.pending_drop, out.shape[1])
            out = out[:, drop:]
            self.pending_drop -= drop
        return out.astype(np.float32)

    def finish(self) -> Block:
        return self.process(np.zeros((self.channels, self.latency), dtype=np.float32))


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
    """The stages' settings, in signal order; each empty or neutral stage is off."""

    match_curve: tuple[tuple[float, float], ...] = ()  # (hz, dB) toward a reference
    eq: tuple[EqBand, ...] = ()
    compressor: Compressor | None = None
    saturation_db: float | None = None  # drive into the soft clipper
    width: float = 1.0  # side gain, 0..2

    def describe(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = []
        if self.match_curve:
            stages.append({"type": "match_eq", "phase": "minimum", "curve": self.match_curve})
        if self.eq:
            stages.append(
                {"type": "eq", "phase": "minimum", "bands": [vars(b).copy() for b in self.eq]}
            )
        if self.compressor is not None:
            stages.append({"type": "compressor", **vars(self.compressor)})
        if self.saturation_db is not None:
            stages.append({"type": "saturation", "drive_db": self.saturation_db, "oversampling": 4})
        if self.width != 1.0:
            stages.append({"type": "width", "side_gain": self.width})
        stages.append({"type": "limiter", "detection": "4x oversampled, linked channels"})
        return stages

    def eq_curve(self, sample_rate: int) -> list[list[float]]:
        """[[hz, db], ...] of the EQ at 1/3-octave centres (flat when there is no EQ)."""
        centres = np.array([1000.0 * 2 ** (k / 3) for k in range(-16, 14)])
        centres = centres[centres < sample_rate / 2]
        db = np.zeros(len(centres))
        if self.eq:
            db += eq_response_db(self.eq, sample_rate, centres)
        if self.match_curve:
            db += curve_db_at(self.match_curve, centres)
        return [[round(float(f), 1), round(float(d), 3)] for f, d in zip(centres, db, strict=True)]

    def start(self, sample_rate: int, channels: int) -> RunningChain:
        return RunningChain(self, sample_rate, channels)


class RunningChain:
    """The chain's processors for one programme, fed blocks in order."""

    def __init__(self, chain: Chain, sample_rate: int, channels: int) -> None:
        self.chain = chain
        self.channels = channels
        curve = chain.match_curve
        self.fir = FirFilter(minimum_phase_fir(curve, sample_rate), channels) if curve else None
        self.sos = eq_sos(chain.eq, sample_rate) if chain.eq else None
        self.zi = np.zeros((len(chain.eq), channels, 2))
        comp = chain.compressor
        self.comp = CompressorState(comp, sample_rate) if comp is not None else None
        sat = chain.saturation_db
        self.sat = Saturator(sat, channels) if sat is not None else None

    def _before_saturation(self, x: Block) -> Block:
        if self.fir is not None:
            x = self.fir.process(x)
        if self.sos is not None:
            from scipy.signal import sosfilt  # heavy: not on the analysis path

            y, self.zi = sosfilt(self.sos, x.astype(np.float64), axis=1, zi=self.zi)
            x = np.asarray(y, dtype=np.float32)
        if self.comp is not None:
            x = self.comp.process(x)
        return x

    def _after_saturation(self, x: Block) -> Block:
        return mid_side_width(x, self.chain.width)

    def process(self, block: Block) -> Block:
        x = self._before_saturation(block)
        if self.sat is not None:
            x = self.sat.process(x)
        return self._after_saturation(x)

    def finish(self) -> Block:
        """The saturator's delayed tail (silence fed through it); empty without one."""
        if self.sat is None:
            return np.zeros((self.channels, 0), dtype=np.float32)
        return self._after_saturation(self.sat.finish())
