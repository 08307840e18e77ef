"""The chain before the limiter: small streaming stages, each a pure function of its block
and its own carried state, each testable alone.

``Chain`` holds the settings (plain data, part of the report); ``Chain.start`` makes the
running processors. The chain's output lines up with its input frame for frame: the only
stage with latency (saturation's oversampling filters) drops its delay at the start and is
flushed with silence at the end. scipy is imported when a stage runs, not by ``analyze``.

- Match EQ: the reference match's curve as a minimum-phase FIR (``reference``).
- EQ: parametric bands (RBJ cookbook biquads: peak, low/high shelf, high/low pass),
  minimum phase, run as one second-order-section cascade with its state carried.
- Linear-phase EQ (``eq_phase="linear"``): the match curve and the bands' magnitude as one
  symmetric FIR (no phase change, so no smearing of transients across frequencies; the price
  is pre-ringing and a delay of half its length, which the stage drops at the start and
  flushes at the end, so the output stays aligned with the input frame for frame).
- Multiband compressor: three bands split by Linkwitz-Riley 24 dB/octave crossovers (each a
  squared 2nd-order Butterworth; the low band passes the upper crossover's allpass so the
  three are in phase), each band compressed by its own ``Compressor`` and the bands summed.
  Uncompressed, the sum is the input through the two crossovers' allpasses: flat magnitude,
  no latency.
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
from collections.abc import Callable
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


def eq_magnitude(bands: tuple[EqBand, ...], sample_rate: int, freqs: Floats) -> Floats:
    """The cascade's linear magnitude at ``freqs`` (Hz), evaluated from the sections."""
    z = np.exp(-1j * 2 * np.pi * np.asarray(freqs) / sample_rate)
    h = np.ones(len(z), dtype=complex)
    for s in eq_sos(bands, sample_rate):
        h *= (s[0] + s[1] * z + s[2] * z**2) / (s[3] + s[4] * z + s[5] * z**2)
    return np.asarray(np.abs(h))


def eq_response_db(bands: tuple[EqBand, ...], sample_rate: int, freqs: Floats) -> Floats:
    """The cascade's magnitude at ``freqs`` (Hz) in dB."""
    return np.asarray(20 * np.log10(eq_magnitude(bands, sample_rate, freqs)))


LINEAR_SECONDS = 0.093  # half the linear-phase FIR: 8203 taps at 44.1 kHz, 4101 frames late
LINEAR_GRID = 1 << 17


def linear_phase_taps(
    bands: tuple[EqBand, ...], curve: tuple[tuple[float, float], ...], sample_rate: int
) -> Floats:
    """An odd-length symmetric FIR with the bands' and the curve's combined magnitude: the
    zero-phase impulse response of the magnitude on a fine grid, centred and windowed."""
    taps = 2 * round(LINEAR_SECONDS * sample_rate) + 1
    freqs = np.asarray(np.fft.rfftfreq(LINEAR_GRID, 1.0 / sample_rate), dtype=np.float64)
    mag = np.ones(len(freqs))
    if bands:
        mag *= eq_magnitude(bands, sample_rate, freqs)
    if curve:
        mag *= 10 ** (curve_db_at(curve, freqs) / 20)
    zero_phase = np.fft.irfft(mag, LINEAR_GRID)
    half = taps // 2
    h = np.concatenate([zero_phase[-half:], zero_phase[: half + 1]])
    return np.asarray(h * np.blackman(taps + 2)[1:-1])


class DelayCompensated:
    """A stage with a whole-frame delay: drops it at the start, flushes it with silence at the
    end, so its output lines up with its input frame for frame."""

    def __init__(self, inner: FirFilter, latency: int, channels: int) -> None:
        self.inner = inner
        self.latency = latency
        self.channels = channels
        self.pending_drop = latency

    def process(self, block: Block) -> Block:
        out = self.inner.process(block)
        if self.pending_drop:
            drop = min(self.pending_drop, out.shape[1])
            out = out[:, drop:]
            self.pending_drop -= drop
        return out

    def finish(self) -> Block:
        return self.process(np.zeros((self.channels, self.latency), dtype=np.float32))


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

    def reduction_db(self, block: Block | Floats) -> Floats:
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


BANDS = ("low", "mid", "high")


@dataclass(frozen=True)
class Multiband:
    """Three bands split at ``low_hz`` and ``high_hz``, each with its own compressor."""

    low_hz: float = 120.0
    high_hz: float = 2500.0
    low: Compressor = Compressor(
        threshold_db=-18.0, ratio=2.0, attack_ms=30.0, release_db_per_s=20.0
    )
    mid: Compressor = Compressor(
        threshold_db=-18.0, ratio=2.0, attack_ms=10.0, release_db_per_s=40.0
    )
    high: Compressor = Compressor(
        threshold_db=-18.0, ratio=2.0, attack_ms=3.0, release_db_per_s=60.0
    )

    def describe(self) -> dict[str, Any]:
        return {
            "type": "multiband",
            "crossovers_hz": [self.low_hz, self.high_hz],
            "crossover": "Linkwitz-Riley 24 dB/octave",
            "bands": {name: vars(getattr(self, name)).copy() for name in BANDS},
        }


def lr4_sos(freq_hz: float, sample_rate: int) -> tuple[Floats, Floats, Floats]:
    """Linkwitz-Riley 4th-order low-pass and high-pass (each a 2nd-order Butterworth twice) as
    second-order sections, and their sum's allpass (one section)."""
    from scipy.signal import butter  # heavy: not on the analysis path

    lp = butter(2, freq_hz, "lowpass", fs=sample_rate, output="sos")
    hp = butter(2, freq_hz, "highpass", fs=sample_rate, output="sos")
    a = lp[0, 3:]
    # LP^2 + HP^2 = (s^2 - sqrt2 w s + w^2) / (s^2 + sqrt2 w s + w^2) in the analogue domain;
    # the bilinear transform keeps it: the denominator's coefficients reversed over it.
    allpass = np.array([[a[2], a[1], a[0], a[0], a[1], a[2]]]) / a[0]
    return np.vstack([lp, lp]), np.vstack([hp, hp]), allpass


class _Sos:
    """A streaming second-order-section cascade (state carried across blocks)."""

    def __init__(self, sos: Floats, channels: int) -> None:
        self.sos = sos
        self.zi = np.zeros((len(sos), channels, 2))

    def __call__(self, x: Floats) -> Floats:
        from scipy.signal import sosfilt  # heavy: not on the analysis path

        y, self.zi = sosfilt(self.sos, x, axis=1, zi=self.zi)
        return np.asarray(y)


class MultibandSplit:
    """Streaming three-way Linkwitz-Riley split; the bands sum to the input's allpass."""

    def __init__(self, low_hz: float, high_hz: float, sample_rate: int, channels: int) -> None:
        lp1, hp1, _ = lr4_sos(low_hz, sample_rate)
        lp2, hp2, ap2 = lr4_sos(high_hz, sample_rate)
        self.low_lp = _Sos(lp1, channels)
        self.low_ap = _Sos(ap2, channels)
        self.rest_hp = _Sos(hp1, channels)
        self.mid_lp = _Sos(lp2, channels)
        self.high_hp = _Sos(hp2, channels)

    def split(self, x: Floats) -> tuple[Floats, Floats, Floats]:
        rest = self.rest_hp(x)
        return self.low_ap(self.low_lp(x)), self.mid_lp(rest), self.high_hp(rest)


class MultibandState:
    """Split, compress each band (linked across channels within the band), sum."""

    def __init__(self, m: Multiband, sample_rate: int, channels: int) -> None:
        self.split = MultibandSplit(m.low_hz, m.high_hz, sample_rate, channels)
        self.comps = [CompressorState(getattr(m, name), sample_rate) for name in BANDS]

    def process(self, block: Block) -> Block:
        bands = self.split.split(block.astype(np.float64))
        out = np.zeros(block.shape, dtype=np.float64)
        for band, comp in zip(bands, self.comps, strict=True):
            gain = 10 ** ((comp.c.makeup_db - comp.reduction_db(band)) / 20)
            out += band * gain
        return out.astype(np.float32)


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


PHASES = ("minimum", "linear")


@dataclass(frozen=True)
class Chain:
    """The stages' settings, in signal order; each empty or neutral stage is off."""

    match_curve: tuple[tuple[float, float], ...] = ()  # (hz, dB) toward a reference
    eq: tuple[EqBand, ...] = ()
    multiband: Multiband | None = None
    compressor: Compressor | None = None
    saturation_db: float | None = None  # drive into the soft clipper
    width: float = 1.0  # side gain, 0..2
    eq_phase: str = "minimum"  # of the match EQ and the EQ: "minimum" or "linear"

    def describe(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = []
        phase: dict[str, Any] = {"phase": self.eq_phase}
        if self.eq_phase == "linear":
            phase["latency_compensated"] = True
        if self.match_curve:
            stages.append({"type": "match_eq", **phase, "curve": self.match_curve})
        if self.eq:
            stages.append({"type": "eq", **phase, "bands": [vars(b).copy() for b in self.eq]})
        if self.multiband is not None:
            stages.append(self.multiband.describe())
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


class _Stage:
    """A running stage: ``process`` blocks in order, ``finish`` gives its delayed tail."""

    def __init__(
        self, process: Callable[[Block], Block], finish: Callable[[], Block] | None = None
    ) -> None:
        self.process = process
        self.finish = finish


class _SosStage:
    def __init__(self, sos: Floats, channels: int) -> None:
        self.run = _Sos(sos, channels)

    def __call__(self, x: Block) -> Block:
        return np.asarray(self.run(x.astype(np.float64)), dtype=np.float32)


class RunningChain:
    """The chain's processors for one programme, fed blocks in order. Stages with latency
    drop it themselves; ``finish`` flushes each one's tail through the stages after it."""

    def __init__(self, chain: Chain, sample_rate: int, channels: int) -> None:
        self.chain = chain
        self.channels = channels
        self.stages: list[_Stage] = []
        curve = chain.match_curve
        if chain.eq_phase == "linear" and (curve or chain.eq):
            taps = linear_phase_taps(chain.eq, curve, sample_rate)
            lin = DelayCompensated(FirFilter(taps, channels), len(taps) // 2, channels)
            self.stages.append(_Stage(lin.process, lin.finish))
        else:
            if curve:
                fir = FirFilter(minimum_phase_fir(curve, sample_rate), channels)
                self.stages.append(_Stage(fir.process))
            if chain.eq:
                self.stages.append(_Stage(_SosStage(eq_sos(chain.eq, sample_rate), channels)))
        if chain.multiband is not None:
            mb = MultibandState(chain.multiband, sample_rate, channels)
            self.stages.append(_Stage(mb.process))
        if chain.compressor is not None:
            self.stages.append(_Stage(CompressorState(chain.compressor, sample_rate).process))
        if chain.saturation_db is not None:
            sat = Saturator(chain.saturation_db, channels)
            self.stages.append(_Stage(sat.process, sat.finish))
        if chain.width != 1.0:
            self.stages.append(_Stage(lambda x: mid_side_width(x, chain.width)))

    def process(self, block: Block) -> Block:
        for stage in self.stages:
            if not block.shape[1]:  # all of it still inside a latent stage's delay
                break
            block = stage.process(block)
        return block

    def finish(self) -> Block:
        """The delayed tails (silence fed through each latent stage, then the rest)."""
        carry = np.zeros((self.channels, 0), dtype=np.float32)
        for stage in self.stages:
            if carry.shape[1]:
                carry = stage.process(carry)
            if stage.finish is not None:
                carry = np.concatenate([carry, stage.finish()], axis=1)
        return carry
